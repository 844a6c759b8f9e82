"""The run registry read in Python (runs.latest_rows, last_succeeded, refresh.unfinished_run) against the
window query it replaced, on a registry with retries, crashes and ties; the rows a refresh holds back for
the registry's next commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from recaug_spark.lake import Lake
from recaug_spark.pipeline import unfinished_run
from recaug_spark.runs import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    RunContext,
    StageResult,
    flush,
    last_succeeded,
    latest,
    latest_rows,
    record,
    status_row,
)
from recaug_spark.schema import PIPELINE_RUNS, PIPELINE_RUNS_SCHEMA
from tests.conftest import test_config

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _registry(spark: SparkSession, root: Path) -> Lake:
    """(run, stage, start minute, status, finished?) rows, as the pipeline writes them (in one commit)."""
    lake, cfg = Lake(spark, str(root)), test_config()
    rows = [
        ("r1", "refresh", 0, RUNNING, False), ("r1", "ingest", 0, RUNNING, False),
        ("r1", "ingest", 0, SUCCEEDED, True), ("r1", "refresh", 0, SUCCEEDED, True),
        ("r2", "refresh", 10, RUNNING, False), ("r2", "ingest", 10, RUNNING, False),  # r2 crashed in ingest
        ("r3", "refresh", 20, RUNNING, False), ("r3", "ingest", 20, FAILED, True),  # r3 failed, never ended
        ("r4", "ingest", 30, RUNNING, False), ("r4", "ingest", 30, SKIPPED, True),
        ("r5", "ingest", 40, RUNNING, False), ("r5", "ingest", 41, SUCCEEDED, True),  # a retried attempt
        ("r5", "ingest", 40, FAILED, True),  # the first attempt's end, written after the retry's start
    ]  # fmt: skip
    status_rows = [
        status_row(
            lake,
            RunContext(run_id, stage, cfg, T0 + timedelta(minutes=minute), config_hash="same-input"),
            StageResult(status=status),
            finished=ended,
        )
        for run_id, stage, minute, status, ended in rows
    ]
    lake.append(PIPELINE_RUNS, status_rows, schema=PIPELINE_RUNS_SCHEMA)
    return lake


def test_the_registry_read_in_python_equals_the_window_query(spark: SparkSession, tmp_path: Path) -> None:
    lake = _registry(spark, tmp_path / "lake")
    order = Window.partitionBy("run_id", "stage").orderBy(
        F.col("started_at").desc(), F.col("finished_at").desc_nulls_last(), F.col("status") == RUNNING
    )
    reference = lake.read(PIPELINE_RUNS).withColumn("_n", F.row_number().over(order)).where("_n = 1").drop("_n")
    expected = {(r.run_id, r.stage): (r.status, r.started_at) for r in reference.collect()}
    assert {(r.run_id, r.stage): (r.status, r.started_at) for r in latest_rows(lake)} == expected
    assert expected[("r5", "ingest")][0] == SUCCEEDED and expected[("r2", "ingest")][0] == RUNNING
    assert latest(lake).count() == len(expected)
    assert last_succeeded(lake, "ingest").run_id == "r5"
    assert last_succeeded(lake, "split") is None
    # r1 succeeded; r2 (crashed) and r3 (failed) came after it: the oldest of them is resumed.
    ctx = RunContext("r9", "refresh", test_config(), T0, config_hash="same-input")
    assert unfinished_run(lake, ctx) == "r2"
    assert unfinished_run(lake, RunContext("r9", "refresh", test_config(), T0, config_hash="other")) is None


def test_small_table_rows_follow_new_commits(spark: SparkSession, tmp_path: Path) -> None:
    lake = Lake(spark, str(tmp_path / "lake"))
    assert lake.rows(PIPELINE_RUNS) == [] and latest(lake).count() == 0
    ctx = RunContext("a", "ingest", test_config(), T0, config_hash="h")
    record(lake, ctx, StageResult(status=RUNNING), finished=False)
    first = lake.rows(PIPELINE_RUNS)
    assert lake.rows(PIPELINE_RUNS) is first  # unchanged version: the rows read before
    Lake(spark, str(tmp_path / "lake")).version(PIPELINE_RUNS)  # another Lake object, the same table
    record(lake, ctx, StageResult(status=SUCCEEDED, counts={"rows": 3}))  # added to the copy, not re-read
    assert [r.status for r in latest_rows(lake)] == [SUCCEEDED]
    assert lake.version(PIPELINE_RUNS) == 2

    def by_status(rows: list) -> list:
        return sorted((r.asDict() for r in rows), key=lambda r: r["status"])

    assert by_status(lake.rows(PIPELINE_RUNS)) == by_status(lake.read(PIPELINE_RUNS).collect())
    # Another process's commit in between (a plain Delta append): the copy is read again, with both rows.
    theirs = status_row(lake, RunContext("b", "split", test_config(), T0, config_hash="h"), StageResult())
    spark.createDataFrame([theirs], PIPELINE_RUNS_SCHEMA).write.format("delta").mode("append").save(
        lake.path(PIPELINE_RUNS)
    )
    record(lake, RunContext("c", "split", test_config(), T0, config_hash="h"), StageResult(), finished=True)
    assert {r.run_id for r in lake.rows(PIPELINE_RUNS)} == {"a", "b", "c"} and len(lake.rows(PIPELINE_RUNS)) == 4


def test_deferred_rows_are_seen_at_once_and_committed_with_the_next_row(spark: SparkSession, tmp_path: Path) -> None:
    """A refresh's end rows wait for its next registry commit: the Lake shows them meanwhile, exactly as
    a read will return them, and another reader sees them once that commit lands."""
    lake = Lake(spark, str(tmp_path / "lake"))
    start = RunContext("r", "refresh", test_config(), T0, config_hash="h")
    record(lake, start, StageResult(status=RUNNING), finished=False)
    ingest, split = replace(start, stage="ingest"), replace(start, stage="split")
    record(lake, ingest, StageResult(counts={"rows": 7}, input_versions={"bronze/events": 3}), defer=True)
    assert lake.version(PIPELINE_RUNS) == 1  # held back: no commit after the table's creation and the first row
    assert {(r.stage, r.status) for r in latest_rows(lake)} == {("refresh", RUNNING), ("ingest", SUCCEEDED)}
    other = Lake(spark, str(tmp_path / "lake"))
    assert [r.stage for r in other.rows(PIPELINE_RUNS)] == ["refresh"]  # another process: not yet
    record(lake, split, StageResult(status=RUNNING), finished=False)
    assert lake.version(PIPELINE_RUNS) == 2  # both rows in one commit
    held = sorted((r.asDict() for r in lake.rows(PIPELINE_RUNS)), key=lambda r: (r["stage"], r["status"]))
    read = sorted((r.asDict() for r in other.rows(PIPELINE_RUNS)), key=lambda r: (r["stage"], r["status"]))
    assert held == read and len(read) == 3
    record(lake, split, StageResult(status=SKIPPED), defer=True)
    flush(lake)
    flush(lake)  # nothing held back: no commit
    assert lake.version(PIPELINE_RUNS) == 3
    statuses = {r.stage: r.status for r in latest_rows(other)}
    assert statuses == {"refresh": RUNNING, "ingest": SUCCEEDED, "split": SKIPPED}


def test_rows_held_back_stay_held_when_their_commit_fails(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(spark, str(tmp_path / "lake"))
    start = RunContext("r", "refresh", test_config(), T0, config_hash="h")
    record(lake, start, StageResult(status=RUNNING), finished=False)
    record(lake, replace(start, stage="ingest"), StageResult(), defer=True)

    def failing(moment: str, table: str) -> None:
        raise OSError(f"disk full at {moment} {table}")

    with monkeypatch.context() as patched:
        patched.setattr(lake.crash_hook, "commit_point", failing)
        with pytest.raises(OSError, match="disk full"):
            record(lake, replace(start, stage="split"), StageResult(status=RUNNING), finished=False)
    assert lake.version(PIPELINE_RUNS) == 1
    assert sorted(r.stage for r in latest_rows(lake)) == ["ingest", "refresh", "split"]  # still held
    flush(lake)
    assert lake.version(PIPELINE_RUNS) == 2
    committed = Lake(spark, str(tmp_path / "lake")).rows(PIPELINE_RUNS)
    assert sorted(r.stage for r in committed) == ["ingest", "refresh", "split"]
