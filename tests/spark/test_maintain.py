"""Stage maintain: OPTIMIZE compacts small files without changing rows; VACUUM honours the retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.schema import BRONZE_EVENTS, EVENTS, PIPELINE_RUNS
from tests.conftest import test_config
from tests.helpers import assert_same_rows
from tests.spark.test_lake import SCHEMA, rows


def _small_appends(lake: Lake, batches: int) -> None:
    """``batches`` appends of 2 rows on the same 2 dates: many small files per partition."""
    for b in range(batches):
        day = date(2024, 1, 1)
        data = [(f"r{b}-{i}", day + timedelta(days=i % 2), float(b * 10 + i), None) for i in range(2)]
        lake.insert_new(BRONZE_EVENTS, rows(lake.spark, data), keys=("id",), schema=SCHEMA, partition_by=("day",))


def _live_files(spark: SparkSession, lake: Lake, table: str) -> int:
    return int(DeltaTable.forPath(spark, lake.path(table)).detail().first()["numFiles"])


def _parquet_on_disk(lake: Lake, table: str) -> int:
    return sum(1 for p in Path(lake.path(table)).rglob("*.parquet") if "_delta_log" not in p.parts)


def test_optimize_compacts_and_vacuum_deletes_only_when_allowed(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    _small_appends(lake, 4)
    expected = lake.read(BRONZE_EVENTS).collect()
    assert _live_files(spark, lake, BRONZE_EVENTS) == 8  # 4 appends x 2 dates

    # Default retention (7 days): compaction, nothing deleted (every file is younger than a week).
    cfg = test_config(lake=lake_root)
    result = execute("maintain", cfg, spark)
    assert result.counts[f"{BRONZE_EVENTS}.files_compacted"] == 8
    assert result.counts[f"{BRONZE_EVENTS}.files_written"] == 2  # one file per date
    assert result.counts[f"{BRONZE_EVENTS}.files_vacuumed"] == 0
    assert _live_files(spark, lake, BRONZE_EVENTS) == 2
    assert _parquet_on_disk(lake, BRONZE_EVENTS) == 10  # the 8 old files stay for time travel
    assert_same_rows(lake.read(BRONZE_EVENTS), spark.createDataFrame(expected, SCHEMA))
    assert PIPELINE_RUNS in result.output_versions  # the registry itself is maintained too

    # Zero retention, explicitly allowed: the replaced files go, the rows stay.
    short = test_config(
        "maintain.retention_hours=0",
        "maintain.allow_short_retention=true",
        "maintain.tables=[bronze/events]",
        lake=lake_root,
    )
    result = execute("maintain", short, spark)
    assert result.counts[f"{BRONZE_EVENTS}.files_vacuumed"] == 8
    assert _parquet_on_disk(lake, BRONZE_EVENTS) == 2
    assert_same_rows(lake.read(BRONZE_EVENTS), spark.createDataFrame(expected, SCHEMA))
    assert spark.conf.get("spark.databricks.delta.retentionDurationCheck.enabled", "true") == "true"  # restored


def test_zorder_by_user_keeps_rows(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    ts = datetime(2024, 1, 1, 12, tzinfo=UTC)
    for i in range(3):
        event = (f"e{i}", f"u{2 - i}", "i1", "view", ts, ts.date(), None, 9.5, "s1", "src", "b1", ts, {}, [])
        row = spark.createDataFrame([event], EVENTS)
        lake.insert_new(BRONZE_EVENTS, row, keys=("event_id",), schema=EVENTS, partition_by=("event_date",))
    expected = lake.read(BRONZE_EVENTS).collect()
    result = execute("maintain", test_config("maintain.zorder_by_user=true", lake=lake_root), spark)
    assert result.counts[f"{BRONZE_EVENTS}.files_written"] == 1
    history = DeltaTable.forPath(spark, lake.path(BRONZE_EVENTS)).history().collect()
    zorder = next(h for h in history if h["operation"] == "OPTIMIZE")["operationParameters"]["zOrderBy"]
    assert "user_id" in zorder
    assert_same_rows(lake.read(BRONZE_EVENTS), spark.createDataFrame(expected, EVENTS))


def test_short_retention_is_refused_before_any_work(lake_root: Path) -> None:
    with pytest.raises(ConfigError, match="allow_short_retention"):
        test_config("maintain.retention_hours=24", lake=lake_root)


def test_unknown_table_is_refused_before_any_work(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    _small_appends(lake, 2)
    version = lake.version(BRONZE_EVENTS)
    with pytest.raises(ConfigError, match=r"maintain\.tables"):
        execute("maintain", test_config("maintain.tables=[bronze/event]", lake=lake_root), spark)
    assert lake.version(BRONZE_EVENTS) == version
