"""Context kernels: sessions shift as blocks inside their period; categorical jitter share and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.augment import context
from recaug_spark.rng import Draws

DAY = context.MICROS["day"]
T0 = 1_700_000_000 * 1_000_000  # 2023-11-14 22:13:20 UTC

sessions = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 3 * DAY)),  # (session, offset from T0)
    min_size=0,
    max_size=40,
)


@settings(max_examples=80)
@given(rows=sessions, within=st.sampled_from(["day", "week"]), seed=st.integers(0, 100))
def test_sessions_move_as_blocks_inside_their_period(rows: list[tuple[int, int]], within: str, seed: int) -> None:
    period = context.MICROS[within]
    session = np.array([s for s, _ in rows], dtype=np.uint64)
    ts = np.array([T0 + t for _, t in rows], dtype=np.int64)
    draws = Draws.of(seed=seed, op="time_shift", copy=0, keys=session)
    shifted = context.time_shift(ts, draws, within=within)
    frame = pd.DataFrame({"session": session, "ts": ts, "shifted": shifted})
    for _, group in frame.groupby("session"):
        offsets = (group.shifted - group.ts).unique()
        assert len(offsets) == 1  # one offset per session: order and gaps inside it are kept
        start, end = group.ts.min(), group.ts.max()
        if start // period == end // period:  # a session inside one period stays inside it
            assert (group.shifted // period == start // period).all()
        else:
            assert offsets[0] == 0


def test_time_shift_moves_sessions_independently_and_uniformly() -> None:
    n = 20_000
    draws = Draws.of(seed=1, op="time_shift", copy=0, keys=np.arange(n, dtype=np.uint64))
    ts = np.full(n, (T0 // DAY) * DAY)  # every session: one event at midnight
    hour = (context.time_shift(ts, draws, within="day") % DAY) // (3_600 * 1_000_000)
    counts = np.bincount(hour, minlength=24)
    assert ((counts - n / 24) ** 2 / (n / 24)).sum() < 60  # chi-square, 23 dof


def test_time_shift_of_nothing() -> None:
    empty = Draws.of(seed=1, op="t", copy=0, keys=np.array([], dtype=np.uint64))
    assert context.time_shift(np.array([], dtype=np.int64), empty, within="week").shape == (0,)


@pytest.mark.parametrize("weights", [None, [0.7, 0.2, 0.1]])
def test_categorical_jitter_share_and_values(weights: list[float] | None) -> None:
    n = 50_000
    values = np.array(["home"] * n, dtype=object)
    draws = Draws.of(seed=2, op="jitter", copy=0, keys=np.arange(n, dtype=np.uint64))
    out = context.categorical_jitter(values, draws, p=0.3, choices=["a", "b", "c"], weights=weights)
    changed = out != "home"
    assert abs(changed.mean() - 0.3) < 5 * np.sqrt(0.21 / n)
    assert set(out[changed]) <= {"a", "b", "c"}
    shares = pd.Series(out[changed]).value_counts(normalize=True).reindex(["a", "b", "c"]).to_numpy()
    expected = np.full(3, 1 / 3) if weights is None else np.array(weights)
    np.testing.assert_allclose(shares, expected, atol=0.02)
