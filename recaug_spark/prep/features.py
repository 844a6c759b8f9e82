"""User and item features and implicit feedback strength, from the clean training rows only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.config import EVENT_TYPES, EventType, FeedbackConfig

SECONDS_PER_DAY = 86_400.0


def _type_counts() -> list[Column]:
    return [F.count_if(F.col("event_type") == t).alias(f"n_{t}") for t in EVENT_TYPES]


def user_features(train: DataFrame, users: DataFrame | None, *, as_of: datetime, top_categories: int) -> DataFrame:
    """Per user: counts per event type, first/last event, recency (days before ``as_of``), active days,
    mean and median price, the ``top_categories`` most frequent categories (ties by name), and the
    profile fields of bronze/users (segment, attrs)."""
    stats = train.groupBy("user_id").agg(
        F.count(F.lit(1)).alias("n_events"),
        *_type_counts(),
        F.min("ts").alias("first_ts"),
        F.max("ts").alias("last_ts"),
        F.count_distinct("event_date").alias("active_days"),
        F.avg("price").alias("mean_price"),
        F.percentile("price", 0.5).alias("median_price"),
    )
    stats = stats.withColumn(
        "recency_days", (F.lit(as_of).cast("long") - F.col("last_ts").cast("long")) / SECONDS_PER_DAY
    )
    per_category = train.where(F.col("category").isNotNull()).groupBy("user_id", "category").count()
    ranked = per_category.withColumn(
        "rank", F.row_number().over(Window.partitionBy("user_id").orderBy(F.desc("count"), "category"))
    ).where(F.col("rank") <= top_categories)
    top = ranked.groupBy("user_id").agg(
        F.transform(F.sort_array(F.collect_list(F.struct("rank", "category"))), lambda s: s["category"]).alias(
            "top_categories"
        )
    )
    out = stats.join(top, "user_id", "left")
    if users is not None:
        out = out.join(users.select("user_id", "segment", F.col("attrs").alias("profile")), "user_id", "left")
    return out


def item_features(train: DataFrame) -> DataFrame:
    """Per item: popularity (events, distinct users), counts per type, view -> purchase conversion,
    median price, and that price's percentile within the item's category."""
    stats = train.groupBy("item_id").agg(
        F.max("category").alias("category"),  # an item has one category; max is deterministic
        F.count(F.lit(1)).alias("n_events"),
        F.count_distinct("user_id").alias("n_users"),
        *_type_counts(),
        F.percentile("price", 0.5).alias("median_price"),
    )
    conversion = F.when(F.col("n_view") > 0, F.col("n_purchase") / F.col("n_view"))
    # Items without a price rank apart (and get null), so they never shift the priced items' ranks.
    priced = Window.partitionBy("category", F.col("median_price").isNull()).orderBy("median_price")
    percentile = F.when(F.col("median_price").isNotNull(), F.percent_rank().over(priced))
    return stats.withColumn("view_to_purchase", conversion).withColumn("price_percentile_in_category", percentile)


def event_weight(weights: Mapping[EventType, float]) -> Column:
    """The feedback weight of each row's ``event_type`` (0 for a type without one)."""
    table = F.create_map(*[F.lit(x) for pair in sorted(weights.items()) for x in pair])
    return F.coalesce(F.try_element_at(table, F.col("event_type")), F.lit(0.0))


def feedback(train: DataFrame, cfg: FeedbackConfig, *, as_of: datetime) -> DataFrame:
    """Implicit feedback per (user, item): sum of event weights, each decayed by 0.5^(age / half_life).

    Ages are measured in days before ``as_of`` (the end of the training period).
    """
    weight = event_weight(cfg.weights)
    if cfg.half_life_days is not None:
        age_days = (F.lit(as_of).cast("long") - F.col("ts").cast("long")) / SECONDS_PER_DAY
        weight = weight * F.pow(F.lit(0.5), age_days / cfg.half_life_days)
    return train.groupBy("user_id", "item_id").agg(
        F.sum(weight).alias("strength"),
        F.count(F.lit(1)).alias("n_events"),
        F.max("ts").alias("last_ts"),
    )
