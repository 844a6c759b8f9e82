"""Every statistic preprocess fits, as rows of silver/norm_stats (kind, name, partition_by, key, stats, label).

One table holds normalization statistics, imputation values, extreme-value fences, bot limits and the
bot users themselves. A row is keyed by its partition values (an empty key is the overall fallback),
so the same transform can be inspected, inverted, and applied again to new data (incremental runs
load the fit back with :func:`load` instead of refitting).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.schema import FITTED_STATS

VALUE = "value"  # the column of a fill value (imputation) in keyed frames


def _key_map(keys: Sequence[str]) -> Column:
    if not keys:
        return F.create_map().cast(T.MapType(T.StringType(), T.StringType()))
    return F.create_map(*[x for k in keys for x in (F.lit(k), F.col(k).cast("string"))])


def _stats_map(values: Mapping[str, Column]) -> Column:
    if not values:
        return F.create_map().cast(T.MapType(T.StringType(), T.DoubleType()))
    return F.create_map(*[x for n, v in values.items() for x in (F.lit(n), v.cast("double"))])


def rows(
    spark: SparkSession,
    *,
    kind: str,
    name: str,
    column: str | None = None,
    method: str | None = None,
    keys: Sequence[str] = (),
    by_key: DataFrame | None = None,
    overall: Mapping[str, float | None] | None = None,
    names: Sequence[str] = (),
    label: str | None = None,
    keyed_label: bool = False,
) -> DataFrame:
    """Rows of one fitted quantity in the FITTED_STATS schema (``version`` is added by :func:`union_all`).

    Args:
        by_key: one row per key with the key columns, the ``names`` columns and, when ``keyed_label``,
            a ``value`` column stored as the label.
        overall: the overall statistics (the fallback row); None writes no overall row.
        label: the overall label (a categorical fill value).
    """
    common = [
        F.lit(kind).alias("kind"),
        F.lit(name).alias("name"),
        F.lit(column).cast("string").alias("column"),
        F.lit(method).cast("string").alias("method"),
        F.array(*[F.lit(k) for k in keys]).cast("array<string>").alias("partition_by"),
    ]
    frames = []
    if by_key is not None:
        frames.append(
            by_key.select(
                *common,
                _key_map(keys).alias("key"),
                _stats_map({n: F.col(n) for n in names}).alias("stats"),
                (F.col(VALUE).cast("string") if keyed_label else F.lit(None).cast("string")).alias("label"),
            )
        )
    if overall is not None:
        values = {n: F.lit(v).cast("double") for n, v in overall.items()}
        frames.append(
            spark.range(1).select(
                *common,
                _key_map(()).alias("key"),
                _stats_map(values).alias("stats"),
                F.lit(label).cast("string").alias("label"),
            )
        )
    return union_by_name(frames)


def union_by_name(frames: Sequence[DataFrame]) -> DataFrame:
    """The rows of all ``frames`` (columns matched by name)."""
    return functools.reduce(DataFrame.unionByName, frames)


def union_all(frames: Sequence[DataFrame], version: str) -> DataFrame:
    """All stats rows, stamped with the fit's ``version``, in the FITTED_STATS column order."""
    return union_by_name(frames).withColumn("version", F.lit(version)).select(*FITTED_STATS.fieldNames())


@dataclass(frozen=True)
class Loaded:
    """One fitted quantity read back: keyed rows as columns (keys cast to the events' types) and overall."""

    by_key: DataFrame | None
    overall: dict[str, float | None]
    label: str | None


def load(
    table: DataFrame,
    *,
    kind: str,
    name: str,
    keys: Sequence[str],
    names: Sequence[str],
    key_types: T.StructType,
    keyed_label: bool = False,
) -> Loaded:
    """The rows of (kind, name, keys) of silver/norm_stats in the shape :func:`rows` wrote them from
    (keyed levels of an imputation have no overall row of their own: their overall is empty)."""
    mine = table.where(
        (F.col("kind") == kind) & (F.col("name") == name) & (F.col("partition_by") == F.array(*map(F.lit, keys)))
    )
    overall_row = mine.where(F.size("key") == 0).first()
    stats = (overall_row.stats if overall_row is not None else None) or {}
    overall = {n: stats.get(n) for n in names}
    by_key = None
    if keys:
        key_columns = [F.col("key")[k].cast(key_types[k].dataType).alias(k) for k in keys]
        values = [F.col("stats")[n].alias(n) for n in names]
        label = [F.col("label").alias(VALUE)] if keyed_label else []
        by_key = mine.where(F.size("key") > 0).select(*key_columns, *values, *label)
    return Loaded(by_key, overall, overall_row.label if overall_row is not None else None)
