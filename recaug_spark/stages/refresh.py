"""Stage refresh: the pipeline's stages in order for one config, under one run id, incrementally.

ingest -> preprocess -> split -> augment -> train-gan -> generate -> evaluate (``refresh.from_stage`` /
``--from`` starts later, ``refresh.only`` / ``--only`` runs one). Nothing here decides what is new:
each stage compares what it would read (Delta versions, config hash) with its last successful run in
gold/pipeline_runs and is skipped, and reported as skipped, when nothing changed; ingest reads only
the files (or demo days) it has not ingested yet, and the date-partitioned stages recompute only the
new dates when the training period is fixed (incremental.py). Every write is idempotent, so a refresh
that died anywhere is finished by running it again. A failure stops the refresh at that stage (the
stages before it stand) and the exit code is non-zero.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from pyspark.sql import SparkSession

from recaug_spark import locks, storage
from recaug_spark.config import RecaugConfig
from recaug_spark.errors import LockedError
from recaug_spark.lake import Lake
from recaug_spark.runs import SKIPPED, SUCCEEDED, RunContext, StageResult, last_succeeded, latest_rows, record
from recaug_spark.schema import BRONZE_EVENTS

log = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Run the configured stages under the input's lock; the result names each stage's status and the
    report that stands."""
    from recaug_spark.pipeline import execute  # the dispatcher imports stages lazily; so does refresh

    conf = cfg.refresh
    key = f"refresh/{ctx.config_hash}"  # the source section's hash: the same input, the same lock
    with locks.acquire(
        lake, key, ctx.run_id, lease_seconds=conf.lock_lease_seconds, wait_seconds=conf.lock_timeout_seconds
    ) as lock:
        resumed = unfinished_run(lake, ctx)
        run_id = resumed or ctx.run_id
        if resumed:
            log.info("refresh: resuming run %s, which did not finish", resumed)
        statuses = {}
        for name in conf.stages():
            if lock.lost:
                raise LockedError(f"the refresh lock {key} was taken over by another process; stopped before {name}")
            result = execute(name, cfg, spark, run_id=run_id)
            statuses[name] = result.status
            if name == "ingest" and not lake.exists(BRONZE_EVENTS):  # nothing ever ingested: nothing to refresh
                return StageResult(status=SKIPPED, message=f"nothing to refresh: {result.message}")
        if resumed:  # the run this one finished is done too
            record(lake, replace(ctx, run_id=resumed), StageResult(message=f"finished by run {ctx.run_id}"))
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
