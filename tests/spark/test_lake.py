"""Delta round trip and the idempotent writes of lake.py."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from recaug_spark.errors import InputError
from recaug_spark.lake import InsertCounts, Lake
from recaug_spark.pipeline import execute
from recaug_spark.schema import EVENTS
from tests.conftest import test_config

SCHEMA = T.StructType(
    [
        T.StructField("id", T.StringType(), False),
        T.StructField("day", T.DateType(), False),
        T.StructField("value", T.DoubleType(), True),
        T.StructField("attrs", T.MapType(T.StringType(), T.StringType()), True),
    ]
)


def rows(spark: SparkSession, data: list[tuple]) -> object:
    return spark.createDataFrame(data, SCHEMA)


def test_delta_round_trip_keeps_schema_and_values(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    ts = datetime(2017, 11, 25, 3, 4, 5, tzinfo=UTC)
    event = (
        "e1",
        "u1",
        "i1",
        "view",
        ts,
        date(2017, 11, 25),
        None,
        9.5,
        "s1",
        "src",
        "b1",
        ts,
        {"k": "v"},
        ["f"],
    )
    df = spark.createDataFrame([event], EVENTS)
    lake.insert_new("bronze/events", df, keys=("event_id",), schema=EVENTS, partition_by=("event_date",))
    back = lake.read("bronze/events")
    assert_df_equality(back, df, ignore_nullable=True)
    assert back.collect()[0].ts == datetime(2017, 11, 25, 3, 4, 5)  # UTC session time zone
    assert lake.version("bronze/events") == 1  # create + append
    assert lake.version("missing/table") is None


def test_insert_new_is_idempotent_and_adds_only_new_keys(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    first = rows(spark, [("a", date(2024, 1, 1), 1.0, None), ("b", date(2024, 1, 2), 2.0, None)])
    assert lake.insert_new("t", first, keys=("id",), schema=SCHEMA, partition_by=("day",)) == InsertCounts(2, 2)
    assert lake.insert_new("t", first, keys=("id",), schema=SCHEMA, partition_by=("day",)) == InsertCounts(2, 0)
    second = rows(spark, [("b", date(2024, 1, 2), 99.0, None), ("c", date(2024, 1, 3), 3.0, None)])
    assert lake.insert_new("t", second, keys=("id",), schema=SCHEMA, partition_by=("day",)) == InsertCounts(2, 1)
    got = {r.id: r.value for r in lake.read("t").collect()}
    assert got == {"a": 1.0, "b": 2.0, "c": 3.0}  # an existing key is never overwritten


def test_insert_new_keeps_one_row_per_key_and_one_file_per_partition(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    data = [(f"k{i % 50}", date(2024, 1, 1 + i % 5), 1.0, None) for i in range(400)]
    counts = lake.insert_new("t", rows(spark, data).repartition(7), keys=("id",), schema=SCHEMA, partition_by=("day",))
    assert counts == InsertCounts(distinct=50, inserted=50)
    assert lake.read("t").select("id").distinct().count() == lake.read("t").count() == 50
    files = spark.sql(f"DESCRIBE DETAIL delta.`{lake.path('t')}`").first().numFiles
    assert files == 5


def test_upsert_updates_only_changed_rows(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    base = rows(spark, [("a", date(2024, 1, 1), 1.0, {"x": "1"}), ("b", date(2024, 1, 1), None, None)])
    counts = lake.upsert("t", base, keys=("id",), schema=SCHEMA, compare=("value", "attrs"))
    assert (counts.inserted, counts.updated) == (2, 0)
    counts = lake.upsert("t", base, keys=("id",), schema=SCHEMA, compare=("value", "attrs"))
    assert (counts.inserted, counts.updated) == (0, 0)  # nulls compare equal, maps by content
    changed = rows(spark, [("a", date(2024, 1, 1), 1.0, {"x": "2"}), ("b", date(2024, 1, 1), None, None)])
    counts = lake.upsert("t", changed, keys=("id",), schema=SCHEMA, compare=("value", "attrs"))
    assert (counts.inserted, counts.updated) == (0, 1)
    assert {r.id: r.attrs for r in lake.read("t").collect()} == {"a": {"x": "2"}, "b": None}


class _RacedBuilder:
    """DeltaTable.createIfNotExists(...) whose execute() loses the race the way Delta reports it when the
    other writer's files are already there: after ``other_writer`` (if any) ran, a non-empty location."""

    def __init__(self, other_writer: object) -> None:
        self.other_writer = other_writer

    def __getattr__(self, name: str) -> object:
        return lambda *args, **kwargs: self  # location(), addColumns(), partitionedBy()

    def execute(self) -> None:
        if self.other_writer is not None:
            self.other_writer()
        raise RuntimeError("[DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION] Cannot create table")


def test_ensure_takes_the_table_another_writer_created_and_reports_one_that_never_appears(
    spark: SparkSession, lake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from delta.tables import DeltaTable

    lake = Lake(spark, str(lake_root))
    location = lake.path("t")
    monkeypatch.setattr("recaug_spark.lake.CREATE_RACE_POLLS", 2)
    monkeypatch.setattr(DeltaTable, "createIfNotExists", lambda spark: _RacedBuilder(None))
    with pytest.raises(RuntimeError, match="NON_EMPTY_LOCATION"):  # nothing appears: the error stands
        lake.ensure("t", SCHEMA)

    def other_writer() -> None:  # its commit lands a moment later
        threading.Timer(0.3, lambda: rows(spark, []).write.format("delta").mode("append").save(location)).start()

    monkeypatch.setattr(DeltaTable, "createIfNotExists", lambda spark: _RacedBuilder(other_writer))
    monkeypatch.setattr("recaug_spark.lake.CREATE_RACE_POLLS", 40)
    lake.ensure("t", SCHEMA)
    assert lake.exists("t") and lake.read("t").schema.fieldNames() == SCHEMA.fieldNames()


def test_a_pinned_lake_reads_its_inputs_at_the_pinned_version(spark: SparkSession, lake_root: Path) -> None:
    """A stage's snapshot (issue 20): reads of a pinned table stay at its version while others commit."""
    lake = Lake(spark, str(lake_root))
    first = rows(spark, [("a", date(2024, 1, 1), 1.0, None)])
    lake.insert_new("bronze/events", first, keys=("id",), schema=SCHEMA, partition_by=("day",))
    pinned = lake.pinned(lake.versions(["bronze/events"]))
    later = rows(spark, [("b", date(2024, 1, 2), 2.0, None)])
    lake.insert_new("bronze/events", later, keys=("id",), schema=SCHEMA, partition_by=("day",))
    assert sorted(r.id for r in pinned.read("bronze/events").collect()) == ["a"]
    assert sorted(r.id for r in lake.read("bronze/events").collect()) == ["a", "b"]


def test_a_stage_without_its_input_names_the_table_and_the_stage_to_run(spark: SparkSession, lake_root: Path) -> None:
    """The pipeline, not the stage, checks the inputs, with one message form for every stage."""
    cfg = test_config(lake=lake_root)
    for stage, table, writer in (("preprocess", "bronze/events", "ingest"), ("augment", "silver/events", "preprocess")):
        with pytest.raises(InputError, match=rf"{table} does not exist; run `recaug {writer}` first"):
            execute(stage, cfg, spark)
    lake = Lake(spark, str(lake_root))
    registry = [(r.stage, r.status) for r in lake.read("gold/pipeline_runs").orderBy("stage").collect()]
    assert registry == [("augment", "failed"), ("preprocess", "failed")]  # no running row: refused first
    assert not lake.exists("silver/events") and not lake.exists("gold/augmented_events")
