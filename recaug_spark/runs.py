"""The run registry, gold/pipeline_runs: status rows per (run_id, stage) with versions and counts."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, Row

from recaug_spark import __version__
from recaug_spark.config import RecaugConfig
from recaug_spark.lake import Lake
from recaug_spark.schema import PIPELINE_RUNS, PIPELINE_RUNS_SCHEMA

log = logging.getLogger(__name__)

RUNNING, SUCCEEDED, FAILED, SKIPPED = "running", "succeeded", "failed", "skipped"


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC time plus 6 random hex digits.

    Example:
        >>> new_run_id(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))[:17]
        '20261127T083000Z-'
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunContext:
    """Identity of one stage execution, passed to every stage."""

    run_id: str
    stage: str
    config: RecaugConfig
    started_at: datetime
    config_hash: str  # hash of the config sections the stage depends on


@dataclass
class StageResult:
    """What a stage reports: status, row counts, and the Delta versions it read and wrote."""

    status: str = SUCCEEDED
    counts: dict[str, int] = field(default_factory=dict)
    input_versions: dict[str, int] = field(default_factory=dict)
    output_versions: dict[str, int] = field(default_factory=dict)
    message: str = ""


def record(lake: Lake, ctx: RunContext, result: StageResult, *, finished: bool = True, defer: bool = False) -> None:
    """Append a status row for (run_id, stage) to gold/pipeline_runs.

    The registry is append-only: a stage writes a ``running`` row when it starts and one more row
    when it ends, so concurrent runs never conflict (blind appends) and a crashed run stays visible
    as ``running`` with no end. The latest row of a (run_id, stage) is its status (see latest()).

    ``defer``: the row waits in ``lake`` for its next registry commit (Lake.append). A refresh defers
    each stage's end row: it is committed with the next stage's ``running`` row, before that stage does
    any work, or by the refresh's flush before it releases its lock, so a refresh of n stages that all
    run makes n + 3 registry commits instead of 2n + 2. A process killed between a stage's end and that
    commit leaves the stage ``running``; the refresh that resumes the run then runs it again, which every
    stage allows (its writes are idempotent).
    """
    row = status_row(lake, ctx, result, finished=finished)
    lake.append(PIPELINE_RUNS, [row], schema=PIPELINE_RUNS_SCHEMA, defer=defer)


def flush(lake: Lake) -> None:
    """Commit the registry rows ``lake`` holds back (``record(..., defer=True)``), if any."""
    lake.flush(PIPELINE_RUNS, schema=PIPELINE_RUNS_SCHEMA)


def status_row(lake: Lake, ctx: RunContext, result: StageResult, *, finished: bool = True) -> Row:
    """The registry row :func:`record` appends."""
    return Row(
        run_id=ctx.run_id,
        stage=ctx.stage,
        status=result.status,
        started_at=ctx.started_at,
        finished_at=datetime.now(UTC) if finished else None,
        input_versions=_longs(result.input_versions),
        output_versions=_longs(result.output_versions),
        row_counts=_longs(result.counts),
        config_hash=ctx.config_hash,
        message=result.message[:2000],
        spark_master=lake.spark.sparkContext.master,
        recaug_version=__version__,
    )


def latest_rows(lake: Lake) -> list[Row]:
    """One row per (run_id, stage): its latest status row (the latest attempt; within it, an ended row wins
    over ``running``). Empty when the registry does not exist yet."""
    newest: dict[tuple[str, str], Row] = {}
    for row in lake.rows(PIPELINE_RUNS):
        key = (row.run_id, row.stage)
        if key not in newest or _recency(row) > _recency(newest[key]):
            newest[key] = row
    return list(newest.values())


def _recency(row: Row) -> tuple[Any, ...]:
    """Orders a (run_id, stage)'s rows: later start, then ended (later end first) before running."""
    ended = row.finished_at is not None
    return (row.started_at, ended, row.finished_at if ended else row.started_at, row.status != RUNNING)


def latest(lake: Lake) -> DataFrame:
    """:func:`latest_rows` as a DataFrame (for the CLI and for queries)."""
    return lake.spark.createDataFrame(latest_rows(lake), PIPELINE_RUNS_SCHEMA)


def _longs(values: Mapping[str, int]) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.items()}


def last_succeeded(lake: Lake, stage: str) -> Row | None:
    """The most recent successful run of ``stage`` (None when there is none)."""
    done = [r for r in lake.rows(PIPELINE_RUNS) if r.stage == stage and r.status == SUCCEEDED]
    return max(done, key=lambda r: (r.finished_at, r.run_id), default=None)


def unchanged_since_success(lake: Lake, stage: str, *, inputs: Mapping[str, int], config_hash: str) -> Row | None:
    """The last successful run of ``stage`` when it read exactly ``inputs`` with the same config hash:
    its output still stands (the caller checks that the output is still there), so the stage can skip."""
    previous = last_succeeded(lake, stage)
    if previous is None or previous.config_hash != config_hash:
        return None
    return previous if dict(previous.input_versions or {}) == dict(inputs) else None
