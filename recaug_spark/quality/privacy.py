"""Privacy of synthetic tabular data: distance to closest record (DCR) and exact copies of training rows.

Rows are encoded by :func:`encode_for_distance`, fitted on the training rows: continuous columns scaled to
[0, 1] by the training min/max (missing -> -1, so missing matches missing), categorical columns one-hot
times 1/sqrt(2) so that a mismatch adds exactly 1 to the squared distance. The DCR of a row is its
Euclidean distance to the nearest training row. Synthetic rows are compared with holdout rows (real rows
the generator never saw): if synthetic rows sit markedly closer to the training rows than fresh real rows
do, the generator is copying rather than generalising.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

MISSING_CONTINUOUS = -1.0  # the encoded value of a missing continuous value: equal to itself, far from [0, 1]
_ONE_HOT = 1.0 / math.sqrt(2.0)  # a categorical mismatch moves two coordinates by this: 1 in squared distance
_PAIR_BATCH = 65_536  # near-tie (query, reference) pairs re-measured exactly at a time


@dataclass(frozen=True)
class PrivacyReport:
    """DCR summaries of synthetic and holdout rows against the training rows.

    Attributes:
        dcr_synthetic: ``{"p05", "p50", "mean"}`` of the DCR of synthetic rows to training rows.
        dcr_holdout: The same for holdout (real, unseen) rows.
        dcr_ratio: Median synthetic DCR / median holdout DCR; >= ~1 means synthetic rows are no closer to
            training rows than fresh real rows are. ``inf`` when only the holdout median is 0, 1.0 when
            both are, NaN when a side has no rows.
        exact_copy_share: Share of synthetic rows identical to some training row (DCR exactly 0).
        holdout_exact_copy_share: The same for holdout rows (the baseline: real data repeats itself).
        rows: ``{"train", "holdout", "synthetic"}`` row counts.
    """

    dcr_synthetic: dict[str, float]
    dcr_holdout: dict[str, float]
    dcr_ratio: float
    exact_copy_share: float
    holdout_exact_copy_share: float
    rows: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """The report as plain types (dicts copied; ``inf``/NaN left as floats for the writer to map)."""
        return asdict(self)


def _continuous(frame: pd.DataFrame, name: str) -> np.ndarray:
    values: np.ndarray = pd.to_numeric(frame[name]).to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _require(frame: pd.DataFrame, names: Sequence[str], label: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(f"columns missing from the {label} rows: {missing}")


def encode_for_distance(
    train: pd.DataFrame, *, continuous: Sequence[str], categorical: Sequence[str]
) -> Callable[[pd.DataFrame], np.ndarray]:
    """Fit a row encoder on the training rows for Euclidean distances between mixed-type rows.

    Continuous columns are scaled by the training min/max (a training value lands in [0, 1]; a constant
    or all-missing column is only shifted), missing values become -1. Categorical values are compared as
    strings with missing as a level of its own, one-hot encoded times 1/sqrt(2), plus one slot for levels
    the training rows lack, so any mismatch adds exactly 1 to the squared distance.

    Args:
        train: The training rows (fixes the scaling and the categorical levels).
        continuous: Names of the continuous columns.
        categorical: Names of the categorical columns.

    Returns:
        A function mapping a frame with those columns to a float64 array of shape (rows, features).

    Raises:
        ValueError: A column is missing from ``train`` (or, when encoding, from the frame given).

    Example:
        >>> enc = encode_for_distance(pd.DataFrame({"x": [0.0, 10.0], "c": ["a", "b"]}),
        ...                           continuous=["x"], categorical=["c"])
        >>> enc(pd.DataFrame({"x": [5.0, None], "c": ["b", "z"]})).round(3).tolist()
        [[0.5, 0.0, 0.707, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0, 0.707]]
    """
    continuous, categorical = list(continuous), list(categorical)
    _require(train, [*continuous, *categorical], "training")
    scales: list[tuple[str, float, float]] = []
    for name in continuous:
        x = _continuous(train, name)
        finite = x[np.isfinite(x)]
        low = float(finite.min()) if len(finite) else 0.0
        span = float(finite.max()) - low if len(finite) else 0.0
        scales.append((name, low, span if span > 0 else 1.0))
    levels: list[tuple[str, pd.Index]] = []
    for name in categorical:
        values = train[name]
        levels.append((name, pd.Index(pd.unique(values[values.notna()].astype(str))).sort_values()))
    width = len(continuous) + sum(len(index) + 2 for _, index in levels)  # + missing slot + unseen slot

    def encode(frame: pd.DataFrame) -> np.ndarray:
        _require(frame, [*continuous, *categorical], "encoded")
        n = len(frame)
        out = np.zeros((n, width), dtype=np.float64)
        for j, (name, low, span) in enumerate(scales):
            x = (_continuous(frame, name) - low) / span
            out[:, j] = np.where(np.isnan(x), MISSING_CONTINUOUS, x)
        offset = len(scales)
        rows = np.arange(n)
        for name, index in levels:
            values = frame[name]
            missing = values.isna().to_numpy()
            codes = index.get_indexer(values.astype(str))
            codes = np.where(codes < 0, len(index) + 1, codes)  # unseen level
            codes = np.where(missing, len(index), codes)  # missing level
            out[rows, offset + codes] = _ONE_HOT
            offset += len(index) + 2
        return out

    return encode


def distance_to_closest(query: np.ndarray, reference: np.ndarray, *, chunk_rows: int = 2048) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference row.

    Query rows are processed ``chunk_rows`` at a time (memory ~ ``chunk_rows x len(reference)`` floats).
    The nearest candidate is found with ``||a||^2 + ||b||^2 - 2ab`` (on data centred on the reference mean
    to limit cancellation) and its distance is then measured exactly, so a query row identical to a
    reference row gets exactly 0.0. Where rounding could hide an identical row behind a near-identical
    one (some squared distance within rounding of 0), every such near candidate is measured exactly too.

    Args:
        query: Array of shape (n, d).
        reference: Array of shape (m, d), m >= 1.
        chunk_rows: Query rows per block.

    Returns:
        Float64 array of shape (n,).

    Raises:
        ValueError: Shapes do not match, the reference is empty, or ``chunk_rows`` < 1.

    Example:
        >>> ref = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> distance_to_closest(np.array([[3.0, 4.0], [0.0, 1.0], [6.0, 8.0]]), ref).tolist()
        [0.0, 1.0, 5.0]
    """
    q = np.atleast_2d(np.asarray(query, dtype=np.float64))
    r = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"query has {q.shape[1]} features, reference has {r.shape[1]}")
    if len(r) == 0:
        raise ValueError("the reference has no rows")
    if len(q) == 0:
        return np.empty(0, dtype=np.float64)
    center = r.mean(axis=0)
    rc = r - center
    r_sq = np.einsum("ij,ij->i", rc, rc)
    # a generous bound on the rounding error of the fast squared distance, relative to the squared norms
    slack = 64.0 * (q.shape[1] + 1) * np.finfo(np.float64).eps
    out = np.empty(len(q), dtype=np.float64)
    for start in range(0, len(q), chunk_rows):
        block = q[start : start + chunk_rows]
        bc = block - center
        q_sq = np.einsum("ij,ij->i", bc, bc)
        d2 = bc @ rc.T
        d2 *= -2.0
        d2 += q_sq[:, None]
        d2 += r_sq[None, :]
        best = np.argmin(d2, axis=1)
        diff = block - r[best]
        exact = np.einsum("ij,ij->i", diff, diff)
        tol = slack * (q_sq + r_sq.max())
        unsure = np.flatnonzero((exact > 0.0) & (d2[np.arange(len(block)), best] <= tol))
        if len(unsure):  # a near-identical candidate may hide an identical one: measure all near ones
            rows, cols = np.nonzero(d2[unsure] <= tol[unsure, None])
            rows = unsure[rows]
            for s in range(0, len(rows), _PAIR_BATCH):
                i, j = rows[s : s + _PAIR_BATCH], cols[s : s + _PAIR_BATCH]
                pair = block[i] - r[j]
                np.minimum.at(exact, i, np.einsum("ij,ij->i", pair, pair))
        out[start : start + len(block)] = np.sqrt(exact)
    return out


