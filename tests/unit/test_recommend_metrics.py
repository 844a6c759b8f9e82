"""Ranking-metric kernels and the paired bootstrap (pure numpy, no Spark): values checked by hand and by brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.recommend import metrics
from recaug_spark.recommend.bootstrap import PairedDifference, paired_bootstrap, paired_bootstrap_many
from recaug_spark.recommend.metrics import (
    coverage,
    hit_rate_at,
    hits,
    map_at,
    ndcg_at,
    per_user_metrics,
    precision_at,
    recall_at,
    reciprocal_rank,
    top_k_with_ties,
)

LOG2_3 = math.log2(3)
LOG2_5 = math.log2(5)


def csr(sets: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """CSR offsets and items of per-user relevant lists."""
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    items = np.array([i for s in sets for i in s], dtype=np.int64)
    return offsets, items


def metric_row(recommended: list[int], relevant: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Hit matrix and n_relevant of one user."""
    offsets, items = csr([relevant])
    return hits(np.array([recommended], dtype=np.int64), offsets, items), np.array([len(relevant)])


# --- hand-computed cases -------------------------------------------------------------------------------------------


def test_hits_marks_relevant_items_and_never_padding() -> None:
    # user 0 relevant {5}, user 1 relevant {}: bound = 6, so user 1's -1 would be key 1 * 6 - 1 = 5 = user 0's key
    # for item 5 without the padding mask.
    hit = hits(np.array([[0, 5], [-1, -1]]), *csr([[5], []]))
    assert hit.tolist() == [[False, True], [False, False]]
    assert hit.dtype == bool


def test_precision_divides_by_k_even_when_fewer_were_recommended() -> None:
    # recommended [4, 2, pad, pad, pad], relevant {2, 4}: hits [1, 1, 0, 0, 0]
    hit, n_rel = metric_row([4, 2, -1, -1, -1], [2, 4])
    assert precision_at(hit, 5).tolist() == [2 / 5]  # 2 hits / K=5, not / 2 recommended
    assert precision_at(hit, 10).tolist() == [2 / 10]  # K beyond L: missing ranks are misses
    assert precision_at(hit, 1).tolist() == [1.0]
    assert recall_at(hit, n_rel, 5).tolist() == [1.0]  # 2 / |R|=2
    assert recall_at(hit, n_rel, 1).tolist() == [0.5]  # 1 / 2


def test_map_is_truncated_at_k_with_min_normaliser() -> None:
    # recommended [1, 9, 2, 3], relevant {1, 2, 3}: hits at ranks 1, 3, 4
    hit, n_rel = metric_row([1, 9, 2, 3], [1, 2, 3])
    # K=2: the hit at rank 3 = K+1 adds nothing; normaliser min(3, 2) = 2: (1/1) / 2 = 0.5
    assert map_at(hit, n_rel, 2) == pytest.approx([0.5], abs=1e-12)
    # K=3: (1/1 + 2/3) / min(3, 3) = 5/9
    assert map_at(hit, n_rel, 3) == pytest.approx([5 / 9], abs=1e-12)
    # K=4: (1/1 + 2/3 + 3/4) / 3 = 29/36
    assert map_at(hit, n_rel, 4) == pytest.approx([29 / 36], abs=1e-12)
    # K=1: (1/1) / min(3, 1) = 1
    assert map_at(hit, n_rel, 1) == pytest.approx([1.0], abs=1e-12)
    # fewer relevant than K: relevant {9} at rank 2, K=4: (1/2) / min(1, 4) = 0.5
    hit, n_rel = metric_row([1, 9, 2, 3], [9])
    assert map_at(hit, n_rel, 4) == pytest.approx([0.5], abs=1e-12)


