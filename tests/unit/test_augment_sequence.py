"""Sequence kernels: hypothesis invariants on random sequences and similarity tables (no Spark)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.augment import sequence
from recaug_spark.augment.sequence import SimilarItems
from recaug_spark.rng import Draws

ITEMS = [f"i{k}" for k in range(8)]
sequences = st.lists(st.sampled_from(ITEMS), min_size=0, max_size=40).map(lambda xs: np.array(xs, dtype=object))
ratios = st.floats(0.0, 1.0)
tables = st.dictionaries(st.sampled_from(ITEMS), st.lists(st.sampled_from([*ITEMS, "new"]), min_size=0, max_size=4))
keys = st.integers(0, 2**64 - 1)


def draws(key: int, op: str = "op", copy: int = 0) -> Draws:
    return Draws.of(seed=3, op=op, copy=copy, keys=np.array([key], dtype=np.uint64))


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


@pytest.mark.parametrize("op", ["crop", "mask", "reorder", "substitute", "insert", "slide_window", "subset_split"])
def test_empty_and_single_event_sequences(op: str) -> None:
    similar = SimilarItems({"a": ["b"]})
    with_similar = {"ratio": 1.0, "similar": similar}
    kwargs = {"crop": {"eta": 0.5}, "mask": {"gamma": 0.5}, "reorder": {"beta": 0.5},
              "substitute": with_similar, "insert": with_similar, "slide_window": {"length": 1},
              "subset_split": {"dropout": 0.9}}[op]  # fmt: skip
    kernel = getattr(sequence, op)
    assert len(kernel(np.array([], dtype=object), draws(1), **kwargs).items) == 0
    one = kernel(np.array(["a"], dtype=object), draws(1), **kwargs)
    expected = {"crop": ["a"], "mask": ["a"], "reorder": ["a"], "substitute": ["b"], "insert": ["a", "b"],
                "slide_window": ["a"], "subset_split": ["a"]}[op]  # fmt: skip
    assert list(one.items) == expected


def test_the_same_key_gives_the_same_edit_and_another_key_another() -> None:
    items = np.array(ITEMS * 4, dtype=object)
    a, b = sequence.reorder(items, draws(11), beta=0.5), sequence.reorder(items, draws(11), beta=0.5)
    np.testing.assert_array_equal(a.source, b.source)
    others = [tuple(sequence.reorder(items, draws(k), beta=0.5).source) for k in range(12, 20)]
    assert len(set(others)) > 1


# -- slide_window -----------------------------------------------------------------------------------------

LETTERS = np.array(list("abcdefgh"), dtype=object)


def test_slide_window_by_hand() -> None:
    windows = [sequence.slide_window(LETTERS, draws(1, copy=c), length=3, stride=2) for c in range(4)]
    assert [e.source.tolist() for e in windows] == [[5, 6, 7], [3, 4, 5], [1, 2, 3], []]
    assert ["".join(e.items) for e in windows] == ["fgh", "def", "bcd", ""]
    assert not any(e.changed.any() for e in windows)
    assert windows[3].source.dtype.kind == "i" and windows[3].items.dtype == object  # typed, for item_edit
    strided = [sequence.slide_window(LETTERS, draws(1, copy=c), length=2, stride=3) for c in range(4)]
    assert ["".join(e.items) for e in strided] == ["gh", "de", "ab", ""]


def test_slide_window_needs_a_full_window() -> None:
    assert len(sequence.slide_window(LETTERS[:2], draws(1), length=3).source) == 0  # n < length: nothing
    whole = sequence.slide_window(LETTERS[:3], draws(1), length=3)  # n == length: copy 0 is the sequence
    assert whole.source.tolist() == [0, 1, 2]
    assert len(sequence.slide_window(LETTERS[:3], draws(1, copy=1), length=3).source) == 0
    assert len(sequence.slide_window(LETTERS[:0], draws(1), length=1).source) == 0


def test_slide_window_draws_nothing_the_key_is_irrelevant() -> None:
    first = sequence.slide_window(LETTERS, draws(1, "a", copy=1), length=4, stride=1)
    other = sequence.slide_window(LETTERS, draws(2, "b", copy=1), length=4, stride=1)
    assert first.source.tolist() == other.source.tolist() == [3, 4, 5, 6]


@pytest.mark.parametrize(("length", "stride"), [(0, 1), (3, 0), (-1, 2)])
def test_slide_window_rejects_bad_parameters(length: int, stride: int) -> None:
    with pytest.raises(ValueError, match="length >= 1 and stride >= 1"):
        sequence.slide_window(LETTERS, draws(1), length=length, stride=stride)


@settings(max_examples=120)
@given(items=sequences, length=st.integers(1, 45), stride=st.integers(1, 10), copy=st.integers(0, 12), key=keys)
def test_slide_window_copy_c_is_the_window_ending_c_strides_before_the_end(
    items: np.ndarray, length: int, stride: int, copy: int, key: int
) -> None:
    edit = sequence.slide_window(items, draws(key, copy=copy), length=length, stride=stride)
    n, end = len(items), len(items) - copy * stride
    if end - length >= 0:
        np.testing.assert_array_equal(edit.source, np.arange(end - length, end))
        assert list(edit.items) == list(items[n - copy * stride - length : n - copy * stride])
    else:
        assert len(edit.source) == len(edit.items) == len(edit.changed) == 0
    assert (np.diff(edit.source) > 0).all() and not edit.changed.any()  # a subsequence, in order


# -- subset_split -----------------------------------------------------------------------------------------


def test_subset_split_keeps_the_events_whose_draw_reaches_dropout() -> None:
    d = draws(5, "0:subset_split")
    u = d.spread(8).uniform(0)
    edit = sequence.subset_split(LETTERS, d, dropout=0.5)
    assert edit.source.tolist() == [i for i in range(8) if u[i] >= 0.5]
    assert list(edit.items) == [LETTERS[i] for i in edit.source] and not edit.changed.any()


def test_subset_split_keeps_the_largest_draw_when_nothing_passes() -> None:
    for key in range(200):  # find sequences of two events whose draws are both below dropout
        u = draws(key).spread(2).uniform(0)
        if (u < 0.9).all():
            edit = sequence.subset_split(LETTERS[:2], draws(key), dropout=0.9)
            assert edit.source.tolist() == [int(np.argmax(u))]
            return
    pytest.fail("no key with both draws below 0.9")


@pytest.mark.parametrize("dropout", [0.0, 1.0, -0.1, 1.5])
def test_subset_split_rejects_a_dropout_outside_0_1(dropout: float) -> None:
    with pytest.raises(ValueError, match="0 < dropout < 1"):
        sequence.subset_split(LETTERS, draws(1), dropout=dropout)


@settings(max_examples=120)
@given(items=sequences, dropout=st.floats(0.01, 0.99), key=keys)
def test_subset_split_is_an_ordered_nonempty_subsequence(items: np.ndarray, dropout: float, key: int) -> None:
    edit = sequence.subset_split(items, draws(key), dropout=dropout)
    assert (np.diff(edit.source) > 0).all() and not edit.changed.any()
    assert list(edit.items) == list(items[edit.source])
    assert len(edit.source) >= 1 if len(items) else len(edit.source) == 0
    again = sequence.subset_split(items, draws(key), dropout=dropout)  # the same draws, the same subset
    np.testing.assert_array_equal(again.source, edit.source)
    u = draws(key).spread(len(items)).uniform(0)
    if (u >= dropout).any():
        np.testing.assert_array_equal(edit.source, np.flatnonzero(u >= dropout))


@pytest.mark.parametrize("dropout", [0.1, 0.25, 0.6])
def test_subset_split_keeps_a_share_of_one_minus_dropout(dropout: float) -> None:
    items = np.array([f"i{k}" for k in range(20_000)], dtype=object)
    kept = len(sequence.subset_split(items, draws(17), dropout=dropout).source) / len(items)
    assert abs(kept - (1 - dropout)) < 0.015  # over 4 standard deviations of the binomial share
    copies = {tuple(sequence.subset_split(items[:30], draws(17, copy=c), dropout=dropout).source) for c in range(6)}
    assert len(copies) > 1  # another copy, another subset
