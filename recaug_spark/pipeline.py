"""The stages of the pipeline and the one protocol that runs each: inputs, snapshot, skip, registry, retries.

A stage module holds the stage's work, ``run(job) -> StageResult``; everything around it is done here,
the same way for every stage:

1. the stage's required input tables must exist (one message naming the stage that writes each);
2. every input is pinned: its Delta version is read once, and every read of it in the stage reads that
   version (``versionAsOf``), so what the registry records is what the stage read, even when another
   refresh commits meanwhile;
3. the skip decision: a stage whose identity (by default its pinned input versions) and config sections
   equal those of its last successful run, whose outputs still hold that run's rows, is not run and
   writes one ``skipped`` registry row;
4. otherwise a ``running`` row, the work (again from a fresh snapshot when it lost a Delta commit race),
   and the outcome's row, with the input versions and the outputs' versions after the write.

``refresh`` runs the refresh stages in order under the input's lock, resuming a refresh that died.
"""

from __future__ import annotations

import importlib
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pyspark.sql import Row, SparkSession

from recaug_spark import locks, storage
from recaug_spark.config import REFRESH_ORDER, RecaugConfig
from recaug_spark.errors import ConfigError, InputError, LockedError
from recaug_spark.lake import Lake, is_concurrent_modification
from recaug_spark.runs import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    RunContext,
    StageResult,
    flush,
    last_succeeded,
    latest_rows,
    new_run_id,
    record,
)
from recaug_spark.schema import (
    AUGMENT_RUN,
    BRONZE_EVENTS,
    BRONZE_FILES,
    BRONZE_ITEMS,
    BRONZE_QUARANTINE,
    BRONZE_USERS,
    GENERATE_RUN,
    GOLD_AUGMENTED,
    GOLD_EVAL,
    GOLD_POLICY,
    GOLD_SYNTHETIC,
    LAKE_TABLES,
    SILVER_EVENTS,
    SILVER_FEEDBACK,
    SILVER_ITEM_FEATURES,
    SILVER_SPLIT,
    SILVER_STATS,
    SILVER_USER_FEATURES,
)

log = logging.getLogger(__name__)

# Run ids go into Delta conditions and directory names: a closed alphabet keeps both safe.
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")

T = TypeVar("T")

# How a stage decides that it has nothing to do: "unchanged" (the pipeline compares its identity and
# config with its last success), "own" (its run() decides, e.g. ingest looks for new files), "never".
Skip = Literal["unchanged", "own", "never"]


@dataclass(frozen=True)
class Job:
    """What a stage's ``run`` gets: ``lake`` reads the stage's inputs at their pinned versions."""

    spark: SparkSession
    cfg: RecaugConfig
    lake: Lake
    ctx: RunContext
    inputs: Mapping[str, int]  # the pinned versions of the inputs that exist
    previous: Row | None  # the stage's last successful run (its registry row), if any
    # What the stage's identity() returned for this attempt (empty for a stage not skipped by identity):
    # a stage whose identity is costly to compute (augment's fingerprint) reads it here instead of again.
    identity: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """A stage of the CLI contract.

    ``module`` holds ``run(job)``, and optionally ``identity(job) -> dict[str, int]`` (what the stage's
    output is a function of, besides its config; default: the pinned input versions) and ``idle(cfg) ->
    str | None`` (why the config leaves it nothing to do); it is imported when the stage runs, so that
    ``recaug --help`` imports neither torch nor the stages.
    """

    name: str
    summary: str
    module: str
    inputs: tuple[str, ...] = ()  # tables that must exist
    reads: tuple[str, ...] = ()  # tables read (and pinned) when they exist
    outputs: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()  # config sections the stage's output depends on (its config hash)
    skip: Skip = "unchanged"
    run_column: str | None = None  # outputs partitioned by run id: a skip needs the last run's partition

    def run(self, job: Job) -> StageResult:
        """The stage's work."""
        result: StageResult = importlib.import_module(self.module).run(job)
        return result

    def idle(self, cfg: RecaugConfig) -> str | None:
        """Why the stage has nothing to do under ``cfg`` (its module's optional ``idle(cfg)``), decided before
        its ``running`` row: None when it has work."""
        custom: Callable[[RecaugConfig], str | None] | None = getattr(
            importlib.import_module(self.module), "idle", None
        )
        return None if custom is None else custom(cfg)

    def identity(self, job: Job) -> dict[str, int]:
        """What the stage's output is a function of, besides its config: compared with its last success."""
        custom: Callable[[Job], dict[str, int]] | None = getattr(importlib.import_module(self.module), "identity", None)
        return dict(job.inputs) if custom is None else custom(job)


