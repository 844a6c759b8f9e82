"""The stages of the pipeline and how one is executed: dispatch, timing, and the run registry row."""

from __future__ import annotations

import importlib
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from recaug_spark import faults
from recaug_spark.config import RecaugConfig
from recaug_spark.errors import ConfigError, StageNotBuiltError
from recaug_spark.lake import Lake, is_concurrent_modification
from recaug_spark.runs import FAILED, RUNNING, RunContext, StageResult, new_run_id, record

log = logging.getLogger(__name__)

# Run ids go into Delta conditions and directory names: a closed alphabet keeps both safe.
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")


@dataclass(frozen=True)
class Stage:
    """A stage of the CLI contract: its module (None until it is built) and the issue that builds it."""

    name: str
    summary: str
    module: str | None
    issue: int
    sections: tuple[str, ...] = ()  # config sections the stage's output depends on (its config hash)


STAGES: tuple[Stage, ...] = (
    Stage(
        "ingest",
        "raw files (or the demo shop) -> bronze Delta tables + quarantine",
        "recaug_spark.stages.ingest",
        2,
        ("source", "ingest", "run"),
    ),
    Stage(
        "preprocess",
        "bronze -> silver: clean, impute, normalize, features",
        "recaug_spark.stages.preprocess",
        3,
        ("preprocess", "split"),
    ),
    Stage(
        "split",
        "silver -> train/test split with cold-start labels",
        "recaug_spark.stages.split",
        3,
        ("preprocess", "split"),
    ),
    Stage(
        "augment",
        "train -> gold/augmented_events with pandas-UDF transforms",
        "recaug_spark.stages.augment",
        4,
        ("augment", "run"),
    ),
    Stage(
        "train-gan",
        "train -> models/generator/<version> (conditional WGAN-GP)",
        "recaug_spark.stages.train_gan",
        5,
        ("gan", "run"),
    ),
    Stage(
        "generate",
        "generator -> gold/synthetic_events on the executors + quality report",
        "recaug_spark.stages.generate",
        5,
        ("gan", "generate", "run"),
    ),
    Stage(
        "evaluate",
        "recommenders on real vs augmented data -> gold/eval_metrics + report",
        "recaug_spark.stages.evaluate",
        6,
        ("evaluate", "preprocess", "run"),
    ),
    Stage(
        "refresh",
        "all of the above in order, incrementally; resumes a refresh that died",
        "recaug_spark.stages.refresh",
        7,
        ("source",),  # the refresh's identity: two refreshes of the same source are the same job
    ),
    Stage(
        "maintain",
        "OPTIMIZE (optionally Z-ORDER by user_id) and VACUUM the lake's tables",
        "recaug_spark.stages.maintain",
        7,
        ("maintain",),
    ),
)


def stage_named(name: str) -> Stage:
    """The stage called ``name``.

    Example:
        >>> stage_named("ingest").issue
        2
    """
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(name)


def require_built(stage: Stage) -> None:
    """Raise StageNotBuiltError for a stage that exists in the contract but not yet in code."""
    if stage.module is None:
        raise StageNotBuiltError(f"stage '{stage.name}' is not built yet (issue #{stage.issue}); nothing was run")


def execute(stage_name: str, cfg: RecaugConfig, spark: SparkSession, *, run_id: str | None = None) -> StageResult:
    """Run one stage on ``spark`` and record it in gold/pipeline_runs (running, then the outcome).

    Returns:
        The stage's result.
    """
    if run_id is not None and not RUN_ID.match(run_id):
        raise ConfigError("--run-id", f"'{run_id}' is not a run id: letters, digits and . _ : + - (at most 128)")
    stage = stage_named(stage_name)
    require_built(stage)
    assert stage.module is not None
    stage_run = importlib.import_module(stage.module).run
    started = datetime.now(UTC)
    ctx = RunContext(
        run_id=run_id or new_run_id(started),
        stage=stage.name,
        config=cfg,
        started_at=started,
        config_hash=cfg.section_hash(*stage.sections) if stage.sections else cfg.config_hash(),
    )
    lake = Lake(spark, cfg.lake.root)
    log.info("%s: run %s, lake %s, master %s", stage.name, ctx.run_id, lake.root, spark.sparkContext.master)
    faults.entering(stage.name)
    try:
        record(lake, ctx, StageResult(status=RUNNING), finished=False)
        try:
            result: StageResult = _with_retries(stage_run, spark, cfg, lake, ctx)
        except BaseException as exc:
            try:
                record(lake, ctx, StageResult(status=FAILED, message=f"{type(exc).__name__}: {exc}"))
            except Exception:  # the original error matters more than a failed registry write
                log.exception("could not record the failure of run %s", ctx.run_id)
            raise
        record(lake, ctx, result)
    finally:
        faults.leaving(stage.name)
    seconds = (datetime.now(UTC) - started).total_seconds()
    note = f": {result.message}" if result.message else ""
    log.info("%s: %s in %.1f s (run %s)%s", stage.name, result.status, seconds, ctx.run_id, note)
    return result


def _with_retries(
    stage_run: Callable[[SparkSession, RecaugConfig, Lake, RunContext], StageResult],
    spark: SparkSession,
    cfg: RecaugConfig,
    lake: Lake,
    ctx: RunContext,
) -> StageResult:
    """Run the stage; when it loses a Delta commit race (another writer committed first), run it again
    after an exponential backoff with jitter. Safe because every stage is idempotent: a rerun reads the
    tables as they are now, the winner's rows included. Refresh is not retried as a whole: its stages are.
    """
    attempts = 1 if ctx.stage == "refresh" else cfg.lake.max_attempts
    jitter = random.Random(f"{ctx.run_id}:{ctx.stage}")
    for attempt in range(1, attempts + 1):
        try:
            return stage_run(spark, cfg, lake, ctx)
        except Exception as error:
            if attempt == attempts or not is_concurrent_modification(error):
                raise
            delay = cfg.lake.retry_base_seconds * 2 ** (attempt - 1) * jitter.uniform(0.5, 1.5)
            first = (str(error).strip().splitlines() or [""])[0][:300]
            log.warning("%s: a concurrent writer won a commit (%s); attempt %d of %d in %.1f s",
                        ctx.stage, first, attempt + 1, attempts, delay)  # fmt: skip
            time.sleep(delay)
    raise AssertionError("unreachable")
