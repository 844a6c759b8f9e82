"""Window-based normalization on small frames: every method against the pandas reference, degenerate
partitions, rolling windows that never look ahead, inversion, and the stored statistics round trip."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import NormalizeSpec
from recaug_spark.prep import normalize
from recaug_spark.prep.normalize import FIT
from tests import reference

METHODS = ("zscore", "minmax", "robust", "log1p_zscore")
T0 = datetime(2024, 3, 1)
SCHEMA = "row long, cat string, user string, x double, ts timestamp, _fit boolean"


def frame(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


def small_rows() -> list[tuple]:
    """Partitions of every shape: several values, one row, constant, no fit rows, a null key, null x."""
    rows = [
        (0, "a", "u1", 1.0, T0, True),
        (1, "a", "u1", 2.0, T0 + timedelta(hours=1), True),
        (2, "a", "u2", 4.0, T0 + timedelta(hours=2), True),
        (3, "a", "u2", 100.0, T0 + timedelta(hours=3), False),  # not a fit row: must not move stats
        (4, "single", "u3", 7.0, T0 + timedelta(hours=4), True),
        (5, "const", "u3", 3.0, T0 + timedelta(hours=5), True),
        (6, "const", "u4", 3.0, T0 + timedelta(hours=6), True),
        (7, "const", "u4", 3.0, T0 + timedelta(hours=7), True),
        (8, "unseen", "u5", 9.0, T0 + timedelta(hours=8), False),  # key without fit rows: overall stats
        (9, None, "u5", 5.0, T0 + timedelta(hours=9), True),  # null key: overall stats
        (10, "a", "u1", None, T0 + timedelta(hours=10), True),  # null value stays null
    ]
    return rows


def _pandas(df: DataFrame) -> pd.DataFrame:
    return df.toPandas().sort_values("row").reset_index(drop=True)


@pytest.mark.parametrize("zero_spread", ["zero", "null"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("keys", [(), ("cat",), ("cat", "user")])
def test_static_equals_the_pandas_reference(
    spark: SparkSession, method: str, keys: tuple[str, ...], zero_spread: str
) -> None:
    spec = NormalizeSpec(column="x", method=method, partition_by=keys)
    df = frame(spark, small_rows())
    fitted = normalize.fit_static(df, spec)
    got = _pandas(df.transform(normalize.apply_static(fitted, zero_spread=zero_spread)))
    expected = reference.static(got, spec, got[FIT], zero_spread)
    np.testing.assert_allclose(got[spec.name].to_numpy(dtype=float), expected, rtol=1e-12, equal_nan=True)


def test_degenerate_partitions_give_zero_or_null_never_inf(spark: SparkSession) -> None:
    spec = NormalizeSpec(column="x", method="zscore", partition_by=("cat",))
    df = frame(spark, small_rows())
    fitted = normalize.fit_static(df, spec)
    for zero_spread, expected in (("zero", 0.0), ("null", None)):
        out = df.transform(normalize.apply_static(fitted, zero_spread=zero_spread))
        values = {r.row: r[spec.name] for r in out.collect()}
        assert values[4] == expected  # a single-row partition: std 0
        assert values[5] == values[6] == values[7] == expected  # a constant partition
        assert values[10] is None  # a null value stays null
        assert all(v is None or np.isfinite(v) for v in values.values())


def test_hand_computed_zscore_and_robust(spark: SparkSession) -> None:
    df = frame(spark, small_rows())
    z = normalize.NormalizeSpec(column="x", method="zscore", partition_by=("cat",))
    out = {
        r.row: r
        for r in df.transform(normalize.apply_static(normalize.fit_static(df, z), zero_spread="zero")).collect()
    }
    # cat a, fit values 1, 2, 4: mean 7/3, population std sqrt(14/9)
    assert out[0][z.name] == pytest.approx((1 - 7 / 3) / np.sqrt(14 / 9))
    assert out[3][z.name] == pytest.approx((100 - 7 / 3) / np.sqrt(14 / 9))  # applied, not fit on
    r = normalize.NormalizeSpec(column="x", method="robust")
    out = {
        x.row: x
        for x in df.transform(normalize.apply_static(normalize.fit_static(df, r), zero_spread="zero")).collect()
    }
    # fit values 1 2 4 7 3 3 3 5: Q1 2.75, median 3, Q3 4.25 (linear) -> IQR 1.5
    assert out[2][r.name] == pytest.approx((4 - 3) / 1.5)


def test_stats_round_trip_through_norm_stats_rows(spark: SparkSession) -> None:
    """Statistics written as silver/norm_stats rows and loaded back normalize exactly as fitted."""
    from recaug_spark.prep import stats

    df = frame(spark, small_rows())
    for method in METHODS:
        spec = NormalizeSpec(column="x", method=method, partition_by=("cat",))
        fitted = normalize.fit_static(df, spec)
        table = stats.union_all([fitted.stats_rows(spark)], "v1")
        loaded = normalize.StaticStats.load(table, spec, df.schema)
        direct = df.transform(normalize.apply_static(fitted, zero_spread="zero")).select("row", spec.name)
        again = df.transform(normalize.apply_static(loaded, zero_spread="zero")).select("row", spec.name)
        assert sorted(direct.collect()) == sorted(again.collect())


@pytest.mark.parametrize("method", METHODS)
def test_inversion_recovers_the_value(spark: SparkSession, method: str) -> None:
    spec = NormalizeSpec(column="x", method=method, partition_by=("cat",), window_days=2)
    out = frame(spark, random_events(3)).transform(normalize.apply_rolling(spec, zero_spread="zero"))
    back = normalize.invert(spec, F.col(spec.name), F.col(f"{spec.name}_center"), F.col(f"{spec.name}_scale"))
    has_spread = (F.col(f"{spec.name}_scale") != 0) & F.col("x").isNotNull()
    rows = out.where(has_spread).select("x", back.alias("back")).collect()
    assert rows, "some rows must have a spread to invert"
    for row in rows:
        assert row.back == pytest.approx(row.x, rel=1e-9)


def random_events(seed: int, n: int = 60) -> list[tuple]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-03-01T00:00:00")
    seconds = np.sort(rng.integers(0, 6 * 86_400, n))
    cats = rng.choice(["a", "b", "c", None], n)
    xs = np.round(rng.lognormal(2, 1, n), 2)
    xs[rng.random(n) < 0.05] = np.nan
    return [
        (
            i,
            cats[i],
            f"u{rng.integers(0, 4)}",
            None if np.isnan(xs[i]) else float(xs[i]),
            (start + np.timedelta64(int(seconds[i]), "s")).astype(datetime),
            bool(rng.random() < 0.8),
        )
        for i in range(n)
    ]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), method=st.sampled_from(METHODS), window_days=st.integers(1, 3))
def test_rolling_equals_the_brute_force_reference(
    spark: SparkSession, seed: int, method: str, window_days: int
) -> None:
    spec = NormalizeSpec(column="x", method=method, partition_by=("cat",), window_days=window_days)
    got = _pandas(frame(spark, random_events(seed)).transform(normalize.apply_rolling(spec, zero_spread="zero")))
    expected = reference.rolling(got, spec, got[FIT], list(range(len(got))))
    np.testing.assert_allclose(got[spec.name].to_numpy(dtype=float), expected, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_rolling_never_sees_the_row_itself_or_the_future(spark: SparkSession) -> None:
    """Changing every later row (values, and whether they are fit rows) changes no earlier result."""
    spec = NormalizeSpec(column="x", method="zscore", partition_by=("cat",), window_days=2)
    rows = random_events(7, n=80)
    pivot = rows[40][4]
    changed = [r if r[4] < pivot else (r[0], r[1], r[2], (r[3] or 0.0) * 10 + 1000.0, r[4], not r[5]) for r in rows]
    columns = ("row", spec.name, f"{spec.name}_center", f"{spec.name}_scale")
    before = frame(spark, rows).transform(normalize.apply_rolling(spec, zero_spread="zero"))
    after = frame(spark, changed).transform(normalize.apply_rolling(spec, zero_spread="zero"))
    earlier = F.col("ts") < F.lit(pivot)
    assert sorted(before.where(earlier).select(*columns).collect()) == sorted(
        after.where(earlier).select(*columns).collect()
    )
    # A row's own value never counts: the first row of each key has no statistics.
    first = before.orderBy("ts").dropDuplicates(["cat"]).collect()
    assert all(r[f"{spec.name}_center"] is None for r in first)


def test_window_and_join_strategies_agree(spark: SparkSession) -> None:
    """The benchmark's two static strategies give the same values where every key has fit rows."""
    spec = NormalizeSpec(column="x", method="zscore", partition_by=("cat",))
    df = frame(spark, [r for r in small_rows() if r[1] not in ("unseen", None)])
    joined = df.transform(normalize.apply_static(normalize.fit_static(df, spec), zero_spread="zero"))
    windowed = df.transform(normalize.apply_static_by_window(spec, zero_spread="zero"))
    left = {r.row: r[spec.name] for r in joined.collect()}
    right = {r.row: r[spec.name] for r in windowed.collect()}
    assert left.keys() == right.keys()
    for key, value in left.items():
        assert value == pytest.approx(right[key]) if value is not None else right[key] is None
