"""Augment's tables: the training rows it reads (and their fingerprint), and the lineage and per-op
counts of what it writes to gold/augmented_events.

Only training rows are read (the leakage rule, prep/split.py: silver/split ``split = train`` joined to
silver/events), so nothing of the test period is transformed, and every fitted quantity (column
spread, quantiles, attribute levels, item similarity) comes from the training rows too.

Output rows carry ``aug_run_id`` and ``is_synthetic`` besides the columns augment/apply.py writes. The
table is partitioned by ``aug_run_id``: a run replaces its own partition (a rerun with the same run id
is idempotent), the newest ``keep_runs`` runs are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment import ops
from recaug_spark.augment.frames import CHANGED
from recaug_spark.augment.ops import AugmentOp
from recaug_spark.lake import Lake
from recaug_spark.prep import split
from recaug_spark.runs import RunContext
from recaug_spark.schema import AUGMENT_RUN, AUGMENTED_EVENTS, GOLD_AUGMENTED, SILVER_EVENTS, SILVER_SPLIT

READ = ("event_id", "user_id", "item_id", "event_type", "ts", "quantity", "price", "session_id", "source", "attrs")


def read_training_rows(lake: Lake, specs: Sequence[AugmentOp]) -> DataFrame:
    """The training events (silver/split ``split = train``) with the columns the stage reads: the
    canonical ones and every numeric column an op rewrites."""
    events = lake.read(SILVER_EVENTS)
    wanted = list(dict.fromkeys([*READ, *extra_columns(specs)]))
    present = [c for c in wanted if c in events.columns]
    return split.training_rows(events, lake.read(SILVER_SPLIT)).select(*present)


def extra_columns(specs: Sequence[AugmentOp]) -> list[str]:
    """Numeric columns rewritten by row ops that are not canonical (kept in the output)."""
    rewritten = [c for spec in specs for c in ops.of(spec).columns_of(spec)]
    return [c for c in dict.fromkeys(rewritten) if c not in AUGMENTED_EVENTS.fieldNames()]


def fingerprint(train: DataFrame) -> dict[str, int]:
    """Row count and an order-free 64-bit digest (xor of row hashes) of the training rows."""
    hashed = [F.to_json(c) if isinstance(train.schema[c].dataType, T.MapType) else F.col(c) for c in train.columns]
    row = train.agg(F.count(F.lit(1)).alias("rows"), F.bit_xor(F.xxhash64(*hashed)).alias("digest")).first()
    assert row is not None
    return {"train_rows": int(row["rows"]), "train_fingerprint": int(row["digest"] or 0)}


def output_columns(df: DataFrame) -> list[str]:
    """The columns written: the canonical ones in table order, then the extra ones an op rewrote."""
    canonical = [f.name for f in AUGMENTED_EVENTS.fields if f.name in df.columns]
    extra = [c for c in df.columns if c not in AUGMENTED_EVENTS.fieldNames() and c not in (CHANGED, "session")]
    return [*canonical, *extra]


def lineage(ctx: RunContext) -> list[Column]:
    """The run's columns: ``batch_id`` and ``ingested_at`` from the run, ``aug_run_id``, ``is_synthetic``."""
    return [
        F.lit(ctx.run_id).alias("batch_id"),
        F.lit(ctx.started_at).cast("timestamp").alias("ingested_at"),
        F.lit(ctx.run_id).alias(AUGMENT_RUN),
        F.lit(True).alias("is_synthetic"),
    ]


def per_op_counts(lake: Lake, run_id: str) -> dict[str, int]:
    """Rows written per op (keyed ``op<index>_<name>``)."""
    rows = (
        lake.read(GOLD_AUGMENTED).where(F.col(AUGMENT_RUN) == run_id).groupBy(F.col("aug_ops")[0].alias("op")).count()
    )
    return {"op" + r["op"].split("(")[0].replace(":", "_"): int(r["count"]) for r in rows.collect()}