def test_ndcg_with_fewer_relevant_items_than_k() -> None:
    # recommended [5, 6, 7, 8], relevant {6}, K=4: DCG = 1/log2(3); IDCG over min(1, 4) = 1 rank: 1/log2(2) = 1
    hit, n_rel = metric_row([5, 6, 7, 8], [6])
    assert ndcg_at(hit, n_rel, 4) == pytest.approx([1 / LOG2_3], abs=1e-12)
    # relevant {6, 8}: DCG = 1/log2(3) + 1/log2(5); IDCG over 2 ranks = 1 + 1/log2(3)
    hit, n_rel = metric_row([5, 6, 7, 8], [6, 8])
    assert ndcg_at(hit, n_rel, 4) == pytest.approx([(1 / LOG2_3 + 1 / LOG2_5) / (1 + 1 / LOG2_3)], abs=1e-12)
    # K=2 cuts the hit at rank 4: DCG = 1/log2(3); IDCG = 1 + 1/log2(3)
    assert ndcg_at(hit, n_rel, 2) == pytest.approx([(1 / LOG2_3) / (1 + 1 / LOG2_3)], abs=1e-12)
    # a perfect list scores 1 even with K > L
    hit, n_rel = metric_row([6, 8], [6, 8])
    assert ndcg_at(hit, n_rel, 5) == pytest.approx([1.0], abs=1e-12)


def test_mrr_counts_first_hit_beyond_k() -> None:
    # recommended [1, 2, 3, 4], relevant {4}: first hit at rank 4 > K=2
    hit, _ = metric_row([1, 2, 3, 4], [4])
    assert hit_rate_at(hit, 2).tolist() == [0.0]
    assert precision_at(hit, 2).tolist() == [0.0]
    assert reciprocal_rank(hit).tolist() == [0.25]  # 1 / 4: the whole list, not cut at K
    assert hit_rate_at(hit, 4).tolist() == [1.0]
    # no hit at all: 0
    hit, _ = metric_row([1, 2, 3, -1], [7])
    assert reciprocal_rank(hit).tolist() == [0.0]
    # empty lists
    assert reciprocal_rank(np.zeros((2, 0), dtype=bool)).tolist() == [0.0, 0.0]


def test_coverage_counts_distinct_items_in_top_k() -> None:
    rec = np.array([[0, 1, 2], [1, 3, -1]])
    assert coverage(rec, k=2, n_items=10) == 0.3  # top 2: {0, 1} and {1, 3} -> {0, 1, 3}: 3 / 10
    assert coverage(rec, k=3, n_items=10) == 0.4  # adds 2 (padding ignored): 4 / 10
    with pytest.raises(ValueError, match="catalogue"):
        coverage(rec, k=3, n_items=3)


def test_per_user_metrics_excludes_users_without_relevant_items() -> None:
    rec = np.array([[1, 2, 3], [1, 2, 3], [3, 2, 1], [4, 5, 6]])
    offsets, items = csr([[2], [], [1, 3], []])
    m = per_user_metrics(rec, offsets, items, ks=[1, 3])
    assert m["included"].tolist() == [True, False, True, False]
    assert set(m) == {
        *(f"{name}@{k}" for name in ("precision", "recall", "ndcg", "map", "hit_rate") for k in (1, 3)),
        "mrr",
        "included",
    }
    # user 0: hit at rank 2; user 2: hits at ranks 1 and 3
    assert m["precision@1"].tolist() == [0.0, 1.0]
    assert m["precision@3"] == pytest.approx([1 / 3, 2 / 3], abs=1e-12)
    assert m["recall@3"].tolist() == [1.0, 1.0]
    assert m["hit_rate@1"].tolist() == [0.0, 1.0]
    assert m["map@3"] == pytest.approx([1 / 2, (1 + 2 / 3) / 2], abs=1e-12)
    assert m["ndcg@3"] == pytest.approx([1 / LOG2_3, (1 + 1 / 2) / (1 + 1 / LOG2_3)], abs=1e-12)
    assert m["mrr"].tolist() == [0.5, 1.0]
    assert all(v.shape == (2,) for key, v in m.items() if key != "included")


def test_invalid_inputs_are_rejected() -> None:
    hit, _ = metric_row([1, 2], [1])
    with pytest.raises(ValueError, match="n_relevant"):
        recall_at(hit, np.array([0]), 1)
    with pytest.raises(ValueError, match="k must"):
        precision_at(hit, 0)
    with pytest.raises(ValueError, match="de-duplicated"):
        hits(np.array([[1, 2]]), *csr([[1, 1]]))
    with pytest.raises(ValueError, match="offsets"):
        hits(np.array([[1, 2]]), np.array([0, 3]), np.array([1, 2]))
    with pytest.raises(ValueError, match="padding"):
        hits(np.array([[1, -2]]), *csr([[1]]))
    with pytest.raises(ValueError, match="ks"):
        per_user_metrics(np.array([[1]]), *csr([[1]]), ks=[])
    with pytest.raises(ValueError, match="NaN"):
        top_k_with_ties(np.array([[np.nan, 1.0]]), k=1)


