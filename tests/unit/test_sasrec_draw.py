"""Drawing items from SASRec (recommend/sasrec/draw.py): the nucleus and the inverse CDF by hand, the
whole autoregressive draw against a plain numpy reference, and its invariants under hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.recommend.sasrec.draw import ANY, Sampling, draw, inverse_cdf, nucleus
from recaug_spark.recommend.sasrec.model import Architecture, SASRec
from recaug_spark.rng import Draws

ITEMS = 12
CATEGORY = np.arange(ITEMS) % 3  # column c's category


def _model(seed: int = 0) -> SASRec:
    torch.manual_seed(seed)
    model = SASRec(Architecture(items=ITEMS, max_len=6, hidden=8, inner=16, layers=1, heads=2, dropout=0.2))
    with torch.no_grad():  # spread the item embeddings so the distributions are far from uniform
        model.items.weight.mul_(40)
    return model.eval()


def test_the_nucleus_keeps_the_first_columns_to_reach_the_mass_ties_by_column() -> None:
    p = torch.tensor([[0.2, 0.3, 0.2, 0.3], [0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)
    assert nucleus(p, 0.5).tolist() == [[0.0, 0.3, 0.0, 0.3], [0.25, 0.25, 0.0, 0.0]]
    assert nucleus(p, 0.61).tolist() == [[0.2, 0.3, 0.0, 0.3], [0.25, 0.25, 0.25, 0.0]]  # 0.6 < 0.61: one more
    assert nucleus(p, 0.01).tolist() == [[0.0, 0.3, 0.0, 0.0], [0.25, 0.0, 0.0, 0.0]]  # never empty
    assert torch.equal(nucleus(p, 1.0), p)


def test_the_inverse_cdf_splits_the_unit_interval_by_weight() -> None:
    weights = torch.tensor([[1.0, 0.0, 3.0]] * 5)
    got = inverse_cdf(weights, torch.tensor([0.0, 0.2499, 0.25, 0.9, 0.999999]))
    assert got.tolist() == [0, 0, 2, 2, 2]  # [0, 1/4) -> 0, [1/4, 1) -> 2, the zero-weight column never


def _reference(
    model: SASRec, histories: np.ndarray, uniforms: np.ndarray, sampling: Sampling, categories: np.ndarray
) -> np.ndarray:
    """One row and one step at a time, in numpy from the model's scores."""
    out = np.zeros_like(uniforms, dtype=np.int64)
    for r in range(len(histories)):
        context = list(histories[r])
        seen = {i for i in context if i}
        for s in range(uniforms.shape[1]):
            with torch.no_grad():
                scores = model.logits(model.last_hidden(torch.tensor([context]))).double().numpy()[0]
            allowed = [c for c in range(ITEMS) if categories[r, s] in (ANY, CATEGORY[c])]
            if sampling.exclude_seen:
                allowed = [c for c in allowed if c + 1 not in seen] or [c for c in range(ITEMS) if c + 1 not in seen]
            allowed = allowed or list(range(ITEMS))
            z = scores[allowed] / sampling.temperature
            p = np.exp(z - z.max())
            p /= p.sum()
            order = sorted(range(len(allowed)), key=lambda j: (-p[j], allowed[j]))
            kept, mass = [], 0.0
            for j in order:
                if kept and mass >= sampling.top_p:
                    break
                kept.append(j)
                mass += p[j]
            kept.sort(key=lambda j: allowed[j])
            cumulative = np.cumsum([p[j] for j in kept])
            pick = kept[min(int(np.searchsorted(cumulative, uniforms[r, s] * cumulative[-1], side="right")),
                            len(kept) - 1)]  # fmt: skip
            out[r, s] = allowed[pick] + 1
            seen.add(allowed[pick] + 1)
            context = [*context[1:], allowed[pick] + 1]
    return out


@pytest.mark.parametrize(
    "sampling", [Sampling(), Sampling(temperature=0.5, top_p=0.7), Sampling(temperature=2.0, exclude_seen=False)]
)
def test_the_draw_agrees_with_a_numpy_reference(sampling: Sampling) -> None:
    model = _model()
    histories = np.array([[0, 0, 0, 0, 1, 2], [3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 9], [1, 4, 7, 10, 2, 5]])
    keys = np.arange(1, 5, dtype=np.uint64)
    uniforms = Draws.of(seed=3, op="draw", copy=0, keys=keys).spread_rows(5).uniform(0)
    categories = np.array([[ANY] * 5, [0, 1, 2, 0, 1], [2, 2, 2, 2, 2], [1, ANY, 1, 1, 1]])
    got = draw(model, histories, uniforms, sampling, categories=categories, item_category=CATEGORY)
    assert got.tolist() == _reference(model, histories, uniforms, sampling, categories).tolist()


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 6), min_size=1, max_size=6),
    steps=st.integers(1, 5),
    seed=st.integers(0, 2**31),
    top_p=st.sampled_from([0.3, 0.9, 1.0]),
    restricted=st.booleans(),
)
def test_draws_are_unseen_catalogue_items_of_the_category_and_a_function_of_the_key(
    lengths: list[int], steps: int, seed: int, top_p: float, restricted: bool
) -> None:
    model = _model(seed % 3)
    rng = np.random.default_rng(seed)
    histories = np.zeros((len(lengths), 6), dtype=np.int64)
    for r, n in enumerate(lengths):  # distinct items, so at least 6 of 12 stay unseen
        histories[r, 6 - n :] = rng.permutation(ITEMS)[:n] + 1
    keys = rng.integers(1, 2**62, size=len(lengths)).astype(np.uint64)
    uniforms = Draws.of(seed=seed, op="draw", copy=0, keys=keys).spread_rows(steps).uniform(0)
    categories = rng.integers(0, 3, size=(len(lengths), steps)) if restricted else np.full((len(lengths), steps), ANY)
    sampling = Sampling(top_p=top_p)
    got = draw(model, histories, uniforms, sampling, categories=categories, item_category=CATEGORY)
    assert got.shape == (len(lengths), steps)
    assert ((got >= 1) & (got <= ITEMS)).all()
    for r in range(len(lengths)):
        drawn = list(got[r])
        assert len(set(drawn)) == steps and not set(drawn) & set(histories[r][histories[r] > 0])
        for s, item in enumerate(drawn):
            unseen_in_category = (
                {c + 1 for c in range(ITEMS) if CATEGORY[c] == categories[r, s] or categories[r, s] == ANY}
                - set(histories[r])
                - set(drawn[:s])
            )
            assert item in unseen_in_category or not unseen_in_category
    alone = draw(model, histories[-1:], uniforms[-1:], sampling, categories=categories[-1:], item_category=CATEGORY)
    assert alone.tolist() == got[-1:].tolist()  # a row's items depend on its key, not on its batch
    again = draw(model, histories, uniforms, sampling, categories=categories, item_category=CATEGORY)
    assert np.array_equal(again, got)


def test_sampling_refuses_a_temperature_or_nucleus_out_of_range() -> None:
    with pytest.raises(ValueError, match="temperature"):
        Sampling(temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        Sampling(top_p=0)
