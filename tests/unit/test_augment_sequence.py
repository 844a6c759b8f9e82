"""Sequence kernels: hypothesis invariants on random sequences and similarity tables (no Spark)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.augment import sequence
from recaug_spark.augment.rng import Draws
from recaug_spark.augment.sequence import SimilarItems

ITEMS = [f"i{k}" for k in range(8)]
sequences = st.lists(st.sampled_from(ITEMS), min_size=0, max_size=40).map(lambda xs: np.array(xs, dtype=object))
ratios = st.floats(0.0, 1.0)
tables = st.dictionaries(st.sampled_from(ITEMS), st.lists(st.sampled_from([*ITEMS, "new"]), min_size=0, max_size=4))
keys = st.integers(0, 2**64 - 1)


def draws(key: int, op: str = "op") -> Draws:
    return Draws.of(seed=3, op=op, copy=0, keys=np.array([key], dtype=np.uint64))


@settings(max_examples=80)
@given(items=sequences, eta=ratios, key=keys)
def test_crop_keeps_one_contiguous_span(items: np.ndarray, eta: float, key: int) -> None:
    edit = sequence.crop(items, draws(key), eta=eta)
    n = len(items)
    if n == 0:
        assert len(edit.source) == 0
        return
    assert len(edit.source) == max(1, int(np.floor(eta * n))) >= 1
    np.testing.assert_array_equal(edit.source, np.arange(edit.source[0], edit.source[0] + len(edit.source)))
    assert edit.source[-1] < n and list(edit.items) == list(items[edit.source])


@settings(max_examples=80)
@given(items=sequences, gamma=ratios, key=keys)
def test_mask_ratio_with_a_token_and_by_removal(items: np.ndarray, gamma: float, key: int) -> None:
    k = int(np.floor(gamma * len(items)))
    masked = sequence.mask(items, draws(key), gamma=gamma, token="[MASK]")
    assert masked.changed.sum() == k and (masked.items[masked.changed] == "[MASK]").all()
    assert list(masked.items[~masked.changed]) == list(items[~masked.changed])
    removed = sequence.mask(items, draws(key), gamma=gamma)
    assert len(removed.source) == len(items) - k and (np.diff(removed.source) > 0).all()
    assert list(removed.items) == list(items[removed.source])


@settings(max_examples=80)
@given(items=sequences, beta=ratios, key=keys)
def test_reorder_permutes_one_contiguous_span(items: np.ndarray, beta: float, key: int) -> None:
    edit = sequence.reorder(items, draws(key), beta=beta)
    n = len(items)
    np.testing.assert_array_equal(np.sort(edit.source), np.arange(n))
    moved = np.flatnonzero(edit.source != np.arange(n))
    if len(moved):
        span = np.arange(moved[0], moved[-1] + 1)
        assert set(edit.source[span]) == set(span)  # a permutation within one contiguous span
        assert len(span) <= max(1, int(np.floor(beta * n)))
    assert list(edit.items) == list(items[edit.source])


@settings(max_examples=80)
@given(items=sequences, ratio=ratios, table=tables, key=keys)
def test_substitute_uses_only_similar_items(items: np.ndarray, ratio: float, table: dict, key: int) -> None:
    similar = SimilarItems(table)
    edit = sequence.substitute(items, draws(key), ratio=ratio, similar=similar)
    eligible = sum(len(similar.similar_to(item)) > 0 for item in items)
    assert edit.changed.sum() == int(np.floor(ratio * eligible))
    for original, new, changed in zip(items, edit.items, edit.changed, strict=True):
        assert (new in similar.similar_to(original)) if changed else new == original
    np.testing.assert_array_equal(edit.source, np.arange(len(items)))


@settings(max_examples=80)
@given(items=sequences, ratio=ratios, table=tables, key=keys)
def test_insert_adds_similar_items_next_to_their_source(items: np.ndarray, ratio: float, table: dict, key: int) -> None:
    similar = SimilarItems(table)
    edit = sequence.insert(items, draws(key), ratio=ratio, similar=similar)
    eligible = sum(len(similar.similar_to(item)) > 0 for item in items)
    assert len(edit.items) == len(items) + int(np.floor(ratio * eligible))
    assert list(edit.items[~edit.changed]) == list(items)  # the original sequence, in order
    for position in np.flatnonzero(edit.changed):
        assert edit.source[position] == edit.source[position - 1]
        assert edit.items[position] in similar.similar_to(items[edit.source[position]])


@pytest.mark.parametrize("op", ["crop", "mask", "reorder", "substitute", "insert"])
def test_empty_and_single_event_sequences(op: str) -> None:
    similar = SimilarItems({"a": ["b"]})
    with_similar = {"ratio": 1.0, "similar": similar}
    kwargs = {"crop": {"eta": 0.5}, "mask": {"gamma": 0.5}, "reorder": {"beta": 0.5},
              "substitute": with_similar, "insert": with_similar}[op]  # fmt: skip
    kernel = getattr(sequence, op)
    assert len(kernel(np.array([], dtype=object), draws(1), **kwargs).items) == 0
    one = kernel(np.array(["a"], dtype=object), draws(1), **kwargs)
    expected = {"crop": ["a"], "mask": ["a"], "reorder": ["a"], "substitute": ["b"], "insert": ["a", "b"]}[op]
    assert list(one.items) == expected


def test_short_sequences_get_only_insert_and_substitute() -> None:
    assert [op for op in ("crop", "mask", "reorder", "substitute", "insert") if sequence.allowed(op, 3, 3)] == [
        "substitute",
        "insert",
    ]
    assert all(sequence.allowed(op, 4, 3) for op in ("crop", "mask", "reorder"))


def test_the_same_key_gives_the_same_edit_and_another_key_another() -> None:
    items = np.array(ITEMS * 4, dtype=object)
    a, b = sequence.reorder(items, draws(11), beta=0.5), sequence.reorder(items, draws(11), beta=0.5)
    np.testing.assert_array_equal(a.source, b.source)
    others = [tuple(sequence.reorder(items, draws(k), beta=0.5).source) for k in range(12, 20)]
    assert len(set(others)) > 1
