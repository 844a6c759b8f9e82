"""Stage split: silver/events -> silver/split (event_id -> train/test, cold/warm users, unseen users/items).

The assignment is computed by prep/split.py on the rows free of row flags, exactly as preprocess did
when it fit its statistics, so both agree; silver/split then holds the clean rows only.

Incremental runs (see incremental.py): with a fixed cutoff and new silver rows only on or after it,
the labels (which depend on training rows only) stay valid, so only the test rows from the first
changed date on are rewritten; anything else reassigns every row.
"""

from __future__ import annotations

import logging

from pyspark.sql import functions as F

from recaug_spark import incremental
from recaug_spark.pipeline import Job
from recaug_spark.prep import clean, split
from recaug_spark.runs import SKIPPED, StageResult
from recaug_spark.schema import SILVER_EVENTS, SILVER_SPLIT, SPLIT

log = logging.getLogger(__name__)


def run(job: Job) -> StageResult:
    """Assign every clean silver event to train or test and label users and items."""
    cfg, lake, ctx = job.cfg, job.lake, job.ctx
    work = incremental.decide(
        lake, cfg.split, job.previous, config_hash=ctx.config_hash, inputs=job.inputs, table=SILVER_EVENTS,
        outputs_exist=lake.exists(SILVER_SPLIT),
    )  # fmt: skip
    if work.nothing_new:
        return StageResult(status=SKIPPED, message=work.reason)
    events = lake.read(SILVER_EVENTS)
    if work.start is not None:
        events = events.where(F.col("event_date") >= F.lit(work.start))
    eligible = ~F.greatest(*[F.col(flag) for flag in clean.ROW_FLAGS])
    cutoff = split.cutoff_day(events.where(eligible), cfg.split) if cfg.split.mode == "global" else None
    assigned = events.transform(split.with_split(cfg.split, cutoff=cutoff, eligible=eligible)).where(F.col("is_clean"))
    # Labels come from training rows only: the rows being assigned, or (incremental) the stored ones.
    train = (
        lake.read(SILVER_SPLIT)
        if work.start is not None
        else assigned.select("split", "event_id", "user_id", "item_id")
    ).where(split.is_training())
    # The split's identity: the config and the training rows' content (not a Delta version number, which
    # a crashed and resumed run, or an incremental one, would not share with an uninterrupted full run).
    xor = train.agg(F.bit_xor(F.xxhash64("event_id"))).first()
    if xor is None:
        raise RuntimeError("the global aggregate of the training rows' hashes returned no row")
    digest = xor[0] or 0
    version = f"{ctx.config_hash}-{digest & 0xFFFFFFFFFFFFFFFF:016x}"
    labelled = (
        assigned.transform(split.with_labels(cfg.split.cold_max, train))
        .withColumn("split_version", F.lit(version))
        .select(*SPLIT.fieldNames())
    )
    counts: dict[str, int] = {}
    if work.start is not None:
        condition = f"split = '{split.TEST}' AND event_date >= '{work.start.isoformat()}'"
        counts["rows_rewritten"] = lake.replace_where(SILVER_SPLIT, labelled, condition)
    else:
        lake.overwrite(SILVER_SPLIT, labelled, partition_by=("split",))
    counts |= split.summary(lake.read(SILVER_SPLIT))
    where = f"cutoff {cutoff:%Y-%m-%d}" if cutoff else f"last {cfg.split.leave_last_n} per user"
    log.info("split (%s; %s): %s", where, work.reason, ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return StageResult(counts=counts, message=f"{where}; {work.reason}")
