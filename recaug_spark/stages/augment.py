"""Stage augment: training rows -> gold/augmented_events, one recipe per configured op.

Only training rows are read (silver/split ``split = train`` joined to silver/events), so nothing of the
test period is transformed, and every fitted quantity (column spread, quantiles, attribute levels,
item similarity) comes from the training rows too.

Each op of ``augment.ops`` (see augment/recipes.py) writes ``copies`` copies per source row (row ops:
the scalar Arrow UDF) or per user's most recent ``max_history`` training events (sequence ops: the
grouped Arrow UDF), each kept with probability ``p``. Output rows carry the canonical event columns,
the source event, ``aug_ops`` (the op with its parameters), ``aug_copy``, ``aug_run_id`` and
``is_synthetic``; an augmented event's id is ``aug:<op index>:<copy>:<source event id>`` (``+n`` for
the n-th event inserted after it). Draws are keyed by (run seed, op, copy, event/user/session), so
the table is the same on any cluster.

The table is partitioned by ``aug_run_id``: a run replaces its own partition (a rerun with the same
run id is idempotent), the newest ``keep_runs`` runs are kept. The stage is skipped when the training
rows (a fingerprint of the columns it reads) and the augment config are those of the last run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.broadcast import Broadcast
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment import fit, recipes, similar
from recaug_spark.augment import spark as aug
from recaug_spark.augment.frames import CHANGED, COPY, KEY, SOURCE_EVENT_ID, SequenceRecipe
from recaug_spark.augment.recipes import LEVEL, ROW, Fitted
from recaug_spark.augment.sequence import SimilarItems
from recaug_spark.config import AugmentConfig, AugmentOp, CategoricalJitterOp, RecaugConfig
from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.prep import split
from recaug_spark.prep.stats import union_by_name
from recaug_spark.runs import SKIPPED, RunContext, StageResult, last_succeeded
from recaug_spark.schema import AUGMENTED_EVENTS, GOLD_AUGMENTED, SILVER_EVENTS, SILVER_SPLIT
from recaug_spark.session import storage_level

log = logging.getLogger(__name__)

INPUTS = (SILVER_EVENTS, SILVER_SPLIT)
RUN = "aug_run_id"
READ = ("event_id", "user_id", "item_id", "event_type", "ts", "quantity", "price", "session_id", "source", "attrs")


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Augment the training rows with every configured op; skip when nothing changed."""
    for table in INPUTS:
        if not lake.exists(table):
            raise InputError(f"{lake.path(table)} does not exist; run `recaug preprocess` and `recaug split` first")
    inputs = lake.versions(INPUTS)
    ops = cfg.augment.ops
    if not ops:
        return StageResult(status=SKIPPED, message="augment.ops is empty: nothing to do", input_versions=inputs)
    train = training_rows(lake, ops)
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
        stamped = augmented.select(*_output_columns(augmented), *_lineage(ctx))
        lake.ensure(GOLD_AUGMENTED, AUGMENTED_EVENTS, partition_by=(RUN,))
        counts["rows_written"] = lake.replace_where(
            GOLD_AUGMENTED, stamped, f"{RUN} = '{ctx.run_id}'", merge_schema=True
        )
        counts |= _per_op(lake, ctx.run_id)
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


def training_rows(lake: Lake, ops: Sequence[AugmentOp]) -> DataFrame:
    """The training events (silver/split ``split = train``) with the columns the stage reads: the
    canonical ones and every numeric column an op rewrites."""
    events = lake.read(SILVER_EVENTS)
    wanted = list(dict.fromkeys([*READ, *_extra_columns(ops)]))
    present = [c for c in wanted if c in events.columns]
    train_ids = lake.read(SILVER_SPLIT).where(F.col("split") == split.TRAIN).select("event_id")
    return events.join(train_ids, "event_id", "left_semi").select(*present)


