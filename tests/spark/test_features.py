"""User and item features and implicit feedback on a hand-computed small case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pyspark.sql import SparkSession

from recaug_spark.config import FeedbackConfig
from recaug_spark.prep import features

AS_OF = datetime(2024, 3, 10)
SCHEMA = (
    "user_id string, item_id string, event_type string, ts timestamp, event_date date, price double, category string"
)


def rows(spark: SparkSession):
    def event(user: str, item: str, kind: str, days_ago: float, *, price: float | None, category: str) -> tuple:
        ts = AS_OF - timedelta(days=days_ago)
        return (user, item, kind, ts, ts.date(), price, category)

    return spark.createDataFrame(
        [
            event("u1", "i1", "view", 2, price=10.0, category="shoes"),
            event("u1", "i1", "purchase", 0, price=10.0, category="shoes"),
            event("u1", "i2", "view", 4, price=30.0, category="hats"),
            event("u1", "i3", "cart", 1, price=None, category="hats"),
            event("u2", "i1", "view", 3, price=12.0, category="shoes"),
            event("u2", "i2", "fav", 3, price=30.0, category="hats"),
        ],
        SCHEMA,
    )


def test_feedback_weights_and_half_life_decay(spark: SparkSession) -> None:
    plain = {
        (r.user_id, r.item_id): r.strength
        for r in features.feedback(rows(spark), FeedbackConfig(), as_of=AS_OF).collect()
    }
    assert plain == {("u1", "i1"): 6.0, ("u1", "i2"): 1.0, ("u1", "i3"): 3.0, ("u2", "i1"): 1.0, ("u2", "i2"): 2.0}
    decayed = features.feedback(rows(spark), FeedbackConfig(half_life_days=2), as_of=AS_OF).collect()
    strength = {(r.user_id, r.item_id): r.strength for r in decayed}
    assert strength[("u1", "i1")] == pytest.approx(1 * 0.5 + 5 * 1.0)  # the view is one half-life old
    assert strength[("u2", "i2")] == pytest.approx(2 * 0.5**1.5)


def test_user_features_by_hand(spark: SparkSession) -> None:
    (u1,) = [r for r in features.user_features(rows(spark), None, as_of=AS_OF, top_categories=1).collect()
             if r.user_id == "u1"]  # fmt: skip
    assert (u1.n_events, u1.n_view, u1.n_cart, u1.n_purchase, u1.n_fav) == (4, 2, 1, 1, 0)
    assert u1.active_days == 4 and u1.recency_days == 0.0
    assert u1.mean_price == pytest.approx(50 / 3) and u1.median_price == 10.0  # nulls ignored
    assert u1.top_categories == ["hats"]  # 2 hats, 2 shoes: ties by name


def test_item_features_by_hand(spark: SparkSession) -> None:
    items = {r.item_id: r for r in features.item_features(rows(spark)).collect()}
    assert (items["i1"].n_events, items["i1"].n_users, items["i1"].view_to_purchase) == (3, 2, 0.5)
    assert items["i3"].view_to_purchase is None  # no views: undefined, not 0
    assert items["i1"].median_price == 10.0
    # hats: i2 (30) and i3 (no price); shoes: i1 alone -> percentile 0
    assert items["i2"].price_percentile_in_category == 0.0 and items["i3"].price_percentile_in_category is None
