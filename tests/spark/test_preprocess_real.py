"""Preprocess and split on the two real datasets, checked against plain pandas computations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import NormalizeSpec
from recaug_spark.pipeline import execute
from recaug_spark.prep import normalize
from recaug_spark.prep.normalize import FIT
from recaug_spark.runs import StageResult
from recaug_spark.schema import (
    BRONZE_EVENTS,
    SILVER_EVENTS,
    SILVER_FEEDBACK,
    SILVER_ITEM_FEATURES,
    SILVER_SPLIT,
    SILVER_USER_FEATURES,
)
from tests import reference
from tests.conftest import RealLake, shared_data

# make test-nightly (issue 19: make test within 12 minutes): preprocess and split of 10^5 real rows
# take 100 s of the suite. make test still ingests both datasets (test_ingest_real.py) and tests the
# cleaning rules, every normalization method and the features on a small planted shop and on small
# frames; the pandas re-fits of bot thresholds and category fences on real data run only here.
pytestmark = pytest.mark.nightly

ROW_FLAGS = ["flag_duplicate", "flag_near_duplicate", "flag_out_of_range"]


@dataclass(frozen=True)
class Silver:
    """A real dataset after preprocess and split, with silver/events and silver/split in pandas."""

    real: RealLake
    preprocess: StageResult
    split: StageResult
    events: pd.DataFrame
    assigned: pd.DataFrame

    @property
    def cfg(self):
        return self.real.cfg


def _silver(spark: SparkSession, real: RealLake) -> Silver:
    pre = execute("preprocess", real.cfg, spark)
    split = execute("split", real.cfg, spark)
    events = real.lake.read(SILVER_EVENTS).toPandas()
    return Silver(real, pre, split, events, real.lake.read(SILVER_SPLIT).toPandas())


@pytest.fixture(scope="module")
def taobao_silver(spark: SparkSession, taobao: RealLake) -> Silver:
    return _silver(spark, taobao)


@pytest.fixture(scope="module")
def cj_silver(spark: SparkSession, completejourney: RealLake) -> Silver:
    return _silver(spark, completejourney)


@pytest.fixture(params=["taobao", "completejourney"])
def silver(request: pytest.FixtureRequest) -> Silver:
    return request.getfixturevalue("taobao_silver" if request.param == "taobao" else "cj_silver")


def eligible(events: pd.DataFrame) -> pd.Series:
    return ~events[ROW_FLAGS].any(axis=1)


def pandas_cutoff(events: pd.DataFrame, quantile: float) -> pd.Timestamp:
    """The first day by which ``quantile`` of the eligible events lie (never after the last day)."""
    per_day = events[eligible(events)].groupby("event_date").size().sort_index()
    reached = np.flatnonzero(per_day.cumsum().to_numpy() >= quantile * per_day.sum())[0]
    day = per_day.index[min(reached + 1, len(per_day) - 1)]
    return pd.Timestamp(day)


# -- cleaning -----------------------------------------------------------------------------------------


def test_taobao_cleaning_counts_match_the_raw_file(taobao_silver: Silver) -> None:
    raw = pd.read_csv(shared_data("taobao_userbehavior", "UserBehavior.csv"), header=None,
                      names=["user_id", "item_id", "category", "event_type", "ts"]).dropna()  # fmt: skip
    raw["ts"] = pd.to_datetime(raw.ts.astype("int64"), unit="s")
    window = (pd.Timestamp("2017-11-24 16:00"), pd.Timestamp("2017-12-03 16:00"))  # China time, in UTC
    gaps = raw.sort_values("ts").groupby(["user_id", "item_id", "event_type"]).ts.diff().dt.total_seconds()
    counts = taobao_silver.preprocess.counts
    assert counts["flag_out_of_range"] == int(((raw.ts < window[0]) | (raw.ts >= window[1])).sum()) == 35
    assert counts["flag_duplicate"] == int((gaps == 0).sum())
    assert counts["flag_near_duplicate"] == int(((gaps > 0) & (gaps <= 5)).sum()) > 0
    assert counts["events"] == len(raw)  # flagged rows are kept, never dropped


def test_bot_users_match_a_pandas_fit(silver: Silver) -> None:
    rule = silver.cfg.preprocess.clean.bots
    events = silver.events
    cutoff = pandas_cutoff(events, silver.cfg.split.cutoff_quantile)
    train = events[eligible(events) & (events.ts < cutoff)]
    total = train.groupby("user_id").size()
    peak = train.groupby(["user_id", train.ts.dt.floor("min")]).size().groupby(level=0).max()
    judged = total[total >= rule.min_events].index
    flagged = pd.Series(False, index=total.index)
    for measure, k in ((total, rule.total_mad_k), (peak, rule.rate_mad_k)):
        logged = np.log1p(measure[judged].astype(float))
        center = logged.median()
        limit = max(np.expm1(center + k * (logged - center).abs().median()), rule.min_ratio * np.expm1(center))
        flagged |= (measure > limit) & total.index.isin(judged)
    expected = set(flagged[flagged].index)
    assert set(events.loc[events.flag_bot_user, "user_id"]) == expected
    assert silver.preprocess.counts["flag_bot_user"] == int(events.user_id.isin(expected).sum())


def test_completejourney_capped_counts_match_pandas_fences(cj_silver: Silver) -> None:
    """Fences per category (IQR k=3, quantile fences where the IQR is 0) from the clean training rows
    of the original values; every value beyond its category's fences (or the overall ones) is capped."""
    rule = cj_silver.cfg.preprocess.clean.extremes
    events = cj_silver.events.copy()
    original = cj_silver.real.lake.read(BRONZE_EVENTS).select("event_id", "price", "quantity").toPandas()
    events = events.drop(columns=["price", "quantity"]).merge(original, on="event_id")
    events["category"] = events.category.where(~events.imputed_category)  # the category fences saw
    cutoff = pandas_cutoff(events, cj_silver.cfg.split.cutoff_quantile)
    train = events[eligible(events) & (events.ts < cutoff) & ~events.flag_bot_user]

    def fences(values: pd.Series) -> tuple[float, float]:
        v = values.dropna().to_numpy()
        if v.size == 0:
            return np.nan, np.nan
        q1, q3, lo, hi = np.percentile(v, [25, 75, 100 * rule.lower_quantile, 100 * rule.upper_quantile])
        iqr = q3 - q1
        return (q1 - rule.iqr_k * iqr, q3 + rule.iqr_k * iqr) if iqr > 0 else (lo, hi)

    for column in ("price", "quantity"):
        overall = fences(train[column])
        per_category = train.groupby("category")[column].apply(fences).to_dict()
        bounds = events.category.map(lambda c, table=per_category: table.get(c, (np.nan, np.nan)))
        lo = bounds.map(lambda b: b[0]).fillna(overall[0])
        hi = bounds.map(lambda b: b[1]).fillna(overall[1])
        beyond = (events[column] < lo) | (events[column] > hi)
        assert cj_silver.preprocess.counts[f"capped_{column}"] == int(beyond.sum()) > 0, column
        capped = cj_silver.events[column].to_numpy()  # same row order as ``events`` (an inner merge on the left)
        inside = np.isnan(capped) | ((capped >= lo.to_numpy() - 1e-9) & (capped <= hi.to_numpy() + 1e-9))
        assert inside.all(), column


