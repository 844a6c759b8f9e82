"""Quality of synthetic data: fidelity and privacy metric values, and the report writer (no Spark)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recaug_spark.quality.fidelity import (
    contingency_similarity,
    correlation_similarity,
    fidelity,
    ks_complement,
    tv_complement,
)
from recaug_spark.quality.privacy import distance_to_closest, encode_for_distance, privacy
from recaug_spark.report.quality import write_quality_report

CONTINUOUS = ["price", "quantity"]
CATEGORICAL = ["category", "channel"]


def shop(n: int, seed: int) -> pd.DataFrame:
    """Correlated mixed-type rows: quantity follows price, channel follows category."""
    rng = np.random.default_rng(seed)
    price = rng.lognormal(3.0, 0.5, n)
    quantity = 0.05 * price + rng.normal(0.0, 0.3, n)
    category = rng.choice(np.array(["books", "games", "music", "toys"]), n, p=[0.4, 0.3, 0.2, 0.1])
    channel = np.where(category == "books", "web", np.where(rng.random(n) < 0.8, "app", "web"))
    return pd.DataFrame({"price": price, "category": category, "quantity": quantity, "channel": channel})


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column permuted independently: same marginals, no dependence between columns."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame.columns})


def brute_ks(real: np.ndarray, synthetic: np.ndarray) -> float:
    r, s = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    points = np.concatenate([r, s])
    f_r = (r[None, :] <= points[:, None]).mean(axis=1)
    f_s = (s[None, :] <= points[:, None]).mean(axis=1)
    return float(np.max(np.abs(f_r - f_s)))


def brute_dcr(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.sqrt(((query[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2)).min(axis=1)


# -- columns -------------------------------------------------------------------------------------------------


def test_ks_complement_hand_cases() -> None:
    assert ks_complement(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])) == pytest.approx(1 - 1 / 3)
    x = np.array([3.0, 1.0, 2.0, 2.0])
    assert ks_complement(x, x[::-1].copy()) == 1.0
    assert ks_complement(np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])) == 0.0
    assert ks_complement(np.array([1.0, np.nan, 2.0]), np.array([2.0, 1.0])) == 1.0  # NaN dropped
    assert ks_complement(np.array([np.nan]), np.array([np.nan])) == 1.0
    assert ks_complement(np.array([np.nan]), np.array([1.0])) == 0.0


small_floats = hnp.arrays(
    np.float64, st.integers(1, 30), elements=st.one_of(st.integers(-5, 5).map(float), st.floats(-1e3, 1e3))
)


@settings(max_examples=150, deadline=None)
@given(small_floats, small_floats)
def test_ks_complement_matches_brute_force(real: np.ndarray, synthetic: np.ndarray) -> None:
    assert ks_complement(real, synthetic) == pytest.approx(1.0 - brute_ks(real, synthetic), abs=1e-12)


def test_tv_complement_hand_cases() -> None:
    real, syn = pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "b", "b"])
    assert tv_complement(real, syn) == pytest.approx(1 - 0.5 * (0.25 + 0.25))
    assert tv_complement(real, real.sample(frac=1.0, random_state=0)) == 1.0
    assert tv_complement(pd.Series(["a", "b"]), pd.Series(["c", "d"])) == 0.0
    # None is a level of its own (and None, NaN and pd.NA are the same level)
    assert tv_complement(pd.Series(["a", None, "a", None]), pd.Series(["a", "a", "a", "a"])) == pytest.approx(0.5)
    assert tv_complement(pd.Series(["a", None]), pd.Series(["a", np.nan])) == 1.0
    assert tv_complement(pd.Series(["a", None, None, None]), pd.Series(["a", "a", None, None])) == pytest.approx(0.75)


# -- pairs ---------------------------------------------------------------------------------------------------


def test_correlation_similarity_hand_cases() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert correlation_similarity(x, x, x, 3 * x - 1) == 1.0
    assert correlation_similarity(x, x, x, -x) == 0.0
    assert correlation_similarity(x, x, x, np.ones(4)) == 0.5  # constant column -> correlation 0
    y = np.array([1.0, 3.0, 2.0, 4.0])  # r(x, y) = 0.8
    assert correlation_similarity(x, y, x, x) == pytest.approx(1 - 0.2 / 2)
    with_nan = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    assert correlation_similarity(with_nan, np.array([1.0, 2.0, -7.0, 4.0, 5.0]), x, x) == pytest.approx(1.0)


def test_contingency_similarity_hand_cases() -> None:
    a, b = ["x", "x", "y", "y"], ["u", "v", "u", "v"]
    assert contingency_similarity(a, b, a, b) == 1.0
    # same marginals, different joint: (x,u) .5, (y,v) .5 vs .25 each of four cells -> TV = 0.5
    assert contingency_similarity(a, b, ["x", "x", "y", "y"], ["u", "u", "v", "v"]) == pytest.approx(0.5)
    # None is a level: (x, None) vs (x, u)
    assert contingency_similarity(["x", "x"], [None, "u"], ["x", "x"], ["u", "u"]) == pytest.approx(0.5)


# -- fidelity ------------------------------------------------------------------------------------------------


def test_fidelity_of_identical_frames_is_one() -> None:
    real = shop(500, seed=1)
    report = fidelity(real, real.copy(), continuous=CONTINUOUS, categorical=CATEGORICAL)
    assert report.overall == 1.0 and report.column_score == 1.0 and report.pair_score == 1.0
    assert list(report.columns) == ["price", "category", "quantity", "channel"]  # the real frame's order
    assert report.column_metric == {
        "price": "ks_complement",
        "category": "tv_complement",
        "quantity": "ks_complement",
        "channel": "tv_complement",
    }
    assert len(report.pairs) == 6
    assert report.pair_metric["price|quantity"] == "correlation_similarity"
    assert report.pair_metric["price|category"] == "contingency_similarity"
    assert report.pair_metric["category|channel"] == "contingency_similarity"
    assert set(report.to_dict()) == {
        "columns",
        "column_metric",
        "pairs",
        "pair_metric",
        "column_score",
        "pair_score",
        "overall",
    }


def test_fidelity_of_independently_shuffled_columns_keeps_columns_loses_pairs() -> None:
    real = shop(2000, seed=2)
    report = fidelity(real, shuffled(real, seed=3), continuous=CONTINUOUS, categorical=CATEGORICAL)
    assert report.column_score == 1.0  # permutations keep every marginal exactly
    assert report.pairs["price|quantity"] < 0.8  # real r ~ 0.75, shuffled r ~ 0
    assert report.pairs["category|channel"] < 0.8
    assert report.pair_score < 0.9
    assert report.overall == pytest.approx((report.column_score + report.pair_score) / 2)


def test_fidelity_bins_continuous_members_on_real_quantiles() -> None:
    real = pd.DataFrame({"x": np.arange(100.0), "c": np.repeat(["lo", "hi"], 50)})
    same_bins = pd.DataFrame({"x": np.arange(100.0) + 0.25, "c": np.repeat(["lo", "hi"], 50)})
    report = fidelity(real, same_bins, continuous=["x"], categorical=["c"], bins=2)
    assert report.pairs["x|c"] == 1.0  # every value stays in its real-quantile bin
    swapped = pd.DataFrame({"x": np.arange(100.0), "c": np.repeat(["hi", "lo"], 50)})
    assert fidelity(real, swapped, continuous=["x"], categorical=["c"], bins=2).pairs["x|c"] == 0.0


def test_fidelity_single_column_and_errors() -> None:
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    report = fidelity(real, pd.DataFrame({"x": [2.0, 3.0, 4.0]}), continuous=["x"], categorical=[])
    assert report.pairs == {} and report.pair_score == report.column_score == pytest.approx(2 / 3)
    assert report.overall == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="'y'"):
        fidelity(real, real, continuous=["x", "y"], categorical=[])
    with pytest.raises(ValueError, match=r"synthetic.*'z'"):
        fidelity(real.assign(z=1), real, continuous=["x"], categorical=["z"])


# -- privacy -------------------------------------------------------------------------------------------------


def test_encoder_mismatch_adds_one_and_missing_matches_missing() -> None:
    train = pd.DataFrame({"x": [0.0, 10.0, None], "c": ["a", "b", None]})
    encode = encode_for_distance(train, continuous=["x"], categorical=["c"])
    rows = encode(pd.DataFrame({"x": [10.0, 10.0, None, 10.0], "c": ["a", "b", None, "unseen"]}))
    sq = ((rows[:, None, :] - rows[None, :, :]) ** 2).sum(axis=2)
    assert sq[0, 1] == pytest.approx(1.0)  # a vs b
    assert sq[1, 3] == pytest.approx(1.0)  # b vs a level the training rows lack
    assert sq[0, 0] == 0.0
    assert rows[2, 0] == -1.0
    assert (encode(train.iloc[[2]]) == rows[[2]]).all()  # missing matches missing exactly


finite = st.floats(-100, 100, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda d: st.tuples(
            hnp.arrays(np.float64, st.tuples(st.integers(0, 12), st.just(d)), elements=finite),
            hnp.arrays(np.float64, st.tuples(st.integers(1, 12), st.just(d)), elements=finite),
        )
    ),
    st.integers(1, 5),
)
def test_distance_to_closest_matches_brute_force(arrays: tuple[np.ndarray, np.ndarray], chunk_rows: int) -> None:
    query, reference = arrays
    query = np.concatenate([query, reference[:2]])  # some exact copies
    got = distance_to_closest(query, reference, chunk_rows=chunk_rows)
    np.testing.assert_allclose(got, brute_dcr(query, reference), rtol=1e-9, atol=1e-6)
    assert (got[-min(2, len(reference)) :] == 0.0).all()
    np.testing.assert_array_equal(got, distance_to_closest(query, reference, chunk_rows=10_000))


def test_distance_to_closest_is_exactly_zero_for_copies_at_scale() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(1e4, 1.0, size=(3000, 6))  # a large offset: the fast formula cancels badly
    query = np.concatenate([reference[rng.choice(3000, 500)], reference[:500] + 1e-3])
    got = distance_to_closest(query, reference, chunk_rows=128)
    assert (got[:500] == 0.0).all()
    np.testing.assert_allclose(got[500:], 1e-3 * np.sqrt(6), rtol=1e-6)


def test_distance_to_closest_finds_copies_hidden_among_near_duplicates() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(1e5, 1.0, size=(1000, 5))
    near = base * (1 + rng.integers(1, 50, size=base.shape) * 1e-16)  # a few ulps off: ties for the fast formula
    reference = np.concatenate([near, base, base * (1 - 3e-16)])[rng.permutation(3000)]
    got = distance_to_closest(base[rng.permutation(1000)], reference, chunk_rows=256)
    assert (got == 0.0).all()


def test_privacy_of_exact_copies() -> None:
    train, holdout = shop(1500, seed=5), shop(500, seed=6)
    copies = train.sample(500, random_state=0).reset_index(drop=True)
    report = privacy(train, holdout, copies, continuous=CONTINUOUS, categorical=CATEGORICAL)
    assert report.exact_copy_share == 1.0
    assert report.holdout_exact_copy_share == 0.0
    assert report.dcr_ratio == 0.0
    assert report.dcr_synthetic == {"p05": 0.0, "p50": 0.0, "mean": 0.0}
    assert report.dcr_holdout["p50"] > 0.0
    assert report.rows == {"train": 1500, "holdout": 500, "synthetic": 500}


def test_privacy_counts_a_crafted_share_of_copies_exactly() -> None:
    train, holdout = shop(1500, seed=7), shop(500, seed=8)
    synthetic = pd.concat([train.iloc[:300], shop(700, seed=9)], ignore_index=True)
    report = privacy(train, holdout, synthetic, continuous=CONTINUOUS, categorical=CATEGORICAL)
    assert report.exact_copy_share == 0.30


def test_privacy_of_fresh_draws_matches_holdout() -> None:
    train, holdout, synthetic = shop(2000, seed=10), shop(800, seed=11), shop(800, seed=12)
    report = privacy(train, holdout, synthetic, continuous=CONTINUOUS, categorical=CATEGORICAL)
    assert report.exact_copy_share == 0.0
    assert 0.7 <= report.dcr_ratio <= 1.5
    assert report.to_dict()["dcr_ratio"] == report.dcr_ratio


def test_privacy_ratio_edge_cases() -> None:
    train = pd.DataFrame({"c": ["a", "b"]})
    same = privacy(train, train, train, continuous=[], categorical=["c"])
    assert same.dcr_ratio == 1.0 and same.holdout_exact_copy_share == 1.0
    other = privacy(train, train, pd.DataFrame({"c": ["z"]}), continuous=[], categorical=["c"])
    assert other.dcr_ratio == math.inf and other.dcr_synthetic["p50"] == pytest.approx(1.0)


# -- report --------------------------------------------------------------------------------------------------


def write(tmp_path: Path, real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> list[Path]:
    return write_quality_report(
        tmp_path,
        fidelity=fidelity(real, synthetic, continuous=CONTINUOUS, categorical=CATEGORICAL),
        privacy=privacy(real, holdout, synthetic, continuous=CONTINUOUS, categorical=CATEGORICAL),
        real=real,
        synthetic=synthetic,
        continuous=CONTINUOUS,
        categorical=CATEGORICAL,
        meta={"generator": "gaussian-copula 0.1", "run_id": "r-42", "rows": len(synthetic)},
    )


def test_report_writes_json_markdown_and_one_png_per_column(tmp_path: Path) -> None:
    real, holdout = shop(600, seed=13), shop(300, seed=14)
    real["weird name/α"] = real["category"]
    synthetic = shop(400, seed=15).assign(**{"weird name/α": "books"})
    cats = [*CATEGORICAL, "weird name/α"]
    paths = write_quality_report(
        tmp_path,
        fidelity=fidelity(real, synthetic, continuous=CONTINUOUS, categorical=cats),
        privacy=privacy(real, holdout, synthetic, continuous=CONTINUOUS, categorical=CATEGORICAL),
        real=real,
        synthetic=synthetic,
        continuous=CONTINUOUS,
        categorical=cats,
        meta={"generator": "gaussian-copula 0.1", "run_id": "r-42", "rows": len(synthetic)},
    )
    assert paths[:2] == [tmp_path / "quality.json", tmp_path / "quality.md"]
    pngs = paths[2:]
    assert [p.name for p in pngs] == [
        "hist_price.png",
        "hist_category.png",
        "hist_quantity.png",
        "hist_channel.png",
        "hist_weird_name.png",
    ]
    for png in pngs:
        assert png.read_bytes()[:4] == b"\x89PNG"

    data = json.loads((tmp_path / "quality.json").read_text())
    assert data["meta"] == {"generator": "gaussian-copula 0.1", "run_id": "r-42", "rows": 400}
    assert 0.0 < data["fidelity"]["overall"] < 1.0
    assert data["privacy"]["exact_copy_share"] == 0.0

    md = (tmp_path / "quality.md").read_text(encoding="utf-8")
    assert "no exact copies of training rows" in md
    assert "synthetic rows are no closer to training rows than unseen real rows (DCR ratio" in md
    assert "r-42" in md and "gaussian-copula 0.1" in md
    for png in pngs:
        assert f"({png.name})" in md


def test_report_flags_copies_and_writes_inf_as_null(tmp_path: Path) -> None:
    real = shop(300, seed=16)
    holdout = real.iloc[:100].reset_index(drop=True)  # the holdout repeats training rows: median DCR 0
    synthetic = pd.concat([real.iloc[:10], shop(90, seed=17)], ignore_index=True)
    write(tmp_path, real, synthetic, holdout)
    data = json.loads((tmp_path / "quality.json").read_text())
    assert data["privacy"]["dcr_ratio"] is None  # inf
    assert data["privacy"]["exact_copy_share"] == 0.1
    md = (tmp_path / "quality.md").read_text(encoding="utf-8")
    assert "10 exact copies of training rows (10.00%)" in md


def test_report_flags_memorisation(tmp_path: Path) -> None:
    real, holdout = shop(400, seed=18), shop(200, seed=19)
    near = real.iloc[:200].assign(price=lambda f: f["price"] * 1.0001).reset_index(drop=True)
    write(tmp_path, real, near, holdout)
    md = (tmp_path / "quality.md").read_text(encoding="utf-8")
    assert "closer to training rows than unseen real rows: possible memorisation" in md