# --- Spark MLlib RankingMetrics documentation example ---------------------------------------------------------------

# pyspark.mllib.evaluation.RankingMetrics doctest: predictionAndLabels =
#   ([1, 6, 2, 7, 8, 3, 9, 10, 4, 5], [1, 2, 3, 4, 5])  hits at ranks 1, 3, 6, 9, 10
#   ([4, 1, 5, 6, 2, 7, 3, 8, 9, 10], [1, 2, 3])       hits at ranks 2, 5, 7
#   ([1, 2, 3, 4, 5], [])                              no labels: Spark scores 0 and averages over all 3 users
# The installed docstring prints precisionAt(1) 0.33..., precisionAt(5) 0.26..., precisionAt(15) 0.17...,
# meanAveragePrecision 0.35..., meanAveragePrecisionAt(1) 0.3333333333333333..., meanAveragePrecisionAt(2) 0.25...,
# ndcgAt(3) 0.33..., ndcgAt(10) 0.48..., recallAt(1) 0.06..., recallAt(5) 0.35..., recallAt(15) 0.66...;
# the exact values below are the hand arithmetic, consistent with those prints (and with the Scala guide's
# MAP 0.355026, NDCG@10 0.487913).
SPARK_DOC = {
    "precision@1": (1 + 0) / 3,  # 0.333...
    "precision@5": (2 / 5 + 2 / 5) / 3,  # 0.2666...
    "precision@15": (5 / 15 + 3 / 15) / 3,  # 0.1777...
    "map@10": ((1 + 2 / 3 + 3 / 6 + 4 / 9 + 5 / 10) / 5 + (1 / 2 + 2 / 5 + 3 / 7) / 3) / 3,  # 0.355026...
    "map@1": (1 / 1 + 0) / 3,  # 0.333...
    "map@2": (1 / 2 + (1 / 2) / 2) / 3,  # 0.25
    "ndcg@3": ((1 + 1 / 2) / (1 + 1 / LOG2_3 + 1 / 2) + (1 / LOG2_3) / (1 + 1 / LOG2_3 + 1 / 2)) / 3,  # 1/3
    "ndcg@10": 0.48791274569166343,  # sum of the two users' DCG/IDCG below, / 3
    "recall@1": (1 / 5 + 0) / 3,  # 0.0666...
    "recall@5": (2 / 5 + 2 / 3) / 3,  # 0.3555...
    "recall@15": (5 / 5 + 3 / 3) / 3,  # 0.666...
}
SPARK_PRINTED = {
    "precision@1": 0.33,
    "precision@5": 0.26,
    "precision@15": 0.17,
    "map@10": 0.35,
    "map@1": 0.3333333333333333,
    "map@2": 0.25,
    "ndcg@3": 0.33,
    "ndcg@10": 0.48,
    "recall@1": 0.06,
    "recall@5": 0.35,
    "recall@15": 0.66,
}