# -- normalization ------------------------------------------------------------------------------------


def test_static_normalization_matches_pandas(silver: Silver) -> None:
    events = silver.events
    specs = [s for s in silver.cfg.preprocess.normalize if s.window_days is None]
    assert specs
    for spec in specs:
        expected = reference.static(events, spec, events.fit_row, silver.cfg.preprocess.zero_spread)
        np.testing.assert_allclose(events[spec.name].to_numpy(dtype=float), expected, rtol=1e-9, atol=1e-9,
                                   equal_nan=True, err_msg=spec.name)  # fmt: skip
    # Single-row and constant partitions are part of the comparison on both datasets.
    fit = events[events.fit_row]
    sizes = [fit.groupby(list(s.partition_by))[s.column].agg(["size", "nunique"]) for s in specs if s.partition_by]
    assert any((g["size"] == 1).any() for g in sizes)
    assert any(((g["size"] > 1) & (g["nunique"] == 1)).any() for g in sizes)


@pytest.mark.parametrize("method", ["zscore", "minmax", "robust", "log1p_zscore"])
def test_every_method_matches_pandas_on_real_data(spark: SparkSession, silver: Silver, method: str) -> None:
    """Each method by category on the dataset's own numeric column (hour for Taobao, which has no prices)."""
    column = "price" if silver.events.price.notna().any() else "hour"
    spec = NormalizeSpec(column=column, method=method, partition_by=("category",), output=f"check_{method}")
    rows = silver.real.lake.read(SILVER_EVENTS).withColumn(FIT, F.col("fit_row"))
    fitted = normalize.fit_static(rows, spec)
    got = rows.transform(normalize.apply_static(fitted, zero_spread="zero")).select("event_id", spec.name).toPandas()
    events = silver.events.merge(got, on="event_id")
    expected = reference.static(events, spec, events.fit_row, "zero")
    np.testing.assert_allclose(events[spec.name].to_numpy(dtype=float), expected, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_rolling_normalization_matches_pandas_on_a_sample(silver: Silver) -> None:
    events = silver.events.sort_values("event_id").reset_index(drop=True)
    spec = next(s for s in silver.cfg.preprocess.normalize if s.window_days is not None)
    rows = list(np.random.default_rng(0).choice(len(events), 150, replace=False))
    expected = reference.rolling(events, spec, events.fit_row, rows, silver.cfg.preprocess.zero_spread)
    got = events.loc[rows, spec.name].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, equal_nan=True)