def _summary(dcr: np.ndarray) -> dict[str, float]:
    if len(dcr) == 0:
        return {"p05": math.nan, "p50": math.nan, "mean": math.nan}
    return {
        "p05": float(np.quantile(dcr, 0.05)),
        "p50": float(np.quantile(dcr, 0.5)),
        "mean": float(dcr.mean()),
    }


def _ratio(synthetic: float, holdout: float) -> float:
    if math.isnan(synthetic) or math.isnan(holdout):
        return math.nan
    if holdout == 0.0:
        return 1.0 if synthetic == 0.0 else math.inf
    return synthetic / holdout


def privacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    continuous: Sequence[str],
    categorical: Sequence[str],
) -> PrivacyReport:
    """Compare the DCR of synthetic rows with that of holdout rows, both against the training rows.

    Args:
        train: The rows the generator was fitted on.
        holdout: Real rows the generator never saw (may be empty: its statistics are then NaN).
        synthetic: The generated rows.
        continuous: Names of the continuous columns.
        categorical: Names of the categorical columns.

    Returns:
        The :class:`PrivacyReport`.

    Raises:
        ValueError: ``train`` has no rows, no column is given, or a column is missing from a frame.

    Example:
        >>> train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "b", "a", "b"]})
        >>> holdout = pd.DataFrame({"x": [0.5, 2.5], "c": ["a", "b"]})
        >>> report = privacy(train, holdout, train.iloc[:2], continuous=["x"], categorical=["c"])
        >>> report.exact_copy_share, report.dcr_ratio, report.rows["synthetic"]
        (1.0, 0.0, 2)
    """
    if not [*continuous, *categorical]:
        raise ValueError("privacy needs at least one continuous or categorical column")
    if len(train) == 0:
        raise ValueError("privacy needs at least one training row")
    encode = encode_for_distance(train, continuous=continuous, categorical=categorical)
    reference = encode(train)
    dcr_syn = distance_to_closest(encode(synthetic), reference)
    dcr_hold = distance_to_closest(encode(holdout), reference)
    summary_syn, summary_hold = _summary(dcr_syn), _summary(dcr_hold)
    return PrivacyReport(
        dcr_synthetic=summary_syn,
        dcr_holdout=summary_hold,
        dcr_ratio=_ratio(summary_syn["p50"], summary_hold["p50"]),
        exact_copy_share=float(np.mean(dcr_syn == 0.0)) if len(dcr_syn) else math.nan,
        holdout_exact_copy_share=float(np.mean(dcr_hold == 0.0)) if len(dcr_hold) else math.nan,
        rows={"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
    )
