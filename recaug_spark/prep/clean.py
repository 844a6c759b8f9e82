"""Cleaning rules: each adds a ``flag_<rule>`` column (or caps a value and marks it); none drops a row.

Row rules (duplicates, time range) need no statistics. Rules with thresholds (bot users, extreme
values) are fit on the clean training rows only and stored like every other fitted statistic
(see stats.py), so the same cleaning applies to new data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import BotRule, CleanConfig, DuplicateRule, ExtremeRule, TimeRangeRule
from recaug_spark.prep import stats

Transform = Callable[[DataFrame], DataFrame]

FLAG_DUPLICATE = "flag_duplicate"
FLAG_NEAR_DUPLICATE = "flag_near_duplicate"
FLAG_OUT_OF_RANGE = "flag_out_of_range"
FLAG_BOT_USER = "flag_bot_user"
FLAG_EXTREME = "flag_extreme"
ROW_FLAGS = (FLAG_DUPLICATE, FLAG_NEAR_DUPLICATE, FLAG_OUT_OF_RANGE)
FLAG_OF = {
    "duplicate": FLAG_DUPLICATE,
    "near_duplicate": FLAG_NEAR_DUPLICATE,
    "out_of_range": FLAG_OUT_OF_RANGE,
    "bot_user": FLAG_BOT_USER,
    "extreme": FLAG_EXTREME,
}


def flag_duplicates(rule: DuplicateRule) -> Transform:
    """Flag repeats of the same (user, item, event type).

    Ordered by (ts, event_id), a row with the same ts as the previous one is an exact duplicate; one
    at most ``near_seconds`` after it is a near duplicate. The first of a run stays unflagged.
    """

    def apply(df: DataFrame) -> DataFrame:
        if not rule.enabled:
            return df.withColumn(FLAG_DUPLICATE, F.lit(False)).withColumn(FLAG_NEAR_DUPLICATE, F.lit(False))
        order = Window.partitionBy("user_id", "item_id", "event_type").orderBy("ts", "event_id")
        gap_us = F.unix_micros("ts") - F.lag(F.unix_micros("ts")).over(order)
        return df.withColumn(FLAG_DUPLICATE, F.coalesce(gap_us == 0, F.lit(False))).withColumn(
            FLAG_NEAR_DUPLICATE, F.coalesce((gap_us > 0) & (gap_us <= rule.near_seconds * 1e6), F.lit(False))
        )

    return apply


def flag_out_of_range(rule: TimeRangeRule) -> Transform:
    """Flag events before ``valid_from`` or at/after ``valid_until``."""

    def apply(df: DataFrame) -> DataFrame:
        outside = F.lit(False)
        if rule.enabled and rule.valid_from is not None:
            outside = outside | (F.col("ts") < F.lit(rule.valid_from))
        if rule.enabled and rule.valid_until is not None:
            outside = outside | (F.col("ts") >= F.lit(rule.valid_until))
        return df.withColumn(FLAG_OUT_OF_RANGE, outside)

    return apply


@dataclass(frozen=True)
class BotThresholds:
    """Limits above which a user's training activity is bot-like (in events)."""

    total_events: float
    peak_per_minute: float


def user_activity(rows: DataFrame) -> DataFrame:
    """Per user: total events and the busiest minute's event count."""
    per_minute = rows.groupBy("user_id", F.date_trunc("minute", "ts").alias("minute")).count()
    peak = per_minute.groupBy("user_id").agg(F.max("count").alias("peak_per_minute"))
    total = rows.groupBy("user_id").agg(F.count(F.lit(1)).alias("total_events"))
    return total.join(peak, "user_id")


