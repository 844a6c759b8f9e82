"""Assertions shared by the Spark tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pyspark.sql import DataFrame


def _hashable(value: Any, digits: int | None, places: int | None = None) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v, digits, places)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v, digits, places) for v in value)
    if places is not None and isinstance(value, float):
        return round(value, places) + 0.0  # + 0.0: -0.0 and 0.0 alike
    if digits is not None and isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value


def rows_of(df: DataFrame, drop: Iterable[str] = (), digits: int | None = None, places: int | None = None) -> Counter:
    """The rows of ``df`` (minus ``drop``) as a multiset of hashable tuples; maps compare by content;
    doubles rounded to ``digits`` significant digits or to ``places`` decimal places when given."""
    kept = df.drop(*drop)
    return Counter(tuple(_hashable(v, digits, places) for v in row) for row in kept.collect())


def assert_same_rows(
    left: DataFrame,
    right: DataFrame,
    *,
    drop: Iterable[str] = (),
    digits: int | None = None,
    places: int | None = None,
) -> None:
    """Same columns and the same rows in any order (chispa cannot order rows holding maps).

    ``digits``: compare doubles to that many significant digits, for aggregates whose summation order
    depends on the file layout (Spark sums partitions in whatever order they come); ``places``: to that
    many decimal places, for values near 0 (a z-score of a value at its mean is rounding noise).
    """
    drop = list(drop)
    assert [c for c in left.columns if c not in drop] == [c for c in right.columns if c not in drop]
    a, b = rows_of(left, drop, digits, places), rows_of(right, drop, digits, places)
    only_left, only_right = a - b, b - a
    assert not only_left and not only_right, f"only left: {list(only_left)[:3]}; only right: {list(only_right)[:3]}"


# A purchase log without prices, quantities or sessions (a csv source; ``root`` is its directory):
# the unseen-dataset case of tests/unit/test_config.py and tests/spark/test_refresh.py.
PURCHASE_LOG = """
source:
  kind: csv
  name: till
  events:
    path: {root}/receipts/*.csv
    format: {{delimiter: ",", header: true}}
    columns: {{user_id: customer, item_id: product, event_type: {{const: purchase}}, ts: at}}
    timestamp: {{format: "yyyy-MM-dd HH:mm:ss"}}
"""
