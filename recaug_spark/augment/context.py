"""Context augmentation kernels: time shifts that keep sessions intact, and categorical jitter.

    time_shift          each session moves, as a block, to a random start inside its own day (or
                        week): new_start = period_start + floor(u (period - duration)), u ~ U[0, 1);
                        every event of the session moves by the same offset, so order and gaps inside
                        the session are kept and no event leaves the period. A session longer than the
                        period, or crossing its end, stays where it is.
    categorical_jitter  with probability p, a value (location, device, ...) is replaced by one drawn
                        from ``choices`` with probabilities ``weights`` (e.g. the observed frequencies)

Draws for time_shift are keyed by the session (rows of one session share the key, hence the draw).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recaug_spark.rng import Draws

MICROS = {"day": 86_400 * 1_000_000, "week": 7 * 86_400 * 1_000_000}


def time_shift(ts_us: np.ndarray, draws: Draws, *, within: str) -> np.ndarray:
    """Shift each session (rows sharing a draws key) inside its day or week (``within``).

    Args:
        ts_us: event times in microseconds since the epoch (UTC).
        draws: keyed by session: rows of one session must share the key.
        within: ``day`` or ``week`` (weeks start on Thursday 1970-01-01, as epoch arithmetic does).
    """
    period = MICROS[within]
    ts = np.asarray(ts_us, dtype=np.int64)
    if len(ts) == 0:
        return ts.copy()
    _, session = np.unique(draws.keys, return_inverse=True)
    first = np.full(session.max() + 1, np.iinfo(np.int64).max)
    last = np.full(session.max() + 1, np.iinfo(np.int64).min)
    np.minimum.at(first, session, ts)
    np.maximum.at(last, session, ts)
    start, end = first[session], last[session]
    period_start = (start // period) * period
    slack = period - 1 - (end - start)  # the block may start anywhere in [period_start, period_start + slack]
    fits = (end < period_start + period) & (slack >= 0)
    new_start = period_start + np.floor(draws.uniform(0) * (np.maximum(slack, 0) + 1)).astype(np.int64)
    return np.where(fits, ts + (new_start - start), ts)


def categorical_jitter(
    values: np.ndarray,
    draws: Draws,
    *,
    p: float,
    choices: Sequence[object] | np.ndarray,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Replace a share ``p`` of values by draws from ``choices`` (uniform, or with ``weights``)."""
    out = np.asarray(values, dtype=object).copy()
    if not len(choices):
        return out
    probabilities = np.full(len(choices), 1 / len(choices)) if weights is None else np.asarray(weights, float)
    cumulative = np.cumsum(probabilities / probabilities.sum())
    hit = draws.uniform(0) < p
    picked = np.searchsorted(cumulative, draws.uniform(1), side="right").clip(0, len(choices) - 1)
    out[hit] = np.asarray(choices, dtype=object)[picked[hit]]
    return out
