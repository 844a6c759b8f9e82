"""Window-based normalization: ``(f(x) - center) / scale`` per partition key, static or rolling.

Methods (``f`` is the identity except for log1p_zscore)::

    zscore        center = mean,       scale = population std
    minmax        center = min,        scale = max - min
    robust        center = median,     scale = Q3 - Q1 (exact, linear interpolation)
    log1p_zscore  f = log1p, then zscore

Static statistics are fit per key on the rows marked ``_fit`` (clean training rows) and joined back;
a key without statistics (unseen in training) uses the overall ones. Rolling statistics use, for each
row, the ``_fit`` rows of the same key in the preceding ``window_days`` days, strictly earlier than the
row (``rangeBetween(-window, -1)`` on microseconds), so a row never sees itself or the future.

A zero or null scale gives 0 (or null, by config), never an error or infinity, with ANSI mode on.
Rolling centers and scales are kept per row (``<name>_center``, ``<name>_scale``) and static ones in
silver/norm_stats, so every normalized value can be inverted (see :func:`invert`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import NormalizeSpec
from recaug_spark.prep import stats as stats_table

Transform = Callable[[DataFrame], DataFrame]
FIT = "_fit"  # boolean column: this row may inform statistics (clean and in the training period)
MICROS_PER_DAY = 86_400 * 1_000_000


def transformed(spec: NormalizeSpec) -> Column:
    """``f(column)``: log1p for log1p_zscore (null below -1), the column itself otherwise."""
    value = F.col(spec.column).cast("double")
    return F.log1p(F.when(value > -1, value)) if spec.method == "log1p_zscore" else value


def _center_scale(spec: NormalizeSpec, stats: dict[str, Column]) -> tuple[Column, Column]:
    if spec.method in ("zscore", "log1p_zscore"):
        return stats["mean"], stats["std"]
    if spec.method == "minmax":
        return stats["min"], stats["max"] - stats["min"]
    return stats["median"], stats["q3"] - stats["q1"]


def scaled(value: Column, center: Column, scale: Column, *, zero_spread: str) -> Column:
    """(value - center) / scale; a zero or null scale gives 0 (``zero``) or null (``null``)."""
    degenerate = F.lit(0.0) if zero_spread == "zero" else F.lit(None).cast("double")
    return (
        F.when(value.isNull(), F.lit(None).cast("double"))
        .when(scale.isNull() | (scale == 0), degenerate)
        .otherwise((value - center) / scale)
    )


@dataclass(frozen=True)
class _Stat:
    name: str
    expr: Column


def _stats(spec: NormalizeSpec, value: Column) -> list[_Stat]:
    """The statistics one method needs (exact percentiles, for robust only)."""
    if spec.method in ("zscore", "log1p_zscore"):
        return [_Stat("mean", F.avg(value)), _Stat("std", F.stddev_pop(value))]
    if spec.method == "minmax":
        return [_Stat("min", F.min(value)), _Stat("max", F.max(value))]
    return [
        _Stat("q1", F.percentile(value, 0.25)),
        _Stat("median", F.percentile(value, 0.5)),
        _Stat("q3", F.percentile(value, 0.75)),
    ]


@dataclass(frozen=True)
class StaticStats:
    """Fitted statistics of one static spec: per key, and overall (the fallback)."""

    spec: NormalizeSpec
    by_key: DataFrame | None
    overall: dict[str, float | None]

    def stats_rows(self, spark: SparkSession) -> DataFrame:
        """silver/norm_stats rows: the statistics (and row count) per key and overall."""
        spec = self.spec
        return stats_table.rows(spark, kind="normalize", name=spec.name, column=spec.column, method=spec.method,
                                keys=spec.partition_by, by_key=self.by_key, overall=self.overall,
                                names=list(self.overall))  # fmt: skip

    @classmethod
    def load(cls, table: DataFrame, spec: NormalizeSpec, key_types: T.StructType) -> StaticStats:
        """The statistics written by :meth:`stats_rows`."""
        names = ["count", *[s.name for s in _stats(spec, F.lit(0.0))]]
        loaded = stats_table.load(table, kind="normalize", name=spec.name, keys=spec.partition_by, names=names,
                                  key_types=key_types)  # fmt: skip
        return cls(spec, loaded.by_key, loaded.overall)


def fit_static(rows: DataFrame, spec: NormalizeSpec) -> StaticStats:
    """Statistics of ``f(column)`` over the ``_fit`` rows, per key of ``spec.partition_by`` and overall."""
    value = F.when(F.col(FIT), transformed(spec))
    aggregates = [F.count(value).alias("count"), *[s.expr.alias(s.name) for s in _stats(spec, value)]]
    overall_row = rows.agg(*aggregates).first()
    assert overall_row is not None
    overall = overall_row.asDict()
    by_key = rows.groupBy(*spec.partition_by).agg(*aggregates) if spec.partition_by else None
    return StaticStats(spec, by_key, overall)


def apply_static(stats: StaticStats, *, zero_spread: str) -> Transform:
    """Join the fitted statistics and add the normalized column (strategy: groupBy + join)."""
    spec = stats.spec

    def apply(df: DataFrame) -> DataFrame:
        prefix = f"_ns_{spec.name}_"
        names = [c for c in stats.overall if c != "count"]
        out = df
        if stats.by_key is not None:
            renamed = stats.by_key.select(*spec.partition_by, *[F.col(n).alias(prefix + n) for n in names])
            out = df.join(renamed, list(spec.partition_by), "left")
        columns = {
            n: F.coalesce(F.col(prefix + n), F.lit(stats.overall[n]))
            if stats.by_key is not None
            else F.lit(stats.overall[n])
            for n in names
        }
        center, scale = _center_scale(spec, {n: c.cast("double") for n, c in columns.items()})
        return out.withColumn(spec.name, scaled(transformed(spec), center, scale, zero_spread=zero_spread)).drop(
            *[prefix + n for n in names]
        )

    return apply


def apply_static_by_window(spec: NormalizeSpec, *, zero_spread: str) -> Transform:
    """The same static normalization computed with window aggregates over each whole partition.

    Equal to fit_static + apply_static except for keys without ``_fit`` rows (no overall fallback);
    kept for the normalize benchmark, which compares the two strategies side by side.
    """

    def apply(df: DataFrame) -> DataFrame:
        window = Window.partitionBy(*spec.partition_by) if spec.partition_by else Window.partitionBy(F.lit(0))
        value = F.when(F.col(FIT), transformed(spec))
        center, scale = _center_scale(spec, {s.name: s.expr.over(window) for s in _stats(spec, value)})
        return df.withColumn(spec.name, scaled(transformed(spec), center, scale, zero_spread=zero_spread))

    return apply


def apply_rolling(spec: NormalizeSpec, *, zero_spread: str) -> Transform:
    """Normalize each row by the ``_fit`` rows of its key in the preceding ``window_days`` days.

    Adds ``<name>``, ``<name>_center`` and ``<name>_scale`` (for inversion).
    """
    window_days = spec.window_days
    assert window_days is not None

    def apply(df: DataFrame) -> DataFrame:
        keys = spec.partition_by or ()
        base = Window.partitionBy(*keys) if keys else Window.partitionBy(F.lit(0))
        window = base.orderBy(F.unix_micros("ts")).rangeBetween(-window_days * MICROS_PER_DAY, -1)
        value = F.when(F.col(FIT), transformed(spec))
        center, scale = _center_scale(spec, {s.name: s.expr.over(window) for s in _stats(spec, value)})
        out = df.withColumn(f"{spec.name}_center", center).withColumn(f"{spec.name}_scale", scale)
        return out.withColumn(
            spec.name,
            scaled(
                transformed(spec), F.col(f"{spec.name}_center"), F.col(f"{spec.name}_scale"), zero_spread=zero_spread
            ),
        )

    return apply


def invert(spec: NormalizeSpec, normalized: Column, center: Column, scale: Column) -> Column:
    """The original value from a normalized one: f^-1(z * scale + center) (exact where scale != 0)."""
    value = normalized * scale + center
    return F.expm1(value) if spec.method == "log1p_zscore" else value