def fingerprint(train: DataFrame) -> dict[str, int]:
    """Row count and an order-free 64-bit digest (xor of row hashes) of the training rows."""
    hashed = [F.to_json(c) if isinstance(train.schema[c].dataType, T.MapType) else F.col(c) for c in train.columns]
    row = train.agg(F.count(F.lit(1)).alias("rows"), F.bit_xor(F.xxhash64(*hashed)).alias("digest")).first()
    assert row is not None
    return {"train_rows": int(row["rows"]), "train_fingerprint": int(row["digest"] or 0)}


@dataclass(frozen=True)
class Inputs:
    """What every op reads: the training rows, their sessions keyed for sequence ops, the fitted
    quantities, the similar-items broadcast (when an op needs it) and each item's median price."""

    train: DataFrame
    sequences: DataFrame
    fitted: Fitted
    similar_items: Broadcast[SimilarItems] | None
    item_prices: DataFrame


def augment(spark: SparkSession, train: DataFrame, conf: AugmentConfig, *, seed: int) -> DataFrame:
    """Every op's output rows (canonical columns, ``source_event_id``, ``aug_copy``, ``aug_ops``)."""
    similar_items = None
    if any(recipes.needs_similar(spec) for spec in conf.ops):
        table = similar.top_k(train, k=conf.similar_top_k, gap_minutes=conf.session_gap_minutes)
        similar_items = spark.sparkContext.broadcast(similar.collect(table))
        log.info("augment: %d items with similar items (top %d)", len(similar_items.value.index), conf.similar_top_k)
    inputs = Inputs(
        train=train,
        sequences=aug.keyed_sequences(train, gap_minutes=conf.session_gap_minutes),
        fitted=fit.fit(train, conf.ops),
        similar_items=similar_items,
        item_prices=train.groupBy("item_id").agg(F.percentile("price", F.lit(0.5)).alias("_item_price")),
    )
    frames = []
    for index, spec in enumerate(conf.ops):
        if recipes.shape(spec) == ROW:
            frame = _row_op(inputs, index, spec, seed=seed)
        else:
            frame = _sequence_op(inputs, index, spec, conf, seed=seed)
        frames.append(
            frame.withColumn("event_id", F.concat_ws(":", F.lit("aug"), F.lit(str(index)), COPY, "event_id"))
            .withColumn("event_date", F.to_date("ts"))
            .withColumn("aug_ops", F.array(F.lit(recipes.descriptor(index, spec))))
        )
    return union_by_name(frames)


def _row_op(inputs: Inputs, index: int, spec: AugmentOp, *, seed: int) -> DataFrame:
    """Copies of each training row with the op's columns transformed (the generic column UDF)."""
    rows = aug.expand_copies(aug.with_key(inputs.train, "event_id"), spec.copies)
    if isinstance(spec, CategoricalJitterOp):
        rows = rows.withColumn(LEVEL, _encode(spec.attr, inputs.fitted))
    names = recipes.columns(spec)
    label = recipes.label(index, spec)
    if spec.p < 1:
        rows = rows.where(aug.kept(seed=seed, label=label, p=spec.p))
    op = aug.column_op(recipes.column_kernel(spec, inputs.fitted), names, seed=seed, label=label)
    result = rows.withColumn("_r", op)
    for name, output in zip(names, aug.column_outputs(F.col("_r"), len(names)), strict=True):
        result = result.withColumn(name, _restore(output, result.schema[name].dataType))
    if isinstance(spec, CategoricalJitterOp):
        result = result.withColumn("attrs", _decode(spec.attr, inputs.fitted))
    return result.withColumn(SOURCE_EVENT_ID, F.col("event_id")).drop("_r", KEY, LEVEL)


def _levels(attr: str, fitted: Fitted) -> Column:
    return F.array(*[F.lit(v) for v in fitted.levels[attr].values])


def _encode(attr: str, fitted: Fitted) -> Column:
    """The attribute's level index (0 = most frequent), null when missing or not among the levels."""
    position = F.array_position(_levels(attr, fitted), F.col("attrs").getItem(attr))
    return F.when(position > 0, (position - 1).cast("double"))


