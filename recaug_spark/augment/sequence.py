"""Sequence augmentation kernels on one user's time-ordered training events (pure numpy).

Each kernel takes the item ids of one sequence (oldest first) and the sequence's
:class:`~recaug_spark.rng.Draws` (one key: the sequence's), and returns a :class:`Edit`:
for every output position, the source position it derives from and its item. The Spark layer copies
the other columns of the source row, so timestamps, event types and lineage follow the items.

    crop          keep one contiguous span of L = max(1, floor(eta n)) events, start ~ U{0..n-L}
    mask          k = floor(gamma n) positions (a random k-subset): item -> token, or the event removed
    reorder       shuffle the items inside one contiguous span of L = max(1, floor(beta n)) positions
    substitute    k = floor(ratio m) of the m positions whose item has similar items: replace the item
                  by one of them (uniformly)
    insert        after k = floor(ratio m) such positions, insert one of the item's similar items
    slide_window  copy c (Draws.copy): positions [n - c stride - length, n - c stride), so copy 0 is the
                  ``length`` most recent events; empty when that window would start before position 0
    subset_split  each event kept when its draw u_i >= dropout (probability 1 - dropout), in order;
                  when no event is, the one with the largest u_i

slide_window and subset_split are DA4Rec's sliding window and subset split (Zhou et al., WWW 2024);
slide_window draws nothing: its copies are the ``copies`` most recent windows. A kernel returns an
empty :class:`Edit` when a copy has no output (then no rows are written for it).

Similar items come from a table item -> array of similar items (top-k co-occurrence in training
sessions, computed in Spark). Sequences of at most ``short_max`` events get only insert and
substitute (their specs say ``short``, augment/ops.py), since cutting or shuffling them leaves too
little signal.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from recaug_spark.rng import Draws

K = TypeVar("K", bound=Hashable)  # an item id (SimilarItems' keys: strings in the stage, ints in SASRec's views)


class SimilarItems:
    """item -> its similar items, stored flat (CSR) so lookups and picks are vectorized.

    Example:
        >>> table = SimilarItems({"a": ["b", "c"], "b": ["a"]})
        >>> table.rows(np.array(["a", "z", "b"])).tolist()
        [0, -1, 1]
        >>> table.pick(np.array([0, 0, 1]), np.array([0.1, 0.9, 0.5])).tolist()
        ['b', 'c', 'a']
    """

    def __init__(self, table: Mapping[K, Sequence[object]]) -> None:
        kept = {item: list(options) for item, options in table.items() if len(options) > 0}
        self.index = pd.Index(list(kept))
        self.offsets = np.cumsum([0, *[len(options) for options in kept.values()]])
        self.values = np.array([o for options in kept.values() for o in options], dtype=object)

    def rows(self, items: np.ndarray) -> np.ndarray:
        """The table row of each item, -1 for items without similar items."""
        rows: np.ndarray = self.index.get_indexer(items) if len(self.index) else np.full(len(items), -1)
        return rows

    def pick(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One similar item per table row, the ``u``-th quantile of its list (u ~ U[0, 1))."""
        counts = self.offsets[rows + 1] - self.offsets[rows]
        picked: np.ndarray = self.values[self.offsets[rows] + np.minimum((u * counts).astype(np.int64), counts - 1)]
        return picked

    def similar_to(self, item: object) -> set[object]:
        """The similar items of ``item`` (empty when none)."""
        row = self.rows(np.array([item], dtype=object))[0]
        return set() if row < 0 else set(self.values[self.offsets[row] : self.offsets[row + 1]].tolist())


@dataclass(frozen=True)
class Edit:
    """An edited sequence: ``source[i]`` is the input position output ``i`` derives from, ``items[i]``
    its item, ``changed[i]`` whether the op altered or created it."""

    source: np.ndarray
    items: np.ndarray
    changed: np.ndarray

    @classmethod
    def identity(cls, items: np.ndarray) -> Edit:
        n = len(items)
        return cls(np.arange(n), np.asarray(items).copy(), np.zeros(n, dtype=bool))


