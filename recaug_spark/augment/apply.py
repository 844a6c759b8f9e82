"""Every configured op applied to the training rows: the augmented rows of one run, before lineage.

Each op of ``augment.ops`` (see augment/recipes.py) writes ``copies`` copies per source row (row ops:
the scalar Arrow UDF) or per user's most recent ``max_history`` training events (sequence ops: the
grouped Arrow UDF), each kept with probability ``p``. Output rows carry the canonical event columns,
the source event, ``aug_ops`` (the op with its parameters) and ``aug_copy``; an augmented event's id
is ``aug:<op index>:<copy>:<source event id>`` (``+n`` for the n-th event inserted after it). Draws are
keyed by (run seed, op, copy, event/user/session), so the rows are the same on any cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment import fit, ops, prior_model, recipes, similar
from recaug_spark.augment import spark as aug
from recaug_spark.augment.frames import COPY, KEY, SOURCE_EVENT_ID, SequenceRecipe
from recaug_spark.augment.ops import ROW, AugmentOp, Fitted, Lookups, Need
from recaug_spark.config import AugmentConfig, SasrecConfig
from recaug_spark.prep.stats import union_by_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inputs:
    """What every op reads: the training rows, their sessions keyed for sequence ops, the fitted
    quantities, what sequence kernels look up on the executors (the similar-items broadcast, the
    reversed-sequence model: when an op needs them) and each item's median price."""

    train: DataFrame
    sequences: DataFrame
    fitted: Fitted
    lookups: Lookups
    item_prices: DataFrame


def augment(
    spark: SparkSession, train: DataFrame, conf: AugmentConfig, *, seed: int, sasrec: SasrecConfig | None = None
) -> DataFrame:
    """Every op's output rows (canonical columns, ``source_event_id``, ``aug_copy``, ``aug_ops``);
    ``sasrec`` (default: SASRec's defaults) trains pseudo_prior's reversed model when an op asks."""
    lookups = Lookups()
    needing = [ops.of(spec).name for spec in conf.ops if recipes.needs_similar(spec)]
    if needing:
        table = similar.top_k(
            train, k=conf.similar_top_k, window=conf.similar_window, gap_minutes=conf.session_gap_minutes
        )
        found = similar.collect(table)
        if not len(found.index) and not train.isEmpty():
            raise similar.none_found("augment.similar_window", needing, window=conf.similar_window)
        similar_items = spark.sparkContext.broadcast(found)
        basis = "sessions" if conf.similar_window is None else f"histories, at most {conf.similar_window} apart"
        log.info("augment: %d items with similar items (top %d, co-occurring in %s)", len(found.index),
                 conf.similar_top_k, basis)  # fmt: skip
        lookups = replace(lookups, similar=lambda: similar_items.value)
    priors = [spec for spec in conf.ops if recipes.needs_prior(spec)]
    if priors:
        steps = max(getattr(spec, "steps", 1) for spec in priors)
        model = prior_model.train_reversed(train, sasrec or SasrecConfig(), steps=steps, seed=seed)
        lookups = replace(lookups, prior=prior_model.broadcast(spark, model))
    inputs = Inputs(
        train=train,
        sequences=aug.keyed_sequences(train, gap_minutes=conf.session_gap_minutes),
        fitted=fit.fit(train, conf.ops),
        lookups=lookups,
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
    """Copies of each training row with the op's columns (and attributes, as level indices) transformed
    (the generic column UDF)."""
    rows = aug.expand_copies(aug.with_key(inputs.train, "event_id"), spec.copies)
    attributes = list(zip(ops.of(spec).attributes_of(spec), recipes.level_columns(spec), strict=True))
    for attr, level in attributes:
        rows = rows.withColumn(level, _encode(attr, inputs.fitted))
    names = recipes.columns(spec)
    label = recipes.label(index, spec)
    if spec.p < 1:
        rows = rows.where(aug.kept(seed=seed, label=label, p=spec.p))
    op = aug.column_op(recipes.column_kernel(spec, inputs.fitted), names, seed=seed, label=label)
    result = rows.withColumn("_r", op)
    for name, output in zip(names, aug.column_outputs(F.col("_r"), len(names)), strict=True):
        result = result.withColumn(name, _restore(output, result.schema[name].dataType))
    for attr, level in attributes:
        result = result.withColumn("attrs", _decode(attr, level, inputs.fitted))
    return result.withColumn(SOURCE_EVENT_ID, F.col("event_id")).drop("_r", KEY, *recipes.level_columns(spec))


def _levels(attr: str, fitted: Fitted) -> Column:
    return F.array(*[F.lit(v) for v in fitted.levels[attr].values])


def _encode(attr: str, fitted: Fitted) -> Column:
    """The attribute's level index (0 = most frequent), null when missing or not among the levels."""
    position = F.array_position(_levels(attr, fitted), F.col("attrs").getItem(attr))
    return F.when(position > 0, (position - 1).cast("double"))


def _decode(attr: str, level: str, fitted: Fitted) -> Column:
    """``attrs`` with ``attr`` set to the level drawn (column ``level``; unchanged where the value was not a level)."""
    drawn = F.element_at(_levels(attr, fitted), F.col(level).cast("int") + 1)
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
    event takes its other columns from its source row; when the op needs item prices (it gives events
    other items: substitute, insert, a mask token), an event whose item changed takes that item's
    median training price instead of the source's."""
    recipe = SequenceRecipe(
        seed=seed, label=recipes.label(index, spec), p=spec.p, copies=spec.copies, max_history=conf.max_history,
        eligible=recipes.eligible(spec, conf.short_max),
    )  # fmt: skip
    edited = aug.sequence_op(inputs.sequences, recipes.frame_edit(spec, inputs.lookups), recipe)
    sources = inputs.train.withColumnRenamed("event_id", SOURCE_EVENT_ID).withColumnRenamed("item_id", "_source_item")
    joined = edited.select("event_id", SOURCE_EVENT_ID, "item_id", "ts", COPY).join(sources.drop("ts"), SOURCE_EVENT_ID)
    if Need.ITEM_PRICES not in ops.of(spec).needs:
        return joined.drop("_source_item")
    joined = joined.join(inputs.item_prices, "item_id", "left")
    price = F.when(F.col("item_id") == F.col("_source_item"), F.col("price")).otherwise(F.col("_item_price"))
    return joined.withColumn("price", price).drop("_source_item", "_item_price")