# -- split --------------------------------------------------------------------------------------------


def test_global_split_on_real_data(silver: Silver) -> None:
    events, assigned = silver.events, silver.assigned
    cutoff = pandas_cutoff(events, silver.cfg.split.cutoff_quantile)
    assert f"cutoff {cutoff:%Y-%m-%d}" in silver.split.message
    assert (assigned.loc[assigned.split == "test", "ts"] >= cutoff).all()
    assert (assigned.loc[assigned.split == "train", "ts"] < cutoff).all()
    assert len(assigned) == int(events.is_clean.sum()) and assigned.event_id.is_unique
    train = assigned[assigned.split == "train"]
    expected = assigned.user_id.map(train.groupby("user_id").size()).fillna(0).astype(int)
    assert (assigned.user_train_events == expected).all()
    cold = assigned.user_train_events <= silver.cfg.split.cold_max
    assert ((assigned.user_segment == "cold") == cold).all()
    assert (assigned.item_seen == assigned.item_id.isin(set(train.item_id))).all()
    assert silver.split.counts["test_events"] == int((assigned.split == "test").sum()) > 0


# -- features -----------------------------------------------------------------------------------------


def test_features_match_pandas(silver: Silver) -> None:
    lake, events = silver.real.lake, silver.events
    fit = events[events.fit_row]
    users = lake.read(SILVER_USER_FEATURES).toPandas().set_index("user_id").sort_index()
    by_user = fit.groupby("user_id")
    assert (users.n_events == by_user.size()).all()
    assert (users.n_purchase == by_user.event_type.apply(lambda s: (s == "purchase").sum())).all()
    assert (users.active_days == by_user.event_date.nunique()).all()
    np.testing.assert_allclose(users.mean_price.to_numpy(dtype=float), by_user.price.mean().to_numpy(dtype=float),
                               rtol=1e-9, equal_nan=True)  # fmt: skip
    items = lake.read(SILVER_ITEM_FEATURES).toPandas().set_index("item_id").sort_index()
    assert (items.n_users == fit.groupby("item_id").user_id.nunique()).all()
    weights = silver.cfg.preprocess.feedback.weights
    strength = fit.assign(w=fit.event_type.map(weights)).groupby(["user_id", "item_id"]).w.sum()
    feedback = lake.read(SILVER_FEEDBACK).toPandas().set_index(["user_id", "item_id"]).strength
    pd.testing.assert_series_equal(feedback.sort_index(), strength.sort_index(), check_names=False)


def test_price_percentile_within_category(cj_silver: Silver) -> None:
    items = cj_silver.real.lake.read(SILVER_ITEM_FEATURES).toPandas()
    priced = items.dropna(subset=["median_price"])
    ranks = priced.groupby("category", dropna=False).median_price.rank(method="min")
    sizes = priced.groupby("category", dropna=False).median_price.transform("size")
    expected = ((ranks - 1) / (sizes - 1)).where(sizes > 1, 0.0)
    np.testing.assert_allclose(priced.price_percentile_in_category.to_numpy(), expected.to_numpy(), atol=1e-12)
