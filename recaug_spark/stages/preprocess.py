"""Stage preprocess: bronze -> silver (clean, impute, normalize, features), fit on the training period.

The pipeline is prep/pipeline.py. Incremental runs (see incremental.py and the README): with no new
bronze rows and the same config, nothing is recomputed or written; when only dates after a fixed
cutoff got rows, only silver/events from the first new date on is rewritten with the stored fit.
"""

from __future__ import annotations

import logging

from recaug_spark import incremental
from recaug_spark.pipeline import Job, stage_named
from recaug_spark.prep.pipeline import preprocess
from recaug_spark.runs import SKIPPED, StageResult
from recaug_spark.schema import BRONZE_EVENTS, BRONZE_ITEMS, BRONZE_USERS

log = logging.getLogger(__name__)


def run(job: Job) -> StageResult:
    """Clean, impute and normalize bronze events into silver, with features; skip when nothing changed."""
    cfg, lake, ctx = job.cfg, job.lake, job.ctx
    outputs = stage_named("preprocess").outputs
    work = incremental.decide(
        lake, cfg.split, job.previous, config_hash=ctx.config_hash, inputs=job.inputs, table=BRONZE_EVENTS,
        outputs_exist=all(lake.exists(t) for t in outputs), entities={BRONZE_ITEMS: "item_id", BRONZE_USERS: "user_id"},
    )  # fmt: skip
    if work.nothing_new:
        return StageResult(status=SKIPPED, message=work.reason)
    log.info("preprocess: %s", work.reason)
    # The version stamp of silver rows: the config and the bronze versions read (events, items, users).
    version = f"{ctx.config_hash}-" + "-".join(f"{v}" for v in job.inputs.values())
    counts = preprocess(job.spark, cfg, lake, version=version, start=work.start)
    return StageResult(counts=counts, message=work.reason)
