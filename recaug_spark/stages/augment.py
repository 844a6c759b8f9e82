"""Stage augment: training rows -> gold/augmented_events, one recipe per configured op.

The work is in augment/: table.py reads the training rows (the leakage rule) and stamps the output,
apply.py runs every op of ``augment.ops`` over them. The stage is skipped when the training rows (a
fingerprint of the columns it reads) and the augment config are those of the last run.
"""

from __future__ import annotations

import logging

from recaug_spark.augment import fit
from recaug_spark.augment.apply import augment
from recaug_spark.augment.table import fingerprint, lineage, output_columns, per_op_counts, read_training_rows
from recaug_spark.pipeline import Job
from recaug_spark.runs import SKIPPED, StageResult
from recaug_spark.schema import AUGMENT_RUN, AUGMENTED_EVENTS, GOLD_AUGMENTED
from recaug_spark.session import storage_level

log = logging.getLogger(__name__)


def identity(job: Job) -> dict[str, int]:
    """The training rows' fingerprint, not silver's versions: an incremental preprocess that rewrote
    only test dates moves the versions but leaves augment's input, and its output, as they were."""
    ops = job.cfg.augment.ops
    if not ops:
        return {}
    train = read_training_rows(job.lake, ops)
    fit.check(ops, train.schema)
    return fingerprint(train)


def run(job: Job) -> StageResult:
    """Augment the training rows with every configured op into the run's partition of gold/augmented_events."""
    spark, cfg, lake, ctx = job.spark, job.cfg, job.lake, job.ctx
    ops = cfg.augment.ops
    if not ops:
        return StageResult(status=SKIPPED, message="augment.ops is empty: nothing to do")
    train = read_training_rows(lake, ops).persist(storage_level(cfg.spark))
    try:
        counts = dict(job.identity) or fingerprint(train)  # a Job made outside the pipeline has no identity
        augmented = augment(spark, train, cfg.augment, seed=cfg.run.seed, sasrec=cfg.evaluate.sasrec)
        stamped = augmented.select(*output_columns(augmented), *lineage(ctx))
        lake.ensure(GOLD_AUGMENTED, AUGMENTED_EVENTS, partition_by=(AUGMENT_RUN,))
        counts["rows_written"] = lake.replace_where(
            GOLD_AUGMENTED, stamped, f"{AUGMENT_RUN} = '{ctx.run_id}'", merge_schema=True
        )
        counts |= per_op_counts(lake, ctx.run_id)
        counts["rows_deleted_old_runs"] = lake.keep_newest_runs(GOLD_AUGMENTED, AUGMENT_RUN, cfg.augment.keep_runs)
    finally:
        train.unpersist()
        spark.catalog.clearCache()
    log.info("augment: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items() if k != "train_fingerprint"))
    return StageResult(
        counts=counts,
        message=f"{counts['rows_written']:,} rows from {counts['train_rows']:,} training rows by {len(ops)} op(s)",
    )