def _decode(attr: str, fitted: Fitted) -> Column:
    """``attrs`` with ``attr`` set to the level drawn (unchanged where the value was not a level)."""
    drawn = F.element_at(_levels(attr, fitted), F.col(LEVEL).cast("int") + 1)
    kept = F.map_filter("attrs", lambda k, _: k != F.lit(attr))
    return F.when(drawn.isNull(), F.col("attrs")).otherwise(F.map_concat(kept, F.create_map(F.lit(attr), drawn)))


def _restore(value: Column, data_type: T.DataType) -> Column:
    """A kernel output back in its column's type: NaN -> null, integral types rounded."""
    clean = F.when(~F.isnan(value), value)
    if isinstance(data_type, T.IntegralType):
        return F.round(clean).cast(data_type)
    return clean.cast(data_type)


def _sequence_op(inputs: Inputs, index: int, spec: AugmentOp, conf: AugmentConfig, *, seed: int) -> DataFrame:
    """Edited copies of each user's recent training sequence (the generic grouped UDF). Each output
    event takes its other columns from its source row; an event whose item changed (substitute,
    insert, a mask token) takes that item's median training price instead of the source's."""
    similar_items = inputs.similar_items

    def lookup() -> SimilarItems:
        assert similar_items is not None, "substitute and insert need the similar-items broadcast"
        return similar_items.value

    recipe = SequenceRecipe(
        seed=seed, label=recipes.label(index, spec), p=spec.p, copies=spec.copies, max_history=conf.max_history,
        eligible=recipes.eligible(spec, conf.short_max),
    )  # fmt: skip
    edited = aug.sequence_op(inputs.sequences, recipes.frame_edit(spec, lookup), recipe)
    sources = inputs.train.withColumnRenamed("event_id", SOURCE_EVENT_ID).withColumnRenamed("item_id", "_source_item")
    joined = (
        edited.select("event_id", SOURCE_EVENT_ID, "item_id", "ts", COPY)
        .join(sources.drop("ts"), SOURCE_EVENT_ID)
        .join(inputs.item_prices, "item_id", "left")
    )
    price = F.when(F.col("item_id") == F.col("_source_item"), F.col("price")).otherwise(F.col("_item_price"))
    return joined.withColumn("price", price).drop("_source_item", "_item_price")


def _extra_columns(ops: Sequence[AugmentOp]) -> list[str]:
    """Numeric columns rewritten by row ops that are not canonical (kept in the output)."""
    rewritten = [c for spec in ops if recipes.shape(spec) == ROW for c in recipes.columns(spec) if c != LEVEL]
    return [c for c in dict.fromkeys(rewritten) if c not in AUGMENTED_EVENTS.fieldNames()]


def _output_columns(df: DataFrame) -> list[str]:
    canonical = [f.name for f in AUGMENTED_EVENTS.fields if f.name in df.columns]
    extra = [c for c in df.columns if c not in AUGMENTED_EVENTS.fieldNames() and c not in (CHANGED, "session")]
    return [*canonical, *extra]


def _lineage(ctx: RunContext) -> list[Column]:
    return [
        F.lit(ctx.run_id).alias("batch_id"),
        F.lit(ctx.started_at).cast("timestamp").alias("ingested_at"),
        F.lit(ctx.run_id).alias(RUN),
        F.lit(True).alias("is_synthetic"),
    ]


def _per_op(lake: Lake, run_id: str) -> dict[str, int]:
    """Rows written per op (keyed ``op<index>_<name>``)."""
    rows = lake.read(GOLD_AUGMENTED).where(F.col(RUN) == run_id).groupBy(F.col("aug_ops")[0].alias("op")).count()
    return {"op" + r["op"].split("(")[0].replace(":", "_"): int(r["count"]) for r in rows.collect()}
