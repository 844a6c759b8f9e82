"""The pure computations behind the Spark wrappers of augment/spark.py, on pandas frames and numpy arrays.

Everything here runs inside a vectorized UDF (or a test) and is a function of its input rows only:

* :func:`apply_kernel` runs a numeric kernel over a batch of (row key, copy) rows;
* :func:`edit_sequence` edits one user's time-ordered history once per copy, with any :data:`FrameEdit`
  (a function of the user's rows as numpy columns: per-user pandas frames cost milliseconds each);
* :func:`item_edit` turns a sequence kernel on item ids (crop, mask, reorder, substitute, insert,
  slide_window, subset_split, pseudo_prior) into a frame edit, and :func:`session_shift` does the same for the
  context kernel ``time_shift``. An empty edit (a slide_window copy without a full window) writes no
  rows for its copy.

Timestamps of edited sequences: output position ``j`` takes the ``j``-th earliest timestamp of the
source rows (its "slot"), not its own source's, so a reordered span really is in a new order when read
back by time; crop, mask, substitute, slide_window and subset_split keep every timestamp; an inserted
event takes its neighbour's slot plus one microsecond, so it follows the event it was inserted after
(the n-th row of one slot, n microseconds: pseudo_prior's k drawn items and the first event share the
first slot). Timestamps are int64 microseconds since the epoch (UTC) here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recaug_spark.augment import context
from recaug_spark.augment.sequence import Edit
from recaug_spark.rng import Draws

KEY = "_aug_key"  # 64-bit row key (xxhash64 of event_id for rows, of user_id for sequences)
SESSION_KEY = "_aug_session_key"  # 64-bit key of the event's session (time_shift moves sessions)
COPY = "aug_copy"
SOURCE_EVENT_ID = "source_event_id"
CHANGED = "changed"
SEQUENCE_COLUMNS = ("user_id", "event_id", "item_id", "event_type", "ts", "session_id", KEY, SESSION_KEY)

ColumnKernel = Callable[[list[np.ndarray], Draws], list[np.ndarray]]
Rows = dict[str, np.ndarray]  # one user's events, column -> values (strings as objects, ts as int64 µs)
FrameEdit = Callable[[Rows, Draws], Rows]


def keys_of(values: pd.Series | np.ndarray) -> np.ndarray:
    """Spark's signed 64-bit keys as the generator's unsigned ones (same bits)."""
    return np.asarray(values, dtype=np.int64).view(np.uint64)


def apply_kernel(
    kernel: ColumnKernel, values: list[np.ndarray], keys: np.ndarray, copies: np.ndarray, *, seed: int, label: str
) -> list[np.ndarray]:
    """The kernel's outputs for a batch of rows, per distinct copy with draws of the ``<label>`` stream.

    Which copies are kept (the ``p`` gate) is decided before, in Spark (augment/spark.py ``kept``), so
    the rows that are dropped never travel to Python. A batch whose rows are all of one copy (every
    batch when ``copies = 1``) goes to the kernel whole: the same values (a row's output depends on
    its own draws only) without a mask, a gather and a scatter per copy (about 12 ns a row, as much
    as a cheap kernel such as jitter).
    """
    if len(copies) and copies.min() == copies.max():
        draws = Draws.of(seed=seed, op=label, copy=int(copies[0]), keys=keys)
        return [np.asarray(result, dtype=np.float64) for result in kernel(values, draws)]
    outputs = [np.full(len(keys), np.nan) for _ in values]
    for copy in np.unique(copies):
        rows = copies == copy
        draws = Draws.of(seed=seed, op=label, copy=int(copy), keys=keys[rows])
        for output, result in zip(outputs, kernel([v[rows] for v in values], draws), strict=True):
            output[rows] = result
    return outputs


def take(rows: Rows, index: np.ndarray) -> Rows:
    """The rows at ``index`` (every column)."""
    return {name: values[index] for name, values in rows.items()}


def occurrences(values: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions hold the same value (0 for the first)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    position = np.arange(len(values))
    starts = np.r_[True, ordered[1:] != ordered[:-1]] if len(values) else np.zeros(0, dtype=bool)
    first = np.maximum.accumulate(np.where(starts, position, 0)) if len(values) else position
    out = np.empty(len(values), dtype=np.int64)
    out[order] = position - first
    return out


def item_edit(kernel: Callable[[np.ndarray, Draws], Edit]) -> FrameEdit:
    """A sequence kernel on item ids as an edit of the sequence's rows (oldest first).

    Output row ``j`` copies its source row (event type, session, lineage), takes the kernel's item and
    the ``j``-th time slot (see the module docstring); ``event_id`` becomes the source's id, suffixed
    ``+n`` for the n-th extra row of one source (an insert), so ids stay unique.
    """

    def edit(rows: Rows, draws: Draws) -> Rows:
        result = kernel(rows["item_id"], draws)
        out = take(rows, result.source)
        slots = np.sort(result.source)
        out["ts"] = rows["ts"][slots] + occurrences(slots)  # microseconds: the n-th row of a slot, + n
        out[SOURCE_EVENT_ID] = out["event_id"]
        occurrence = occurrences(result.source)
        if occurrence.any():
            ids = out["event_id"].copy()
            for i in np.flatnonzero(occurrence):
                ids[i] = f"{ids[i]}+{occurrence[i]}"
            out["event_id"] = ids
        out["item_id"] = result.items
        out[CHANGED] = result.changed
        return out

    return edit


def session_shift(within: str) -> FrameEdit:
    """``time_shift`` as an edit: every session of the sequence moves as a block inside its day or
    week, with draws keyed by the session (the rows' ``_aug_session_key``)."""

    def edit(rows: Rows, draws: Draws) -> Rows:
        by_session = Draws(draws.stream, keys_of(rows[SESSION_KEY]), draws.copy)
        shifted = context.time_shift(rows["ts"], by_session, within=within)
        out = dict(rows)
        out[SOURCE_EVENT_ID] = rows["event_id"]
        out["ts"] = shifted
        out[CHANGED] = shifted != rows["ts"]
        return out

    return edit


@dataclass(frozen=True)
class SequenceRecipe:
    """How one op runs over sequences: its draws (seed, label), gate ``p``, ``copies``, the history
    bound, and which sequence lengths it applies to."""

    seed: int
    label: str
    p: float
    copies: int
    max_history: int
    eligible: Callable[[int], bool]


def time_order(rows: Rows) -> np.ndarray:
    """Positions of the rows by (ts, event_id)."""
    by_id = np.argsort(rows["event_id"], kind="stable")
    return by_id[np.argsort(rows["ts"][by_id], kind="stable")]


def edit_sequence(rows: Rows, edit: FrameEdit, recipe: SequenceRecipe) -> Rows:
    """One user's rows: the most recent ``max_history`` events, in time order, edited once per copy
    that the ``<label>/apply`` draw (below ``p``) keeps; the copies' rows concatenated (a copy whose
    edit is empty adds none). The edit's draws carry the copy (``Draws.copy``)."""
    rows = take(rows, time_order(rows)[-recipe.max_history :])
    n = len(rows["event_id"])
    outputs = []
    if n and recipe.eligible(n):
        key = keys_of(rows[KEY][:1])
        for copy in range(recipe.copies):
            gate = Draws.of(seed=recipe.seed, op=f"{recipe.label}/apply", copy=copy, keys=key)
            if gate.uniform(0)[0] < recipe.p:
                edited = edit(rows, Draws.of(seed=recipe.seed, op=recipe.label, copy=copy, keys=key))
                edited[COPY] = np.full(len(edited["event_id"]), copy, dtype=np.int32)
                outputs.append(edited)
    names = [*rows, SOURCE_EVENT_ID, CHANGED, COPY]
    if not outputs:
        return {name: np.array([], dtype=rows[name].dtype if name in rows else object) for name in names}
    return {name: np.concatenate([out[name] for out in outputs]) for name in names}