def fit_bot_thresholds(activity: DataFrame, rule: BotRule) -> BotThresholds | None:
    """Robust limits from :func:`user_activity`: expm1(median + k MAD) of log1p(measure), over users with
    >= min_events events (MAD unscaled), and at least ``min_ratio`` times the median measure.

    Returns None when no user has enough events to judge.
    """
    activity = activity.where(F.col("total_events") >= rule.min_events)
    limits = {}
    for measure, k in (("total_events", rule.total_mad_k), ("peak_per_minute", rule.rate_mad_k)):
        logged = activity.select(F.log1p(measure).alias("x"))
        center = logged.agg(F.percentile("x", 0.5)).first()
        if center is None or center[0] is None:
            return None
        mad = logged.agg(F.percentile(F.abs(F.col("x") - center[0]), 0.5)).first()
        assert mad is not None
        limits[measure] = max(math.expm1(center[0] + k * (mad[0] or 0.0)), rule.min_ratio * math.expm1(center[0]))
    if rule.max_events_per_minute is not None:
        limits["peak_per_minute"] = min(limits["peak_per_minute"], float(rule.max_events_per_minute))
    return BotThresholds(limits["total_events"], limits["peak_per_minute"])


@dataclass(frozen=True)
class BotFit:
    """The fitted bot rule: the limits (None when nothing could be judged) and the users beyond them
    (user_id, total_events, peak_per_minute)."""

    limits: BotThresholds | None
    users: DataFrame

    def stats_rows(self, spark: SparkSession) -> DataFrame:
        """silver/norm_stats rows: one per bot user (its measures) and the limits as the overall row."""
        limits = {} if self.limits is None else vars(self.limits)
        return stats.rows(spark, kind="bot", name="bot_users", keys=("user_id",), by_key=self.users,
                          overall=limits, names=BOT_MEASURES)  # fmt: skip

    @classmethod
    def load(cls, table: DataFrame, key_types: T.StructType) -> BotFit:
        """The fit written by :meth:`stats_rows`."""
        loaded = stats.load(table, kind="bot", name="bot_users", keys=("user_id",), names=BOT_MEASURES,
                            key_types=key_types)  # fmt: skip
        assert loaded.by_key is not None
        values = loaded.overall
        limits = None if None in values.values() else BotThresholds(**values)  # type: ignore[arg-type]
        return cls(limits, loaded.by_key)


BOT_MEASURES = ("total_events", "peak_per_minute")


def fit_bots(train_rows: DataFrame, rule: BotRule) -> BotFit:
    """The limits and the users whose training activity exceeds them (none when the rule is off)."""
    activity = user_activity(train_rows).persist()
    limits = fit_bot_thresholds(activity, rule) if rule.enabled else None
    if limits is None:
        return BotFit(None, activity.limit(0))
    too_much = (F.col("total_events") > limits.total_events) | (F.col("peak_per_minute") > limits.peak_per_minute)
    return BotFit(limits, activity.where((F.col("total_events") >= rule.min_events) & too_much))


def flag_bot_users(bots: BotFit) -> Transform:
    """Flag every event of a bot user."""

    def apply(df: DataFrame) -> DataFrame:
        marked = bots.users.select("user_id").withColumn(FLAG_BOT_USER, F.lit(True))
        return df.join(F.broadcast(marked), "user_id", "left").withColumn(
            FLAG_BOT_USER, F.coalesce(F.col(FLAG_BOT_USER), F.lit(False))
        )

    return apply


@dataclass(frozen=True)
class Fences:
    """Fitted fences: per partition key (``lo_<col>``, ``hi_<col>``) and overall (the fallback)."""

    by_key: DataFrame | None
    overall: dict[str, tuple[float | None, float | None]]

    def stats_rows(self, spark: SparkSession, rule: ExtremeRule) -> DataFrame:
        """silver/norm_stats rows: ``lo_<col>`` and ``hi_<col>`` per partition key and overall."""
        overall = {
            f"{side}_{c}": bounds[i] for c, bounds in self.overall.items() for i, side in enumerate(("lo", "hi"))
        }
        keys = rule.partition_by if self.by_key is not None else ()
        return stats.rows(spark, kind="fence", name="extremes", keys=keys, by_key=self.by_key, overall=overall,
                          names=list(overall))  # fmt: skip

    @classmethod
    def load(cls, table: DataFrame, rule: ExtremeRule, columns: Sequence[str], key_types: T.StructType) -> Fences:
        """The fences written by :meth:`stats_rows`."""
        names = [f"{side}_{c}" for c in columns for side in ("lo", "hi")]
        loaded = stats.load(table, kind="fence", name="extremes", keys=rule.partition_by, names=names,
                            key_types=key_types)  # fmt: skip
        overall = {c: (loaded.overall[f"lo_{c}"], loaded.overall[f"hi_{c}"]) for c in columns}
        return cls(loaded.by_key, overall)


