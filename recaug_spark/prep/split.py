"""Train/test assignment (a global time cutoff, or each user's last N events) and cold-start labels.

Both preprocess (to fit statistics on the training period only) and the split stage call these
functions on the same rows, so they agree on every assignment. :func:`is_training` and
:func:`training_rows` state the leakage rule (training rows only) for every stage that fits or trains.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.config import SplitConfig

Transform = Callable[[DataFrame], DataFrame]
TRAIN, TEST = "train", "test"
COLD, WARM = "cold", "warm"


def is_training() -> Column:
    """The leakage rule: the row belongs to the training period (``split = train``). Every fitted
    quantity and every trained model reads such rows only: preprocess's fits, the split's labels,
    augment, the GAN and the recommenders of evaluate.

    Example:
        ``events.where(is_training())`` on rows that carry their ``split``.
    """
    return F.col("split") == TRAIN


def training_rows(events: DataFrame, splits: DataFrame) -> DataFrame:
    """The leakage rule for rows without a ``split`` column: the rows of ``events`` whose ``event_id``
    ``splits`` (silver/split) assigns to training.

    Example:
        ``training_rows(lake.read(SILVER_EVENTS), lake.read(SILVER_SPLIT))``
    """
    return events.join(splits.where(is_training()).select("event_id"), "event_id", "left_semi")


def cutoff_day(events: DataFrame, cfg: SplitConfig) -> datetime:
    """The UTC midnight at which the test period starts (global mode).

    ``cutoff_date`` when set; otherwise the first day boundary by which at least ``cutoff_quantile``
    of the events lie, never after the last day (so the test period is not empty). Computed from
    per-day counts, so it is exact and the same on any partitioning.

    Example:
        ``cutoff_quantile=0.8`` over days with 50, 30, 20 events -> the start of the third day.
    """
    if cfg.cutoff_date is not None:
        return _midnight(cfg.cutoff_date)
    days = events.groupBy("event_date").count().orderBy("event_date").collect()
    if not days:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return _midnight(quantile_day([(r.event_date, r["count"]) for r in days], cfg.cutoff_quantile))


def quantile_day(day_counts: list[tuple[date, int]], quantile: float) -> date:
    """The first day D such that the days before D hold at least ``quantile`` of the events.

    Example:
        >>> d = [(date(2024, 1, 1), 50), (date(2024, 1, 2), 30), (date(2024, 1, 3), 20)]
        >>> quantile_day(d, 0.8), quantile_day(d, 0.5), quantile_day(d, 0.99)
        (datetime.date(2024, 1, 3), datetime.date(2024, 1, 2), datetime.date(2024, 1, 3))
    """
    total = sum(count for _, count in day_counts)
    seen = 0
    for index, (_, count) in enumerate(day_counts):
        seen += count
        if seen >= quantile * total and index + 1 < len(day_counts):
            return day_counts[index + 1][0]
    return day_counts[-1][0]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def with_split(cfg: SplitConfig, *, cutoff: datetime | None, eligible: Column | None = None) -> Transform:
    """Add ``split`` (train/test) to the eligible rows (null elsewhere).

    Global mode: ``ts < cutoff`` is train. Leave-last mode: among a user's eligible events ordered by
    (ts, event_id), the last ``leave_last_n`` are test, for users with more than that many; every
    event of a user with at most N is train.
    """
    eligible = F.lit(True) if eligible is None else eligible

    def apply(df: DataFrame) -> DataFrame:
        if cfg.mode == "global":
            assert cutoff is not None
            split = F.when(F.col("ts") < F.lit(cutoff), TRAIN).otherwise(TEST)
            return df.withColumn("split", F.when(eligible, split))
        by_user = Window.partitionBy("user_id")
        latest_first = by_user.orderBy(eligible.desc(), F.col("ts").desc(), F.col("event_id").desc())
        rank = F.row_number().over(latest_first)
        n_user = F.count_if(eligible).over(by_user)
        split = F.when((n_user > cfg.leave_last_n) & (rank <= cfg.leave_last_n), TEST).otherwise(TRAIN)
        return df.withColumn("split", F.when(eligible, split))

    return apply


def with_labels(cold_max: int, train: DataFrame) -> Transform:
    """Label assigned rows from the training rows ``train``: the user's training event count, cold/warm,
    and whether the user and the item occur in training at all (test rows of unseen users or items are
    kept and labelled)."""
    user_counts = train.groupBy("user_id").agg(F.count(F.lit(1)).alias("user_train_events"))
    train_items = train.select("item_id").distinct().withColumn("item_seen", F.lit(True))

    def apply(df: DataFrame) -> DataFrame:
        labelled = (
            df.join(user_counts, "user_id", "left")
            .join(train_items, "item_id", "left")
            .withColumn("user_train_events", F.coalesce("user_train_events", F.lit(0)))
            .withColumn("item_seen", F.coalesce("item_seen", F.lit(False)))
        )
        return labelled.withColumn("user_seen", F.col("user_train_events") > 0).withColumn(
            "user_segment", F.when(F.col("user_train_events") <= cold_max, COLD).otherwise(WARM)
        )

    return apply


def summary(assigned: DataFrame) -> dict[str, int]:
    """Train/test sizes, test users (cold among them), test events of users or items unseen in training."""
    test = F.col("split") == TEST
    row = assigned.agg(
        F.count_if(F.col("split") == TRAIN).alias("train_events"),
        F.count_if(test).alias("test_events"),
        F.count_distinct(F.when(test, F.col("user_id"))).alias("test_users"),
        F.count_distinct(F.when(test & (F.col("user_segment") == COLD), F.col("user_id"))).alias("test_users_cold"),
        F.count_if(test & ~F.col("user_seen")).alias("test_events_unseen_user"),
        F.count_if(test & ~F.col("item_seen")).alias("test_events_unseen_item"),
    ).first()
    assert row is not None
    return {k: int(v) for k, v in row.asDict().items()}