_PREPARED = (SILVER_EVENTS, SILVER_SPLIT)
_RECORDS: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage(
            "ingest",
            "raw files (or the demo shop) -> bronze Delta tables + quarantine",
            "recaug_spark.stages.ingest",
            outputs=(BRONZE_EVENTS, BRONZE_ITEMS, BRONZE_USERS, BRONZE_QUARANTINE, BRONZE_FILES),
            sections=("source", "ingest", "run"),
            skip="own",
        ),
        Stage(
            "preprocess",
            "bronze -> silver: clean, impute, normalize, features",
            "recaug_spark.stages.preprocess",
            inputs=(BRONZE_EVENTS,),
            reads=(BRONZE_ITEMS, BRONZE_USERS),
            outputs=(SILVER_EVENTS, SILVER_STATS, SILVER_USER_FEATURES, SILVER_ITEM_FEATURES, SILVER_FEEDBACK),
            sections=("preprocess", "split"),
        ),
        Stage(
            "split",
            "silver -> train/test split with cold-start labels",
            "recaug_spark.stages.split",
            inputs=(SILVER_EVENTS,),
            outputs=(SILVER_SPLIT,),
            sections=("preprocess", "split"),
        ),
        Stage(
            "augment",
            "train -> gold/augmented_events with Arrow-UDF row, sequence and context ops",
            "recaug_spark.stages.augment",
            inputs=_PREPARED,
            outputs=(GOLD_AUGMENTED,),
            sections=("augment", "run"),
            run_column=AUGMENT_RUN,
        ),
        Stage(
            "train-gan",
            "train -> models/generator/<version> (conditional WGAN-GP)",
            "recaug_spark.stages.train_gan",
            inputs=_PREPARED,
            reads=(BRONZE_USERS,),
            sections=("gan", "run"),
            skip="own",
        ),
        Stage(
            "generate",
            "generator -> gold/synthetic_events on the executors + quality report",
            "recaug_spark.stages.generate",
            inputs=_PREPARED,
            reads=(BRONZE_USERS,),
            outputs=(GOLD_SYNTHETIC,),
            sections=("gan", "generate", "run"),
            run_column=GENERATE_RUN,
        ),
        Stage(
            "policy",
            "train period -> gold/augment_policy: the augmentation that lifts which users of each model, or none",
            "recaug_spark.stages.policy",
            inputs=_PREPARED,
            outputs=(GOLD_POLICY,),
            sections=("policy", "augment", "split", "evaluate", "run"),
            run_column="run_id",
        ),
        Stage(
            "evaluate",
            "recommenders on real vs augmented data -> gold/eval_metrics + report",
            "recaug_spark.stages.evaluate",
            inputs=_PREPARED,
            reads=(GOLD_AUGMENTED, GOLD_SYNTHETIC, GOLD_POLICY),
            outputs=(GOLD_EVAL,),
            sections=("evaluate", "policy", "augment", "preprocess", "run"),
            run_column="run_id",
        ),
        Stage(
            "refresh",
            "all of the above in order, incrementally; resumes a refresh that died",
            __name__,
            sections=("source",),  # the refresh's identity: two refreshes of the same source are the same job
            skip="never",
        ),
        Stage(
            "maintain",
            "OPTIMIZE (optionally Z-ORDER by user_id) and VACUUM the lake's tables",
            "recaug_spark.stages.maintain",
            outputs=LAKE_TABLES,
            sections=("maintain",),
            skip="never",
        ),
    )
}
# The CLI's order: the refresh stages in pipeline order (config's REFRESH_ORDER), then the others.
STAGES: tuple[Stage, ...] = (
    *(_RECORDS[name] for name in REFRESH_ORDER),
    *(stage for name, stage in _RECORDS.items() if name not in REFRESH_ORDER),
)


def stage_named(name: str) -> Stage:
    """The stage called ``name``.

    Example:
        >>> stage_named("split").inputs
        ('silver/events',)
    """
    return _RECORDS[name]


def writer_of(table: str) -> str:
    """The stage whose output ``table`` is (for "run it first" messages).

    Example:
        >>> writer_of("silver/split")
        'split'
    """
    return next(s.name for s in STAGES if table in s.outputs and s.skip != "never")


