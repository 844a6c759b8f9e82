"""gold/synthetic_events rows: a generator's output checked against ``generate.constraints`` and mapped
to canonical columns (and a bounded sample of them read back as the GAN's columns).

The artifact's bytes are broadcast and ``spark.range(batches)`` is mapped to rows (gan/spark.py), so
the output is the same on any partitioning. ``event_type``, ``price`` and ``quantity`` come from the
generator, ``ts`` from its hour and weekday (a training date with that weekday, a random minute),
items and users from the plan (gan/plan.py); a new user gets an id ``syn:...`` (``generate.users:
new``). The other generated columns are kept as strings in ``attrs``. Rows failing the constraints
are counted and left out. The table is partitioned by ``gen_run_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import GanConfig, GenerateConfig
from recaug_spark.gan import generate as gen
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.plan import make_plan
from recaug_spark.gan.spark import synthesize
from recaug_spark.lake import Lake
from recaug_spark.runs import RunContext
from recaug_spark.schema import GENERATE_RUN, GOLD_SYNTHETIC


@dataclass(frozen=True)
class Synthetic:
    """A run's synthetic rows in gold/synthetic_events columns; ``offered`` counts the rows generated and
    ``kept`` those meeting the constraints, once a write has consumed ``rows``."""

    rows: DataFrame
    offered: Observation
    kept: Observation


def synthetic_rows(
    spark: SparkSession,
    lake: Lake,
    view: DataFrame,
    artifact: GeneratorArtifact,
    files: dict[str, bytes],
    *,
    conf: GenerateConfig,
    ctx: RunContext,
    version: str,
    seed: int,
) -> Synthetic:
    """``generate.rows`` rows of the generator (``files``: its artifact's bytes), planned from ``view`` (its
    training rows), checked and in canonical columns.

    Example:
        ``lake.replace_where(GOLD_SYNTHETIC, synthetic_rows(...).rows, f"{GENERATE_RUN} = '{run_id}'")``
    """
    plan = make_plan(lake, view, artifact, conf, version=version, digest=gen.digest_of(files), seed=seed)
    partitions = conf.partitions or spark.sparkContext.defaultParallelism
    rows = synthesize(spark, spark.sparkContext.broadcast(files), plan, partitions=min(partitions, plan.batches))
    checked = rows.withColumn("_ok", constraint(conf))
    offered, kept = Observation("generated"), Observation("kept")
    count = F.count(F.lit(1)).alias("rows")
    out = (
        checked.observe(offered, count)
        .where("_ok")
        .observe(kept, count)
        .select(*canonical(artifact.transformer.columns, ctx, version))
    )
    return Synthetic(out, offered, kept)


def constraint(conf: GenerateConfig) -> Column:
    """True for rows with a canonical event type, an item, and every configured constraint met."""
    checks = [F.col("event_type").isin("view", "cart", "fav", "purchase"), F.col("item_id").isNotNull()]
    checks += [F.expr(rule) for rule in conf.constraints]
    ok = checks[0]
    for check in checks[1:]:
        ok = ok & F.coalesce(check, F.lit(False))
    return ok


def canonical(columns: Sequence[str], ctx: RunContext, version: str) -> list[str | Column]:
    """BATCH columns -> gold/synthetic_events columns (the other GAN columns in ``attrs``)."""
    extra = gen.extra_columns(columns)
    pairs = [x for i, name in enumerate(extra) for x in (F.lit(name), F.col(f"gan_{i}"))]
    attrs = F.map_filter(F.create_map(*pairs), lambda _, v: v.isNotNull()) if pairs else F.lit(None)
    ts = F.timestamp_micros("ts_us")
    return [
        "event_id", "user_id", "item_id", "event_type", ts.alias("ts"), F.to_date(ts).alias("event_date"),
        "quantity", "price", F.lit(None).cast("string").alias("session_id"), F.lit("gan").alias("source"),
        F.lit(ctx.run_id).alias("batch_id"), F.lit(ctx.started_at).cast("timestamp").alias("ingested_at"),
        attrs.cast("map<string,string>").alias("attrs"), F.lit(version).alias("generator_version"),
        F.lit(ctx.run_id).alias(GENERATE_RUN), F.lit(True).alias("is_synthetic"),
    ]  # fmt: skip


def synthetic_sample(lake: Lake, run_id: str, gan: GanConfig, *, limit: int) -> pd.DataFrame:
    """A bounded, deterministic sample of a run's synthetic rows as the GAN's columns."""
    rows = lake.read(GOLD_SYNTHETIC).where(F.col(GENERATE_RUN) == run_id)
    picked = rows.orderBy(F.xxhash64("event_id"), "event_id").limit(limit)
    selected = [F.col("event_id")]
    continuous = gan_table.chosen(gan)[0]
    for i, name in enumerate(gan_table.names(gan)):
        value = F.col(name) if name in gen.CANONICAL else F.col("attrs").getItem(name)
        selected.append(value.cast("double" if name in continuous else "string").alias(f"c{i}"))
    return gan_table.to_pandas(picked.select(*selected), gan)
