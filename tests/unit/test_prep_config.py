"""Preprocess and split settings: names, validation, and the derived quantities the stages use."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from recaug_spark.config import ImputeSpec, NormalizeSpec, PreprocessConfig, TimeRangeRule
from recaug_spark.prep.pipeline import context_days
from recaug_spark.prep.split import quantile_day


def test_normalized_column_names() -> None:
    assert NormalizeSpec(column="price", method="zscore").name == "price_zscore"
    spec = NormalizeSpec(column="price", method="robust", partition_by=("category", "user_id"), window_days=7)
    assert spec.name == "price_robust_by_category_user_id_7d"
    assert NormalizeSpec(column="price", method="minmax", output="p01").name == "p01"


def test_bad_specs_are_rejected() -> None:
    with pytest.raises(ValidationError, match="needs 'constant'"):
        ImputeSpec(column="category", strategy="constant")
    with pytest.raises(ValidationError):
        NormalizeSpec(column="price", method="softmax")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        NormalizeSpec(column="price", method="zscore", window_days=0)


def test_time_range_is_normalized_to_utc() -> None:
    rule = TimeRangeRule(valid_from="2017-11-25T00:00:00+08:00", valid_until="2017-12-04T00:00:00")
    assert rule.valid_from == datetime(2017, 11, 24, 16, tzinfo=UTC)
    assert rule.valid_until == datetime(2017, 12, 4, tzinfo=UTC)  # naive means UTC


def test_context_days_cover_the_longest_window_and_the_duplicate_gap() -> None:
    prep = PreprocessConfig.model_validate(
        {
            "normalize": [
                {"column": "x", "method": "zscore", "window_days": 7},
                {"column": "x", "method": "minmax", "window_days": 28},
            ]
        }
    )
    assert context_days(prep) == 29
    assert context_days(PreprocessConfig.model_validate({"normalize": []})) == 1
    wide = PreprocessConfig.model_validate({"normalize": [], "clean": {"duplicates": {"near_seconds": 2.5 * 86_400}}})
    assert context_days(wide) == 3


@pytest.mark.parametrize(
    ("counts", "quantile", "expected"),
    [
        ([50, 30, 20], 0.8, 3),  # 80 of 100 by the end of day 2: test from day 3
        ([50, 30, 20], 0.5, 2),
        ([50, 30, 20], 0.99, 3),  # never after the last day
        ([100], 0.8, 1),  # a single day: it is both
        ([0, 10, 0, 10], 0.5, 3),
    ],
)
def test_quantile_day(counts: list[int], quantile: float, expected: int) -> None:
    days = [(date(2024, 1, i + 1), c) for i, c in enumerate(counts)]
    assert quantile_day(days, quantile) == date(2024, 1, expected)
