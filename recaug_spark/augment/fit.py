"""The training-row quantities augmentation ops need, fitted in Spark in one pass (plus one small
aggregate per categorical attribute), and the checks that fail a bad op before any work.

Determinism across cluster sizes: quantiles are Spark's exact ``percentile`` (a function of the
multiset of values); a standard deviation is a floating-point sum whose last bits depend on how the
rows were partitioned, so it is rounded to 12 significant digits, far below any noise scale but
above the summation-order error, and every cluster then draws with the same sigma.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment.recipes import ROW, Fitted, Levels, columns, shape
from recaug_spark.config import AugmentOp, CategoricalJitterOp, GaussianNoiseOp, SaltAndPepperOp
from recaug_spark.errors import ConfigError

MAX_LEVELS = 1000  # categorical jitter draws among an attribute's most frequent levels (rarer ones stay)
SIGNIFICANT_DIGITS = 12


def check(ops: Sequence[AugmentOp], schema: T.StructType) -> None:
    """Fail, naming the op, when a row op's column is not a numeric column of the training rows.

    Raises:
        ConfigError: ``augment.ops[i].column`` with the numeric columns there are.
    """
    numeric = sorted(f.name for f in schema.fields if isinstance(f.dataType, T.NumericType))
    for i, spec in enumerate(ops):
        if shape(spec) != ROW or isinstance(spec, CategoricalJitterOp):
            continue
        missing = [c for c in columns(spec) if c not in numeric]
        if missing:
            key = f"augment.ops[{i}].{'columns' if len(columns(spec)) > 1 else 'column'}"
            raise ConfigError(key, f"{missing} is not a numeric column of the training rows; they have {numeric}")


def _stable(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def fit(train: DataFrame, ops: Sequence[AugmentOp]) -> Fitted:
    """Standard deviations, quantiles and attribute levels of the training rows, for ``ops``.

    Raises:
        ConfigError: naming the op whose column has no spread or no values, or whose attribute no
            training event has.
    """
    std_columns = sorted({s.column for s in ops if isinstance(s, GaussianNoiseOp) and s.relative})
    quantiles = sorted(
        {(s.column, q) for s in ops if isinstance(s, SaltAndPepperOp) for q in (s.salt_quantile, s.pepper_quantile)}
    )
    numeric = [s for s in ops if shape(s) == ROW and not isinstance(s, CategoricalJitterOp)]
    counted = sorted({c for s in numeric for c in columns(s)})
    aggregates = [F.count(c).alias(f"n{i}") for i, c in enumerate(counted)]
    aggregates += [F.stddev_samp(c).alias(f"std{i}") for i, c in enumerate(std_columns)]
    aggregates += [F.percentile(F.col(c).cast("double"), F.lit(q)).alias(f"q{i}") for i, (c, q) in enumerate(quantiles)]
    row = train.agg(*aggregates).first().asDict() if aggregates else {}  # type: ignore[union-attr]
    values = {c: row[f"n{i}"] for i, c in enumerate(counted)}
    std = {c: row[f"std{i}"] for i, c in enumerate(std_columns)}
    cut = {pair: row[f"q{i}"] for i, pair in enumerate(quantiles)}
    levels_of = {s.attr: levels(train, s.attr) for s in ops if isinstance(s, CategoricalJitterOp)}
    for i, spec in enumerate(ops):
        empty = [c for c in columns(spec) if values.get(c) == 0] if spec in numeric else []
        if empty:
            raise ConfigError(
                f"augment.ops[{i}]",
                f"op '{spec.op}' needs values of {empty}, and the training rows have none: map them in the "
                "source (source.events.columns), or leave the op out of augment.ops",
            )
        if isinstance(spec, GaussianNoiseOp) and spec.relative and not (std[spec.column] or 0) > 0:
            raise ConfigError(
                f"augment.ops[{i}].relative",
                f"the training standard deviation of '{spec.column}' is {std[spec.column]} (fewer than two "
                "values, or all equal): give an absolute sigma with relative: false",
            )
        if isinstance(spec, SaltAndPepperOp) and cut[(spec.column, spec.salt_quantile)] is None:
            problem = f"'{spec.column}' has no training values to take quantiles of"
            raise ConfigError(f"augment.ops[{i}].column", problem)
        if isinstance(spec, CategoricalJitterOp) and not levels_of[spec.attr].values:
            raise ConfigError(
                f"augment.ops[{i}].attr",
                f"no training event has attrs['{spec.attr}']; pick an attribute the source maps (its attrs list)",
            )
    return Fitted(
        std={c: _stable(v) for c, v in std.items()},
        quantiles={pair: float(v) for pair, v in cut.items()},
        levels=levels_of,
    )


def levels(train: DataFrame, attr: str) -> Levels:
    """The ``MAX_LEVELS`` most frequent values of ``attrs[attr]`` on the training rows, with counts
    (none when the rows have no such attribute)."""
    if "attrs" not in train.columns:
        return Levels((), ())
    value = F.col("attrs").getItem(attr)
    counts = (
        train.where(value.isNotNull())
        .groupBy(value.alias("value"))
        .count()
        .orderBy(F.desc("count"), "value")
        .limit(MAX_LEVELS)
        .collect()
    )
    return Levels(tuple(r["value"] for r in counts), tuple(int(r["count"]) for r in counts))