def test_matches_spark_ranking_metrics_doc_example() -> None:
    rec = np.full((3, 10), -1, dtype=np.int64)
    rec[0] = [1, 6, 2, 7, 8, 3, 9, 10, 4, 5]
    rec[1] = [4, 1, 5, 6, 2, 7, 3, 8, 9, 10]
    rec[2, :5] = [1, 2, 3, 4, 5]
    m = per_user_metrics(rec, *csr([[1, 2, 3, 4, 5], [1, 2, 3], []]), ks=[1, 2, 3, 5, 10, 15])
    assert m["included"].tolist() == [True, True, False]
    # ndcg@10 by hand: user 1 DCG = 1 + 1/log2(4) + 1/log2(7) + 1/log2(10) + 1/log2(11),
    # IDCG = sum_{r<=5} 1/log2(r+1); user 2 DCG = 1/log2(3) + 1/log2(6) + 1/log2(8), IDCG = sum_{r<=3} 1/log2(r+1)
    idcg = np.cumsum(1 / np.log2(np.arange(2, 12)))
    u1 = (1 + 1 / 2 + 1 / math.log2(7) + 1 / math.log2(10) + 1 / math.log2(11)) / idcg[4]
    u2 = (1 / LOG2_3 + 1 / math.log2(6) + 1 / 3) / idcg[2]
    assert (u1 + u2) / 3 == pytest.approx(SPARK_DOC["ndcg@10"], abs=1e-12)
    for key, expected in SPARK_DOC.items():
        ours = float(m[key].mean()) * 2 / 3  # mean over the 2 included users, as Spark's mean over all 3
        assert ours == pytest.approx(expected, abs=1e-12), key
        printed = SPARK_PRINTED[key]
        assert str(ours).startswith(str(printed)), (key, ours, printed)  # the doctest's "0.35..." prefix match
    assert float(m["map@10"].mean()) * 2 / 3 == pytest.approx(0.355026, abs=1e-6)  # Scala guide's MAP
    assert float(m["ndcg@10"].mean()) * 2 / 3 == pytest.approx(0.487913, abs=1e-6)


# --- brute-force references under hypothesis ----------------------------------------------------------------------


@st.composite
def ranking_case(draw: st.DrawFn) -> tuple[np.ndarray, list[list[int]]]:
    n_users = draw(st.integers(0, 6))
    length = draw(st.integers(0, 6))
    n_items = draw(st.integers(1, 12))
    rec = np.array(
        [[draw(st.integers(-1, n_items - 1)) for _ in range(length)] for _ in range(n_users)], dtype=np.int64
    ).reshape(n_users, length)
    relevant = [sorted(draw(st.sets(st.integers(0, n_items - 1), max_size=n_items))) for _ in range(n_users)]
    return rec, [draw(st.permutations(r)) for r in relevant]


@settings(max_examples=150, deadline=None)
@given(ranking_case())
def test_hits_matches_set_reference(case: tuple[np.ndarray, list[list[int]]]) -> None:
    rec, relevant = case
    expected = [[item in set(relevant[u]) for item in rec[u]] for u in range(rec.shape[0])]
    assert hits(rec, *csr(relevant)).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(ranking_case(), st.integers(1, 8))
def test_per_user_metrics_match_python_reference(case: tuple[np.ndarray, list[list[int]]], k: int) -> None:
    rec, relevant = case
    m = per_user_metrics(rec, *csr(relevant), ks=[k])
    rows = [u for u in range(rec.shape[0]) if relevant[u]]
    assert m["included"].tolist() == [bool(r) for r in relevant]
    for i, u in enumerate(rows):
        rel = set(relevant[u])
        hit = [int(item in rel) for item in rec[u]]
        top = hit[:k]
        assert m[f"precision@{k}"][i] == pytest.approx(sum(top) / k, abs=1e-12)
        assert m[f"recall@{k}"][i] == pytest.approx(sum(top) / len(rel), abs=1e-12)
        assert m[f"hit_rate@{k}"][i] == float(any(top))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(top))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        assert m[f"ndcg@{k}"][i] == pytest.approx(dcg / idcg, abs=1e-12)
        ap = sum(h * sum(top[: r + 1]) / (r + 1) for r, h in enumerate(top)) / min(len(rel), k)
        assert m[f"map@{k}"][i] == pytest.approx(ap, abs=1e-12)
        assert m["mrr"][i] == pytest.approx(1 / (hit.index(1) + 1) if 1 in hit else 0.0, abs=1e-12)


def top_k_reference(scores: np.ndarray, k: int, exclude: np.ndarray | None, item_ids: np.ndarray | None) -> list:
    """sorted(range(n), key=lambda i: (-score[i], tie[i], i)) per row, excluded dropped, padded with -1."""
    out = []
    for u in range(scores.shape[0]):
        cand = [i for i in range(scores.shape[1]) if exclude is None or not exclude[u, i]]
        tie = (lambda i: (item_ids[i], i)) if item_ids is not None else (lambda i: (i,))
        ranked = sorted(cand, key=lambda i, u=u, tie=tie: (-scores[u, i], *tie(i)))[:k]
        out.append(ranked + [-1] * (k - len(ranked)))
    return out


