"""Imputation of missing values from the clean training rows, level by level, with an ``imputed_<col>`` flag.

Numeric columns take the mean or median, categorical ones the mode (most frequent, smallest on ties)
or a constant. ``levels`` are tried in order, e.g. (category) then () = overall: a row takes the value
of the first level that has one for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import ImputeSpec
from recaug_spark.prep import stats
from recaug_spark.prep.normalize import FIT

Transform = Callable[[DataFrame], DataFrame]


def _statistic(spec: ImputeSpec) -> Column:
    value = F.when(F.col(FIT), F.col(spec.column))
    if spec.strategy == "mean":
        return F.avg(value)
    if spec.strategy == "median":
        return F.percentile(value, 0.5)
    return F.mode(value, deterministic=True)


def keyed_levels(spec: ImputeSpec) -> list[tuple[str, ...]]:
    """The partitioned levels with fitted values (a constant has none)."""
    return [] if spec.strategy == "constant" else [level for level in spec.levels if level]


def is_categorical(spec: ImputeSpec) -> bool:
    """Fill values are labels (mode, constant), kept as strings in silver/norm_stats."""
    return spec.strategy in ("mode", "constant")


@dataclass(frozen=True)
class ImputeFit:
    """Fitted fill values: one frame per keyed level (keys + ``value``), and the overall value."""

    spec: ImputeSpec
    by_level: tuple[DataFrame, ...]
    overall: object

    @property
    def keyed_levels(self) -> list[tuple[str, ...]]:
        return keyed_levels(self.spec)

    @property
    def categorical(self) -> bool:
        return is_categorical(self.spec)

    def stats_rows(self, spark: SparkSession) -> DataFrame:
        """silver/norm_stats rows: per keyed level, and the overall value (numeric in stats, else label)."""
        spec, names = self.spec, () if self.categorical else (stats.VALUE,)
        common: dict[str, Any] = {"kind": "impute", "name": spec.column, "column": spec.column, "method": spec.strategy}
        frames = [
            stats.rows(spark, **common, keys=level, by_key=values, names=names, keyed_label=self.categorical)
            for level, values in zip(self.keyed_levels, self.by_level, strict=True)
        ]
        if self.categorical:
            label = None if self.overall is None else str(self.overall)
            frames.append(stats.rows(spark, **common, overall={}, label=label))
        else:
            frames.append(stats.rows(spark, **common, overall={stats.VALUE: self.overall}))  # type: ignore[dict-item]
        return stats.union_by_name(frames)

    @classmethod
    def load(cls, table: DataFrame, spec: ImputeSpec, key_types: T.StructType) -> ImputeFit:
        """The fit written by :meth:`stats_rows`."""
        categorical = is_categorical(spec)
        names = () if categorical else (stats.VALUE,)
        common: dict[str, Any] = {"kind": "impute", "name": spec.column, "names": names, "key_types": key_types}
        by_level = []
        for level in keyed_levels(spec):
            loaded = stats.load(table, **common, keys=level, keyed_label=categorical)
            assert loaded.by_key is not None
            by_level.append(loaded.by_key)
        overall_fit = stats.load(table, **common, keys=())
        overall = overall_fit.label if categorical else overall_fit.overall.get(stats.VALUE)
        return cls(spec, tuple(by_level), overall if () in spec.levels or spec.strategy == "constant" else None)


def fit(rows: DataFrame, spec: ImputeSpec) -> ImputeFit:
    """Fill values per level from the ``_fit`` rows (a constant needs no fitting)."""
    if spec.strategy == "constant":
        return ImputeFit(spec, (), spec.constant)
    keyed = tuple(rows.groupBy(*level).agg(_statistic(spec).alias("value")) for level in keyed_levels(spec))
    overall = rows.agg(_statistic(spec)).first()[0] if () in spec.levels else None  # type: ignore[index]
    return ImputeFit(spec, keyed, overall)


def apply(fitted: ImputeFit) -> Transform:
    """Fill nulls of the column from the first level with a value; ``imputed_<col>`` marks filled rows."""
    spec = fitted.spec

    def transform(df: DataFrame) -> DataFrame:
        out, candidates = df, []
        levels = fitted.keyed_levels
        for index, (level, values) in enumerate(zip(levels, fitted.by_level, strict=True)):
            name = f"_imp_{spec.column}_{index}"
            out = out.join(values.withColumnRenamed("value", name), list(level), "left")
            candidates.append(F.col(name))
        if fitted.overall is not None:
            candidates.append(F.lit(fitted.overall))
        original = F.col(spec.column)
        allowed = F.expr(spec.where) if spec.where else F.lit(True)
        fill = F.coalesce(*candidates).cast(df.schema[spec.column].dataType) if candidates else F.lit(None)
        filled = F.when(original.isNull() & allowed, fill).otherwise(original)
        out = out.withColumn(f"imputed_{spec.column}", original.isNull() & allowed & fill.isNotNull())
        out = out.withColumn(spec.column, filled)
        return out.drop(*[f"_imp_{spec.column}_{i}" for i in range(len(levels))])

    return transform