def fit_fences(train_rows: DataFrame, rule: ExtremeRule, columns: Sequence[str]) -> Fences:
    """Fences per partition and overall (exact percentiles).

    IQR: [Q1 - k IQR, Q3 + k IQR]; where the IQR is 0 (heavily tied values, e.g. quantities that are
    nearly always 1) the quantile fences are used instead, so ties never cap every other value.
    Quantile: [lower_quantile, upper_quantile].
    """
    aggregates = []
    for column in columns:
        q = F.percentile(column, [0.25, 0.75, rule.lower_quantile, rule.upper_quantile])
        if rule.method == "iqr":
            iqr = q[1] - q[0]
            lo = F.when(iqr > 0, q[0] - rule.iqr_k * iqr).otherwise(q[2])
            hi = F.when(iqr > 0, q[1] + rule.iqr_k * iqr).otherwise(q[3])
        else:
            lo, hi = q[2], q[3]
        aggregates += [lo.alias(f"lo_{column}"), hi.alias(f"hi_{column}")]
    overall_row = train_rows.agg(*aggregates).first()
    assert overall_row is not None
    overall = {c: (overall_row[f"lo_{c}"], overall_row[f"hi_{c}"]) for c in columns}
    by_key = train_rows.groupBy(*rule.partition_by).agg(*aggregates) if rule.partition_by else None
    return Fences(by_key, overall)


def apply_fences(fences: Fences, rule: ExtremeRule, columns: Sequence[str]) -> Transform:
    """Cap values to their partition's fences (``capped_<col>`` marks it) or flag the row ``extreme``.

    A partition without fences (not seen in training) uses the overall ones.
    """

    def apply(df: DataFrame) -> DataFrame:
        if not rule.enabled or not columns:
            return df.withColumn(FLAG_EXTREME, F.lit(False))
        out = df.join(fences.by_key, list(rule.partition_by), "left") if fences.by_key is not None else df
        outside: Column = F.lit(False)
        for column in columns:
            lo_all, hi_all = fences.overall[column]
            lo = F.coalesce(F.col(f"lo_{column}"), F.lit(lo_all)) if fences.by_key is not None else F.lit(lo_all)
            hi = F.coalesce(F.col(f"hi_{column}"), F.lit(hi_all)) if fences.by_key is not None else F.lit(hi_all)
            beyond = F.coalesce((F.col(column) < lo) | (F.col(column) > hi), F.lit(False))
            if rule.action == "cap":
                capped = F.when(F.col(column) < lo, lo).when(F.col(column) > hi, hi).otherwise(F.col(column))
                out = out.withColumn(f"capped_{column}", beyond).withColumn(column, capped)
            else:
                outside = outside | beyond
        helpers = [f"{side}_{c}" for side in ("lo", "hi") for c in columns]
        return out.withColumn(FLAG_EXTREME, outside).drop(*[h for h in helpers if h in out.columns])

    return apply


def is_clean(cfg: CleanConfig) -> Column:
    """True when none of the excluding flags is set."""
    flags = [F.col(FLAG_OF[name]) for name in cfg.exclude]
    dirty = F.lit(False)
    for flag in flags:
        dirty = dirty | flag
    return ~dirty