@st.composite
def score_case(draw: st.DrawFn) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]:
    n_users = draw(st.integers(0, 5))
    n_items = draw(st.integers(0, 10))
    levels = st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0, -np.inf, np.inf])  # few levels: many ties
    scores = np.array([[draw(levels) for _ in range(n_items)] for _ in range(n_users)]).reshape(n_users, n_items)
    k = draw(st.integers(1, 12))
    exclude = None
    if draw(st.booleans()):
        exclude = np.array([[draw(st.booleans()) for _ in range(n_items)] for _ in range(n_users)], dtype=bool)
        exclude = exclude.reshape(n_users, n_items)
        scores = np.where(exclude & draw(st.booleans()), np.nan, scores)  # NaN allowed where excluded
    item_ids = None
    if draw(st.booleans()):
        item_ids = np.array([draw(st.integers(0, 5)) for _ in range(n_items)], dtype=np.int64)  # may repeat
    return scores, k, exclude, item_ids


@settings(max_examples=200, deadline=None)
@given(score_case())
def test_top_k_with_ties_matches_brute_force(
    case: tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None],
) -> None:
    scores, k, exclude, item_ids = case
    got = top_k_with_ties(scores, k=k, exclude=exclude, item_ids=item_ids)
    assert got.dtype == np.int64
    assert got.shape == (scores.shape[0], k)
    assert got.tolist() == top_k_reference(scores, k, exclude, item_ids)


