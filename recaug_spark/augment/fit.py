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

from recaug_spark.augment import ops
from recaug_spark.augment.ops import AugmentOp, Fitted, Levels, Quantile, Statistic, Std
from recaug_spark.errors import ConfigError

MAX_LEVELS = 1000  # categorical jitter draws among an attribute's most frequent levels (rarer ones stay)
SIGNIFICANT_DIGITS = 12


def check(specs: Sequence[AugmentOp], schema: T.StructType) -> None:
    """Fail, naming the op, when a column a row op reads is not a numeric column of the training rows.

    Raises:
        ConfigError: ``augment.ops[i].<parameter>`` (``column``, ``columns``...) with the numeric columns there are.
    """
    numeric = sorted(f.name for f in schema.fields if isinstance(f.dataType, T.NumericType))
    for i, spec in enumerate(specs):
        op = ops.of(spec)
        missing = [c for c in op.columns_of(spec) if c not in numeric]
        if missing:
            key = f"augment.ops[{i}].{op.parameter_of(spec, missing[0])}"
            raise ConfigError(key, f"{missing} is not a numeric column of the training rows; they have {numeric}")


def _stable(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def fit(train: DataFrame, specs: Sequence[AugmentOp]) -> Fitted:
    """The statistics the ops' specs ask for (standard deviations, quantiles) and the levels of the attributes
    row ops rewrite, on the training rows.

    Raises:
        ConfigError: naming the op whose column has no values, whose attribute no training event has, or
            whose spec finds a statistic it cannot work with (a relative noise on a column without spread).
    """
    counted = sorted({c for spec in specs for c in ops.of(spec).columns_of(spec)})
    wanted: set[Statistic] = {s for spec in specs for s in ops.of(spec).statistics(spec)}
    std_columns = sorted({s.column for s in wanted if isinstance(s, Std)})
    quantiles = sorted({(s.column, s.q) for s in wanted if isinstance(s, Quantile)})
    aggregates = [F.count(c).alias(f"n{i}") for i, c in enumerate(counted)]
    aggregates += [F.stddev_samp(c).alias(f"std{i}") for i, c in enumerate(std_columns)]
    aggregates += [F.percentile(F.col(c).cast("double"), F.lit(q)).alias(f"q{i}") for i, (c, q) in enumerate(quantiles)]
    row = train.agg(*aggregates).first().asDict() if aggregates else {}  # type: ignore[union-attr]
    values = {c: row[f"n{i}"] for i, c in enumerate(counted)}
    std = {c: row[f"std{i}"] for i, c in enumerate(std_columns)}
    cut = {pair: row[f"q{i}"] for i, pair in enumerate(quantiles)}
    statistics: dict[Statistic, float | None] = {Std(c): v for c, v in std.items()}
    statistics |= {Quantile(c, q): v for (c, q), v in cut.items()}
    levels_of = {attr: levels(train, attr) for spec in specs for attr in ops.of(spec).attributes_of(spec)}
    for i, spec in enumerate(specs):
        op = ops.of(spec)
        empty = [c for c in op.columns_of(spec) if values.get(c) == 0]
        if empty:
            raise ConfigError(
                f"augment.ops[{i}]",
                f"op '{op.name}' needs values of {empty}, and the training rows have none: map them in the "
                "source (source.events.columns), or leave the op out of augment.ops",
            )
        for attr in op.attributes_of(spec):
            if not levels_of[attr].values:
                raise ConfigError(
                    f"augment.ops[{i}].{op.parameter_of(spec, attr)}",
                    f"no training event has attrs['{attr}']; pick an attribute the source maps (its attrs list)",
                )
        problem = op.check(spec, statistics)
        if problem is not None:
            raise ConfigError(f"augment.ops[{i}].{problem.field}", problem.message)
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