def spans(lengths: np.ndarray, ratio: float, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``lengths`` (one per key of ``draws``): a span of about ``ratio`` of the row (at least
    one item; none of an empty row) and its start, drawn by draw 0. Crop and reorder edit it; the
    contrastive views' batch forms (recommend/sasrec/views.py) call it for many rows at once."""
    span = np.where(lengths > 0, np.maximum(1, np.floor(ratio * lengths).astype(np.int64)), 0)
    start = draws.integers(0, 0, np.maximum(lengths - span + 1, 1))
    return start, span


def _span(n: int, ratio: float, draws: Draws) -> tuple[int, int]:
    start, length = spans(np.array([n], dtype=np.int64), ratio, draws)
    return int(start[0]), int(length[0])


def crop(items: np.ndarray, draws: Draws, *, eta: float) -> Edit:
    """Keep a contiguous span of about ``eta`` of the sequence (at least one event)."""
    n = len(items)
    if n == 0:
        return Edit.identity(items)
    start, length = _span(n, eta, draws)
    source = np.arange(start, start + length)
    return Edit(source, np.asarray(items)[source], np.zeros(length, dtype=bool))


def _choose(n: int, k: int, draws: Draws, index: int) -> np.ndarray:
    """A random k-subset of range(n), sorted."""
    return np.sort(draws.spread(n).permutation(index)[:k]) if n else np.array([], dtype=np.int64)


def mask(items: np.ndarray, draws: Draws, *, gamma: float, token: object | None = None) -> Edit:
    """Mask floor(gamma n) events: their item becomes ``token``, or (token None) they are removed."""
    n = len(items)
    chosen = _choose(n, int(np.floor(gamma * n)), draws, 0)
    edit = Edit.identity(items)
    if token is None:
        keep = np.ones(n, dtype=bool)
        keep[chosen] = False
        return Edit(edit.source[keep], edit.items[keep], edit.changed[keep])
    out = edit.items.astype(object)
    out[chosen] = token
    changed = np.zeros(n, dtype=bool)
    changed[chosen] = True
    return Edit(edit.source, out, changed)


def reorder(items: np.ndarray, draws: Draws, *, beta: float) -> Edit:
    """Shuffle the events of one contiguous span of about ``beta`` of the sequence."""
    n = len(items)
    if n == 0:
        return Edit.identity(items)
    start, length = _span(n, beta, draws)
    source = np.arange(n)
    source[start : start + length] = start + draws.spread(length).permutation(1)
    return Edit(source, np.asarray(items)[source], source != np.arange(n))


def _chosen_similar(
    items: np.ndarray, draws: Draws, ratio: float, similar: SimilarItems
) -> tuple[np.ndarray, np.ndarray]:
    """floor(ratio m) random positions among the m whose item has similar items, and a pick for each."""
    rows = similar.rows(items)
    eligible = np.flatnonzero(rows >= 0)
    chosen = eligible[_choose(len(eligible), int(np.floor(ratio * len(eligible))), draws, 0)]
    picks = similar.pick(rows[chosen], draws.spread(len(items)).uniform(1)[chosen])
    return chosen, picks


def substitute(items: np.ndarray, draws: Draws, *, ratio: float, similar: SimilarItems) -> Edit:
    """Replace floor(ratio m) of the m items that have similar items by one of those."""
    edit = Edit.identity(items)
    chosen, picks = _chosen_similar(edit.items, draws, ratio, similar)
    out = edit.items.astype(object)
    out[chosen] = picks
    changed = np.zeros(len(items), dtype=bool)
    changed[chosen] = True
    return Edit(edit.source, out, changed)


def insert(items: np.ndarray, draws: Draws, *, ratio: float, similar: SimilarItems) -> Edit:
    """After floor(ratio m) of the m items that have similar items, insert one of those."""
    items = np.asarray(items)
    chosen, picks = _chosen_similar(items, draws, ratio, similar)
    copies = np.ones(len(items), dtype=np.int64)
    copies[chosen] = 2
    source = np.repeat(np.arange(len(items)), copies)
    inserted = np.zeros(len(source), dtype=bool)
    inserted[1:] = source[1:] == source[:-1]  # the second row of a repeated position is the new one
    out = items[source].astype(object)
    out[inserted] = picks
    return Edit(source, out, inserted)


def slide_window(items: np.ndarray, draws: Draws, *, length: int = 20, stride: int = 1) -> Edit:
    """Copy ``draws.copy`` = c: the ``length`` events ending ``c * stride`` events before the end.

    Copy 0 is the ``length`` most recent events; a sequence shorter than ``length`` has no window, and
    a copy whose window would start before the first event is empty (no output rows). No random draw.

    Args:
        items: the sequence's item ids, oldest first.
        draws: the sequence's draws; only ``draws.copy`` is read.
        length: events per window (at least 1).
        stride: events between the ends of consecutive copies' windows (at least 1).

    Returns:
        The window's positions and items (nothing changed), or an empty edit.

    Raises:
        ValueError: ``length`` or ``stride`` below 1.

    Example:
        >>> items = np.array(list("abcdefgh"), dtype=object)
        >>> key = np.array([1], dtype=np.uint64)
        >>> copies = [Draws.of(seed=0, op="0:slide_window", copy=c, keys=key) for c in range(4)]
        >>> ["".join(slide_window(items, d, length=3, stride=2).items) for d in copies]
        ['fgh', 'def', 'bcd', '']
    """
    if length < 1 or stride < 1:
        raise ValueError(f"slide_window needs length >= 1 and stride >= 1, got length={length}, stride={stride}")
    end = len(items) - draws.copy * stride
    source = np.arange(end - length, end) if end - length >= 0 else np.arange(0)
    return Edit(source, np.asarray(items)[source], np.zeros(len(source), dtype=bool))


def subset_split(items: np.ndarray, draws: Draws, *, dropout: float = 0.25) -> Edit:
    """Keep each event independently with probability ``1 - dropout`` (its draw u >= dropout), in order.

    When no event would be kept, the one with the largest draw is, so a non-empty sequence keeps at
    least one event (DA4Rec resamples instead; this is one deterministic pass).

    Args:
        items: the sequence's item ids, oldest first.
        draws: the sequence's draws (one key); event i uses uniform draw 0 of position i.
        dropout: the probability that an event is dropped, in (0, 1).

    Returns:
        The kept positions and items (nothing changed).

    Raises:
        ValueError: ``dropout`` outside (0, 1).

    Example:
        >>> items = np.array(list("abcdefgh"), dtype=object)
        >>> d = Draws.of(seed=0, op="0:subset_split", copy=0, keys=np.array([1], dtype=np.uint64))
        >>> edit = subset_split(items, d, dropout=0.5)
        >>> kept = d.spread(8).uniform(0) >= 0.5
        >>> edit.source.tolist() == np.flatnonzero(kept).tolist() and not edit.changed.any()
        True
    """
    if not 0 < dropout < 1:
        raise ValueError(f"subset_split needs 0 < dropout < 1, got {dropout}")
    n = len(items)
    if n == 0:
        return Edit.identity(items)
    u = draws.spread(n).uniform(0)
    keep = u >= dropout
    if not keep.any():
        keep[np.argmax(u)] = True
    source = np.flatnonzero(keep)
    return Edit(source, np.asarray(items)[source], np.zeros(len(source), dtype=bool))