def execute(
    stage_name: str, cfg: RecaugConfig, spark: SparkSession, *, run_id: str | None = None, lake: Lake | None = None
) -> StageResult:
    """Run one stage on ``spark`` and record it in gold/pipeline_runs.

    ``lake``: the Lake of the run this stage is part of (a refresh passes its own to its stages, so they
    share its crash hook and its copy of the registry); a new one on ``lake.root`` when None. A stage
    that is part of a run leaves its end row to that run's next registry commit (runs.record); a
    failure is recorded at once.

    Returns:
        The stage's result.
    """
    if run_id is not None and not RUN_ID.match(run_id):
        raise ConfigError("--run-id", f"'{run_id}' is not a run id: letters, digits and . _ : + - (at most 128)")
    stage = stage_named(stage_name)
    started = datetime.now(UTC)
    ctx = RunContext(
        run_id=run_id or new_run_id(started),
        stage=stage.name,
        config=cfg,
        started_at=started,
        config_hash=cfg.section_hash(*stage.sections) if stage.sections else cfg.config_hash(),
    )
    part_of_a_run = lake is not None
    lake = lake or Lake(spark, cfg.lake.root)
    log.info("%s: run %s, lake %s, master %s", stage.name, ctx.run_id, lake.root, spark.sparkContext.master)
    lake.crash_hook.entering(stage.name)
    try:
        try:
            result = _attempts(stage, spark, cfg, lake, ctx)
        except BaseException as exc:
            try:
                record(lake, ctx, StageResult(status=FAILED, message=f"{type(exc).__name__}: {exc}"))
            except Exception:  # the original error matters more than a failed registry write
                log.exception("could not record the failure of run %s", ctx.run_id)
            raise
        record(lake, ctx, result, defer=part_of_a_run)
    finally:
        lake.crash_hook.leaving(stage.name)
    seconds = (datetime.now(UTC) - started).total_seconds()
    note = f": {result.message}" if result.message else ""
    log.info("%s: %s in %.1f s (run %s)%s", stage.name, result.status, seconds, ctx.run_id, note)
    return result


