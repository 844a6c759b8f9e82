"""Stage preprocess: bronze -> silver (clean, impute, normalize, features), fit on the training period.

The pipeline is prep/pipeline.py. Incremental runs (see incremental.py and the README): with no new
bronze rows and the same config, nothing is recomputed or written; when only dates after a fixed
cutoff got rows, only silver/events from the first new date on is rewritten with the stored fit.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from recaug_spark import incremental
from recaug_spark.config import RecaugConfig
from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.prep.pipeline import preprocess
from recaug_spark.runs import SKIPPED, RunContext, StageResult, last_succeeded
from recaug_spark.schema import (
    BRONZE_EVENTS,
    BRONZE_ITEMS,
    BRONZE_USERS,
    SILVER_EVENTS,
    SILVER_FEEDBACK,
    SILVER_ITEM_FEATURES,
    SILVER_STATS,
    SILVER_USER_FEATURES,
)

log = logging.getLogger(__name__)

INPUTS = (BRONZE_EVENTS, BRONZE_ITEMS, BRONZE_USERS)
OUTPUTS = (SILVER_EVENTS, SILVER_STATS, SILVER_USER_FEATURES, SILVER_ITEM_FEATURES, SILVER_FEEDBACK)


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Clean, impute and normalize bronze events into silver, with features; skip when nothing changed."""
    if not lake.exists(BRONZE_EVENTS):
        raise InputError(f"{lake.path(BRONZE_EVENTS)} does not exist; run `recaug ingest` first")
    inputs = lake.versions(INPUTS)
    previous = last_succeeded(lake, "preprocess")
    work = incremental.decide(
        lake, cfg.split, previous, config_hash=ctx.config_hash, inputs=inputs, table=BRONZE_EVENTS,
        outputs_exist=all(lake.exists(t) for t in OUTPUTS), entities={BRONZE_ITEMS: "item_id", BRONZE_USERS: "user_id"},
    )  # fmt: skip
    if work.nothing_new:
        return StageResult(
            status=SKIPPED, message=work.reason, input_versions=inputs, output_versions=lake.versions(OUTPUTS)
        )
    log.info("preprocess: %s", work.reason)
    version = f"{ctx.config_hash}-" + "-".join(f"{v}" for v in inputs.values())
    counts = preprocess(spark, cfg, lake, version=version, start=work.start)
    return StageResult(
        counts=counts, input_versions=inputs, output_versions=lake.versions(OUTPUTS), message=work.reason
    )
