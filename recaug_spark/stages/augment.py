"""Stage augment: training rows -> gold/augmented_events, one recipe per configured op.

The work is in augment/: table.py reads the training rows (the leakage rule) and stamps the output,
apply.py runs every op of ``augment.ops`` over them. The stage is skipped when the training rows (a
fingerprint of the columns it reads) and the augment config are those of the last run.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from recaug_spark.augment import fit
from recaug_spark.augment.apply import augment
from recaug_spark.augment.table import RUN, fingerprint, lineage, output_columns, per_op_counts, read_training_rows
from recaug_spark.config import RecaugConfig
from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.runs import SKIPPED, RunContext, StageResult, last_succeeded
from recaug_spark.schema import AUGMENTED_EVENTS, GOLD_AUGMENTED, SILVER_EVENTS, SILVER_SPLIT
from recaug_spark.session import storage_level

log = logging.getLogger(__name__)

INPUTS = (SILVER_EVENTS, SILVER_SPLIT)


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Augment the training rows with every configured op; skip when nothing changed."""
    for table in INPUTS:
        if not lake.exists(table):
            raise InputError(f"{lake.path(table)} does not exist; run `recaug preprocess` and `recaug split` first")
    inputs = lake.versions(INPUTS)
    ops = cfg.augment.ops
    if not ops:
        return StageResult(status=SKIPPED, message="augment.ops is empty: nothing to do", input_versions=inputs)
    train = read_training_rows(lake, ops)
    fit.check(ops, train.schema)
    train = train.persist(storage_level(cfg.spark))
    try:
        counts = fingerprint(train)
        previous = last_succeeded(lake, "augment")
        if (
            previous is not None
            and previous.config_hash == ctx.config_hash
            and (previous.row_counts or {}).get("train_fingerprint") == counts["train_fingerprint"]
            and (previous.row_counts or {}).get("train_rows") == counts["train_rows"]
            and lake.has_rows(GOLD_AUGMENTED, RUN, previous.run_id)
        ):
            message = f"training rows and config unchanged since run {previous.run_id}: its augmentation stands"
            return StageResult(
                status=SKIPPED, message=message, input_versions=inputs, output_versions=lake.versions([GOLD_AUGMENTED])
            )
        augmented = augment(spark, train, cfg.augment, seed=cfg.run.seed)
        stamped = augmented.select(*output_columns(augmented), *lineage(ctx))
        lake.ensure(GOLD_AUGMENTED, AUGMENTED_EVENTS, partition_by=(RUN,))
        counts["rows_written"] = lake.replace_where(
            GOLD_AUGMENTED, stamped, f"{RUN} = '{ctx.run_id}'", merge_schema=True
        )
        counts |= per_op_counts(lake, ctx.run_id)
        counts["rows_deleted_old_runs"] = lake.keep_newest_runs(GOLD_AUGMENTED, RUN, cfg.augment.keep_runs)
    finally:
        train.unpersist()
        spark.catalog.clearCache()
    log.info("augment: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items() if k != "train_fingerprint"))
    return StageResult(
        counts=counts,
        input_versions=inputs,
        output_versions=lake.versions([GOLD_AUGMENTED]),
        message=f"{counts['rows_written']:,} rows from {counts['train_rows']:,} training rows by {len(ops)} op(s)",
    )