def _attempts(stage: Stage, spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Check the inputs; then pin, decide the skip and run, again from a new snapshot when the stage lost
    a Delta commit race (see :func:`retrying`). The ``running`` row is written once, before the first
    attempt that runs the stage; a skipped stage writes only its ``skipped`` row."""
    for table in stage.inputs:
        if not lake.exists(table):
            raise InputError(f"{lake.path(table)} does not exist; run `recaug {writer_of(table)}` first")
    running: list[bool] = []

    def attempt() -> StageResult:
        pinned = lake.versions([*stage.inputs, *stage.reads])
        if (why := stage.idle(cfg)) is not None:
            return StageResult(status=SKIPPED, message=why, input_versions=pinned)
        previous = last_succeeded(lake, stage.name) if stage.skip != "never" else None
        job = Job(spark, cfg, lake.pinned(pinned), ctx, pinned, previous)
        identity = stage.identity(job) if stage.skip == "unchanged" else dict(pinned)
        skipped = _unchanged(stage, job, identity) if stage.skip == "unchanged" else None
        if skipped is not None:
            return skipped
        if not running:
            record(lake, ctx, StageResult(status=RUNNING), finished=False)
            running.append(True)
        result = stage.run(replace(job, identity=identity))
        return replace(
            result,
            input_versions=result.input_versions or {**pinned, **identity},
            output_versions=result.output_versions or lake.versions(stage.outputs),
        )

    # Refresh is not retried as a whole: its stages are.
    attempts = 1 if stage.skip == "never" else cfg.lake.max_attempts
    return retrying(
        attempt, attempts=attempts, base_seconds=cfg.lake.retry_base_seconds, label=f"{ctx.run_id}:{ctx.stage}"
    )


def retrying(attempt: Callable[[], T], *, attempts: int, base_seconds: float, label: str) -> T:
    """``attempt()``; when it loses a Delta commit race (another writer committed first), again after an
    exponential backoff with jitter (seeded by ``label``), up to ``attempts`` times. Safe because every
    stage is idempotent: a rerun reads the tables as they are now, the winner's rows included."""
    jitter = random.Random(label)
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except Exception as error:
            if number == attempts or not is_concurrent_modification(error):
                raise
            delay = base_seconds * 2 ** (number - 1) * jitter.uniform(0.5, 1.5)
            first = (str(error).strip().splitlines() or [""])[0][:300]
            log.warning("%s: a concurrent writer won a commit (%s); attempt %d of %d in %.1f s",
                        label, first, number + 1, attempts, delay)  # fmt: skip
            time.sleep(delay)
    raise AssertionError("unreachable")


def _unchanged(stage: Stage, job: Job, identity: Mapping[str, int]) -> StageResult | None:
    """The skipped result when the last success had this config and identity and its output stands.

    The identity's entries must all be in the last run's record, and an optional input must be there
    in both or in neither (a table that appeared or went away changes what the stage reads).
    """
    previous = job.previous
    if previous is None or previous.config_hash != job.ctx.config_hash:
        return None
    before = dict(previous.input_versions or {})
    if any(before.get(key) != value for key, value in identity.items()):
        return None
    if any((table in before) != (table in job.inputs) for table in stage.reads):
        return None
    lake = job.lake
    if stage.run_column is not None:
        stands = all(lake.has_rows(t, stage.run_column, previous.run_id) for t in stage.outputs)
    else:
        stands = all(lake.exists(t) for t in stage.outputs)
    if not stands:
        return None
    what = ", ".join(sorted(identity)) or "inputs"
    return StageResult(
        status=SKIPPED,
        message=f"{what} and config unchanged since run {previous.run_id}: nothing to recompute, its output stands",
        input_versions={**job.inputs, **identity},
        output_versions=lake.versions(stage.outputs),
    )


def run(job: Job) -> StageResult:
    """Refresh: the configured stages in order under the input's lock; the result names each stage's
    status and the report that stands.

    ingest -> preprocess -> split -> augment -> train-gan -> generate -> evaluate (``refresh.from_stage``
    / ``--from`` starts later, ``refresh.only`` / ``--only`` runs one). Nothing here decides what is new:
    each stage is skipped when its identity is unchanged (see :func:`_unchanged`), ingest reads only the
    files (or demo days) it has not ingested yet, and the date-partitioned stages recompute only the new
    dates when the training period is fixed (incremental.py). Every write is idempotent, so a refresh
    that died anywhere is finished by running it again. A failure stops the refresh at that stage (the
    stages before it stand) and the exit code is non-zero.
    """
    cfg, ctx, lake = job.cfg, job.ctx, job.lake
    conf = cfg.refresh
    key = f"refresh/{ctx.config_hash}"  # the source section's hash: the same input, the same lock
    with locks.acquire(
        lake, key, ctx.run_id, lease_seconds=conf.lock_lease_seconds, wait_seconds=conf.lock_timeout_seconds
    ) as lock:
        try:
            resumed = unfinished_run(lake, ctx)
            run_id = resumed or ctx.run_id
            if resumed:
                log.info("refresh: resuming run %s, which did not finish", resumed)
            statuses = {}
            for name in conf.stages():
                if lock.lost:
                    raise LockedError(
                        f"the refresh lock {key} was taken over by another process; stopped before {name}"
                    )
                result = execute(name, cfg, job.spark, run_id=run_id, lake=lake)
                statuses[name] = result.status
                if name == "ingest" and not lake.exists(BRONZE_EVENTS):  # nothing ever ingested: nothing to refresh
                    return StageResult(status=SKIPPED, message=f"nothing to refresh: {result.message}")
            if resumed:  # the run this one finished is done too
                record(
                    lake, replace(ctx, run_id=resumed), StageResult(message=f"finished by run {ctx.run_id}"), defer=True
                )
        finally:  # the stages' end rows are committed before the lock goes: the next holder must find them
            flush(lake)
    summary = ", ".join(f"{name} {status}" for name, status in statuses.items())
    if resumed:
        summary = f"resumed run {resumed}: {summary}"
    evaluated = last_succeeded(lake, "evaluate")
    if evaluated is None:
        return StageResult(message=summary)
    report = storage.join(lake.root, "reports", evaluated.run_id, "report.md")
    return StageResult(message=f"{summary}; evaluation report: {report}")


def unfinished_run(lake: Lake, ctx: RunContext) -> str | None:
    """The run id of the oldest refresh of the same input since its last success, when there is one
    (it crashed or failed, and any refresh that resumed it did too): this refresh finishes it under the
    same id, so its partially written run partitions are replaced rather than left beside new ones.
    Called with the input's lock held, so that run is dead."""
    runs = [
        r
        for r in latest_rows(lake)
        if r.stage == "refresh" and r.config_hash == ctx.config_hash and r.run_id != ctx.run_id
    ]
    succeeded = max((r.started_at for r in runs if r.status == SUCCEEDED), default=None)
    after = [r for r in runs if r.status != SUCCEEDED and (succeeded is None or r.started_at > succeeded)]
    oldest = min(after, key=lambda r: (r.started_at, r.run_id), default=None)
    return None if oldest is None else str(oldest.run_id)
