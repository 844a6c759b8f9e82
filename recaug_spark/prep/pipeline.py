"""The bronze -> silver pipeline: clean, impute and normalize events, fitted on the training period.

Order of work (each step a transform of the events frame)::

    join item attributes (category, brand) and time features (hour, dow)
    flag row rules: duplicate, near_duplicate, out_of_range          (no statistics)
    assign the training period (prep/split.py, on rows free of row flags)
    fit + flag bot users, fit + cap (or flag) extreme values          (training rows)
    is_clean = no excluding flag;  fit_row = is_clean and training
    fit + apply imputation, then normalization (static or rolling)    (fit rows only)
    write silver/events, silver/norm_stats, then user/item features and feedback from silver/events

The leakage rule: every statistic and feature comes from fit rows, so changing the test period
changes none of them. Rolling windows only look back, and only at fit rows.

Incremental runs (see incremental.py and the README): when only dates after a fixed cutoff got rows,
the fit is read back from silver/norm_stats (:class:`FromNormStats`) and only silver/events from the
first new date on is rewritten (with :func:`context_days` of earlier rows as context for duplicate and
rolling windows); anything else recomputes everything.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import BotRule, ExtremeRule, ImputeSpec, NormalizeSpec, PreprocessConfig, RecaugConfig
from recaug_spark.errors import ConfigError, InputError
from recaug_spark.lake import Lake
from recaug_spark.prep import clean, features, impute, normalize, split, stats
from recaug_spark.prep.normalize import FIT
from recaug_spark.schema import (
    BRONZE_EVENTS,
    BRONZE_ITEMS,
    BRONZE_USERS,
    SILVER_EVENTS,
    SILVER_FEEDBACK,
    SILVER_ITEM_FEATURES,
    SILVER_STATS,
    SILVER_USER_FEATURES,
)
from recaug_spark.session import storage_level

log = logging.getLogger(__name__)

FIT_ROW = "fit_row"  # silver/events: the row informed the statistics (clean, training period)


def enrich(events: DataFrame, items: DataFrame | None) -> DataFrame:
    """Join item attributes and add the hour and day of week (1 = Sunday) of each event."""
    attributes = ("category", "brand", "department")
    if items is not None:
        events = events.join(items.select("item_id", *attributes), "item_id", "left")
    else:
        for name in attributes:
            events = events.withColumn(name, F.lit(None).cast("string"))
    return events.withColumn("hour", F.hour("ts")).withColumn("dow", F.dayofweek("ts"))


class Fitter(Protocol):
    """Where fitted quantities come from: fit now on the rows given, or read back from the lake."""

    def bots(self, train: DataFrame, rule: BotRule) -> clean.BotFit: ...
    def fences(self, train: DataFrame, rule: ExtremeRule, columns: Sequence[str]) -> clean.Fences: ...
    def impute(self, rows: DataFrame, spec: ImputeSpec) -> impute.ImputeFit: ...
    def normalize(self, rows: DataFrame, spec: NormalizeSpec) -> normalize.StaticStats: ...


class FitOnTraining:
    """Fit every quantity on the training rows of the frame (a full run)."""

    def bots(self, train: DataFrame, rule: BotRule) -> clean.BotFit:
        return clean.fit_bots(train, rule)

    def fences(self, train: DataFrame, rule: ExtremeRule, columns: Sequence[str]) -> clean.Fences:
        return clean.fit_fences(train, rule, columns)

    def impute(self, rows: DataFrame, spec: ImputeSpec) -> impute.ImputeFit:
        return impute.fit(rows, spec)

    def normalize(self, rows: DataFrame, spec: NormalizeSpec) -> normalize.StaticStats:
        return normalize.fit_static(rows, spec)


@dataclass(frozen=True)
class FromNormStats:
    """Read every quantity back from silver/norm_stats (an incremental run: the same fit, not refit)."""

    table: DataFrame

    def bots(self, train: DataFrame, rule: BotRule) -> clean.BotFit:
        return clean.BotFit.load(self.table, train.schema)

    def fences(self, train: DataFrame, rule: ExtremeRule, columns: Sequence[str]) -> clean.Fences:
        return clean.Fences.load(self.table, rule, columns, train.schema)

    def impute(self, rows: DataFrame, spec: ImputeSpec) -> impute.ImputeFit:
        return impute.ImputeFit.load(self.table, spec, rows.schema)

    def normalize(self, rows: DataFrame, spec: NormalizeSpec) -> normalize.StaticStats:
        return normalize.StaticStats.load(self.table, spec, rows.schema)


@dataclass(frozen=True)
class Fitted:
    """Everything one run fitted, in the order it was applied."""

    bots: clean.BotFit
    fences: clean.Fences
    imputes: tuple[impute.ImputeFit, ...]
    norms: tuple[normalize.StaticStats, ...]

    def stats_rows(self, spark: SparkSession, extremes: ExtremeRule) -> list[DataFrame]:
        """Every fitted quantity as silver/norm_stats rows."""
        return [
            self.bots.stats_rows(spark),
            self.fences.stats_rows(spark, extremes),
            *[f.stats_rows(spark) for f in self.imputes],
            *[f.stats_rows(spark) for f in self.norms],
        ]


def transform(
    events: DataFrame, prep: PreprocessConfig, fitter: Fitter, *, level: StorageLevel
) -> tuple[DataFrame, Fitted]:
    """Flag bots and extremes, mark fit rows, impute and normalize (``events`` has ``split``); the
    flagged rows are persisted at ``level`` for the fits that read them."""
    train = events.where(split.is_training())
    bots = fitter.bots(train, prep.clean.bots)
    events = events.transform(clean.flag_bot_users(bots))
    extremes = prep.clean.extremes
    columns = [c for c in extremes.columns if c in events.columns]
    fences = fitter.fences(events.where(split.is_training() & ~F.col(clean.FLAG_BOT_USER)), extremes, columns)
    events = (
        events.transform(clean.apply_fences(fences, extremes, columns))
        .withColumn("is_clean", clean.is_clean(prep.clean))
        .withColumn(FIT, F.col("is_clean") & F.coalesce(split.is_training(), F.lit(False)))
        .persist(level)
    )
    imputes, norms = [], []
    for spec in prep.impute:
        imputes.append(fitter.impute(events, spec))
        events = events.transform(impute.apply(imputes[-1]))
    for norm_spec in prep.normalize:
        if norm_spec.window_days is None:
            norms.append(fitter.normalize(events, norm_spec))
            events = events.transform(normalize.apply_static(norms[-1], zero_spread=prep.zero_spread))
        else:
            events = events.transform(normalize.apply_rolling(norm_spec, zero_spread=prep.zero_spread))
    return events, Fitted(bots, fences, tuple(imputes), tuple(norms))


def check_columns(prep: PreprocessConfig, columns: Sequence[str]) -> None:
    """Fail before any work when a configured column or key is not in the enriched events.

    Raises:
        ConfigError: naming the dotted key, the missing column and the columns there are.
    """
    available = set(columns)
    wanted = [
        *[(f"preprocess.impute[{i}]", [s.column, *[k for level in s.levels for k in level]])
          for i, s in enumerate(prep.impute)],
        *[(f"preprocess.normalize[{i}]", [s.column, *s.partition_by]) for i, s in enumerate(prep.normalize)],
        ("preprocess.clean.extremes.partition_by", list(prep.clean.extremes.partition_by)),
    ]  # fmt: skip
    for key, names in wanted:
        missing = [n for n in names if n not in available]
        if missing:
            raise ConfigError(key, f"unknown column(s) {missing}; silver/events has {sorted(available)}")


def context_days(prep: PreprocessConfig) -> int:
    """Days of earlier rows an incremental run reads before its first new date: the longest rolling
    window, plus enough for the duplicate rule to judge the first of those rows."""
    windows = [spec.window_days for spec in prep.normalize if spec.window_days is not None]
    return max(windows, default=0) + max(1, math.ceil(prep.clean.duplicates.near_seconds / 86_400))


def preprocess(
    spark: SparkSession, cfg: RecaugConfig, lake: Lake, *, version: str, start: date | None = None
) -> dict[str, int]:
    """The bronze -> silver computation (see the module docstring); returns per-rule counts.

    ``start``: rewrite silver/events from this event_date on with the stored fit (an incremental run);
    None recomputes and rewrites everything.
    """
    prep = cfg.preprocess
    items = lake.read(BRONZE_ITEMS) if lake.exists(BRONZE_ITEMS) else None
    users = lake.read(BRONZE_USERS) if lake.exists(BRONZE_USERS) else None
    bronze = lake.read(BRONZE_EVENTS).drop("batch_id", "ingested_at")
    if start is not None:
        bronze = bronze.where(F.col("event_date") >= F.lit(start - timedelta(days=context_days(prep))))
    enriched = enrich(bronze, items)
    check_columns(prep, enriched.columns)
    base = (
        enriched.transform(clean.flag_duplicates(prep.clean.duplicates))
        .transform(clean.flag_out_of_range(prep.clean.time_range))
        .persist(storage_level(cfg.spark))
    )
    try:
        eligible = ~(F.col(clean.FLAG_DUPLICATE) | F.col(clean.FLAG_NEAR_DUPLICATE) | F.col(clean.FLAG_OUT_OF_RANGE))
        cutoff = split.cutoff_day(base.where(eligible), cfg.split) if cfg.split.mode == "global" else None
        events = base.transform(split.with_split(cfg.split, cutoff=cutoff, eligible=eligible))
        fitter = FromNormStats(lake.read(SILVER_STATS)) if start is not None else FitOnTraining()
        events, fitted = transform(events, prep, fitter, level=storage_level(cfg.spark))
        silver = events.withColumnRenamed(FIT, FIT_ROW).drop("split")
        counts: dict[str, int] = {}
        if start is not None:
            tail = silver.where(F.col("event_date") >= F.lit(start)).repartition("event_date")
            counts["events_rewritten"] = lake.replace_where(SILVER_EVENTS, tail, f"event_date >= '{start.isoformat()}'")
        else:
            # One file per day (as bronze): the window stages leave the rows partitioned by user.
            lake.overwrite(SILVER_EVENTS, silver.repartition("event_date"), partition_by=("event_date",))
            lake.overwrite(SILVER_STATS, stats.union_all(fitted.stats_rows(spark, prep.clean.extremes), version))
            _write_features(cfg, lake, users, cutoff=cutoff)
    finally:
        spark.catalog.clearCache()
    return counts | _rule_counts(lake.read(SILVER_EVENTS))


def _write_features(cfg: RecaugConfig, lake: Lake, users: DataFrame | None, *, cutoff: datetime | None) -> None:
    """User and item features and feedback, from the fit rows of silver/events."""
    columns = ("user_id", "item_id", "event_type", "ts", "event_date", "price", "category")
    train = lake.read(SILVER_EVENTS).where(F.col(FIT_ROW)).select(*columns).persist(storage_level(cfg.spark))
    as_of = cutoff or train.agg(F.max("ts")).first()[0]  # type: ignore[index]
    if as_of is None:
        raise InputError("no clean training events: check preprocess.clean and split (nothing to fit on)")
    top = cfg.preprocess.top_categories
    lake.overwrite(SILVER_USER_FEATURES, features.user_features(train, users, as_of=as_of, top_categories=top))
    lake.overwrite(SILVER_ITEM_FEATURES, features.item_features(train))
    lake.overwrite(SILVER_FEEDBACK, features.feedback(train, cfg.preprocess.feedback, as_of=as_of))


def _rule_counts(silver: DataFrame) -> dict[str, int]:
    """Rows per cleaning rule, capped column and imputed column over the whole of silver/events."""
    flags = [c for c in silver.columns if c.startswith(("flag_", "capped_", "imputed_"))]
    row = silver.agg(
        F.count(F.lit(1)).alias("events"),
        F.count_if("is_clean").alias("clean_events"),
        F.count_if(FIT_ROW).alias("fit_events"),
        *[F.count_if(c).alias(c) for c in flags],
    ).first()
    assert row is not None
    counts = {k: int(v) for k, v in row.asDict().items()}
    log.info(
        "preprocess: %s events, %s clean, %s fit; %s",
        f"{counts['events']:,}",
        f"{counts['clean_events']:,}",
        f"{counts['fit_events']:,}",
        ", ".join(f"{k} {v:,}" for k, v in counts.items() if k not in ("events", "clean_events", "fit_events")),
    )
    return counts