def test_top_k_ties_prefer_lower_index_and_respect_exclusion() -> None:
    scores = np.array([[1.0, 3.0, 3.0, 1.0, 3.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    # row 0: the three 3.0s by index (1, 2, 4), then the 1.0s (0, 3); row 1 all tied -> 0, 1, 2
    assert top_k_with_ties(scores, k=3).tolist() == [[1, 2, 4], [0, 1, 2]]
    # boundary tie: k=2 cuts the 3.0s at index 2 (not 4)
    assert top_k_with_ties(scores, k=2).tolist() == [[1, 2], [0, 1]]
    exclude = np.array([[False, True, False, False, False], [True, True, True, False, True]])
    # row 1 has one candidate: padded with -1
    assert top_k_with_ties(scores, k=3, exclude=exclude).tolist() == [[2, 4, 0], [3, -1, -1]]
    # ids break ties instead of positions: ids 40, 30, 20, 10, 0 reverse the order among equals
    ids = np.array([40, 30, 20, 10, 0])
    assert top_k_with_ties(scores, k=4, item_ids=ids).tolist() == [[4, 2, 1, 3], [4, 3, 2, 1]]
    # string ids are sortable too
    names = np.array(["e", "d", "c", "b", "a"])
    assert top_k_with_ties(scores, k=4, item_ids=names).tolist() == [[4, 2, 1, 3], [4, 3, 2, 1]]


def test_top_k_large_random_matches_full_lexsort(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 6, size=(60, 300)).astype(np.float64)
    exclude = rng.random((60, 300)) < 0.3
    exclude[5] = True  # no candidates at all
    exclude[6, 3:] = True  # 3 candidates only
    key = np.where(exclude, np.inf, -scores)
    order = np.lexsort((np.broadcast_to(np.arange(300), scores.shape), exclude, key), axis=1)[:, :8]
    expected = np.where(np.take_along_axis(exclude, order, axis=1), -1, order)
    got = top_k_with_ties(scores, k=8, exclude=exclude)
    assert np.array_equal(got, expected)
    assert got[5].tolist() == [-1] * 8
    assert got[6, 3:].tolist() == [-1] * 5
    monkeypatch.setattr(metrics, "_TOP_K_BLOCK", 1000)  # several row blocks of 3 rows
    assert np.array_equal(top_k_with_ties(scores, k=8, exclude=exclude), expected)


# --- paired bootstrap -----------------------------------------------------------------------------------------------


def simulated(n: int, seed: int, effect: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """baseline ~ N(0.3, 0.1); variant = baseline + effect + N(0, 0.05): the true mean difference is `effect`."""
    rng = np.random.default_rng(seed)
    baseline = rng.normal(0.3, 0.1, n)
    return baseline + effect + rng.normal(0.0, 0.05, n), baseline


def test_bootstrap_is_deterministic_for_a_seed_and_chunk_independent() -> None:
    variant, baseline = simulated(300, seed=1)
    a = paired_bootstrap(variant, baseline, resamples=250, seed=5)
    assert a == paired_bootstrap(variant, baseline, resamples=250, seed=5)
    assert a == paired_bootstrap(variant, baseline, resamples=250, seed=5, chunk=7)
    assert a == paired_bootstrap(variant, baseline, resamples=250, seed=5, chunk=1000)
    assert a != paired_bootstrap(variant, baseline, resamples=250, seed=6)
    assert isinstance(a, PairedDifference)
    assert (a.n_users, a.resamples) == (300, 250)


def test_bootstrap_matches_its_documented_definition() -> None:
    variant, baseline = simulated(150, seed=2, effect=0.005)
    result = paired_bootstrap(variant, baseline, resamples=400, confidence=0.9, seed=3, chunk=64)
    d = variant - baseline
    means = d[np.random.default_rng(3).integers(0, 150, size=(400, 150))].mean(axis=1)
    low, high = np.quantile(means, [0.05, 0.95], method="linear")
    assert result.ci_low == pytest.approx(low, abs=1e-15)
    assert result.ci_high == pytest.approx(high, abs=1e-15)
    p = min(1.0, 2 * min(np.mean(means <= 0), np.mean(means >= 0)))
    assert result.p_value == pytest.approx(p, abs=1e-15)
    assert result.difference == pytest.approx(d.mean(), abs=1e-15)
    assert result.mean_variant == pytest.approx(variant.mean(), abs=1e-15)
    assert result.mean_baseline == pytest.approx(baseline.mean(), abs=1e-15)
    assert result.relative_lift == pytest.approx(d.mean() / baseline.mean(), abs=1e-15)


def test_bootstrap_interval_covers_known_difference() -> None:
    variant, baseline = simulated(2000, seed=11)
    result = paired_bootstrap(variant, baseline, resamples=1000, seed=0)
    assert result.ci_low < 0.02 < result.ci_high
    assert result.ci_low > 0.0  # the effect is 0.02 with SE ~ 0.05 / sqrt(2000) ~ 0.0011: clearly significant
    assert result.p_value == 0.0
    assert result.relative_lift == pytest.approx(result.difference / result.mean_baseline)


def test_bootstrap_coverage_is_near_nominal() -> None:
    covered = 0
    for rep in range(200):
        variant, baseline = simulated(200, seed=1000 + rep)
        result = paired_bootstrap(variant, baseline, resamples=300, seed=rep)
        covered += result.ci_low <= 0.02 <= result.ci_high
    assert 0.90 <= covered / 200 <= 0.99


def test_bootstrap_identical_arrays_give_zero() -> None:
    values = np.random.default_rng(4).random(50)
    result = paired_bootstrap(values, values.copy(), resamples=100)
    assert (result.difference, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert result.relative_lift == 0.0
    zero = paired_bootstrap(np.ones(5), np.zeros(5), resamples=10)
    assert math.isnan(zero.relative_lift)
    assert zero.difference == 1.0


def test_bootstrap_many_shares_draws_with_single() -> None:
    rng = np.random.default_rng(9)
    baseline = rng.random((120, 3))
    variant = baseline + rng.normal(0.01, 0.05, (120, 3))
    many = paired_bootstrap_many(variant, baseline, resamples=200, seed=13, chunk=30)
    assert len(many) == 3
    for j in range(3):
        assert many[j] == paired_bootstrap(variant[:, j], baseline[:, j], resamples=200, seed=13)
    # the same draw for all columns: a column equal to another gives the same interval
    twin = paired_bootstrap_many(np.column_stack([variant[:, 0]] * 2), np.column_stack([baseline[:, 0]] * 2))
    assert twin[0] == twin[1]


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match="n_users >= 1"):
        paired_bootstrap(np.ones(0), np.ones(0))
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap(np.ones(3), np.ones(3), confidence=1.0)
    with pytest.raises(ValueError, match="resamples"):
        paired_bootstrap(np.ones(3), np.ones(3), resamples=0)
