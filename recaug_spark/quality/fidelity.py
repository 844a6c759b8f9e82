"""Fidelity of synthetic tabular data: how closely its columns and column pairs match the real data.

Every score lies in [0, 1], 1 meaning indistinguishable by that measure:

    ks_complement            continuous column  1 - sup |F_real - F_syn|          (two-sample KS, NaN dropped)
    tv_complement            categorical column 1 - 0.5 * sum |p - q|             (total variation, NaN a level)
    correlation_similarity   continuous pair    1 - |r_real - r_syn| / 2          (Pearson r)
    contingency_similarity   any other pair     1 - 0.5 * sum |P_real - P_syn|    (joint level shares)

For a pair with a continuous member, that member is cut into quantile bins whose edges come from the real
column (the same edges applied to the synthetic one; values outside the real range fall in the end bins,
NaN is a bin of its own). Pure numpy/pandas, no per-row Python loops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FidelityReport:
    """Per-column and per-pair fidelity scores of a synthetic frame against the real one.

    Attributes:
        columns: Score in [0, 1] per column, in the real frame's column order.
        column_metric: ``"ks_complement"`` (continuous) or ``"tv_complement"`` (categorical) per column.
        pairs: Score in [0, 1] per pair, keyed ``"a|b"`` with ``a`` before ``b`` in column order.
        pair_metric: ``"correlation_similarity"`` or ``"contingency_similarity"`` per pair.
        column_score: Mean of ``columns``.
        pair_score: Mean of ``pairs``; ``column_score`` when there are fewer than 2 columns.
        overall: Mean of ``column_score`` and ``pair_score``.
    """

    columns: dict[str, float]
    column_metric: dict[str, str]
    pairs: dict[str, float]
    pair_metric: dict[str, str]
    column_score: float
    pair_score: float
    overall: float

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready types (dicts copied, floats as Python floats)."""
        return asdict(self)


def _floats(values: Any) -> np.ndarray:
    """Values as a float64 array, missing values (None, NaN, pd.NA) as NaN."""
    if isinstance(values, pd.Series | pd.Index):
        floats: np.ndarray = pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)
        return floats
    return np.asarray(values, dtype=np.float64).ravel()


def _codes(real: Any, synthetic: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer level codes of both sides over their union of levels; a missing value is a level of its own."""
    r = pd.Series(np.asarray(real, dtype=object)) if not isinstance(real, pd.Series) else real
    s = pd.Series(np.asarray(synthetic, dtype=object)) if not isinstance(synthetic, pd.Series) else synthetic
    both = pd.concat([r.astype(object), s.astype(object)], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=False)
    return codes[: len(r)], codes[len(r) :], max(len(uniques), 1)


def _shares(codes: np.ndarray, levels: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=levels).astype(np.float64)
    return counts / counts.sum() if counts.sum() > 0 else counts


def _tv_complement_codes(real: np.ndarray, synthetic: np.ndarray, levels: int) -> float:
    if len(real) == 0 or len(synthetic) == 0:
        return 1.0 if len(real) == len(synthetic) else 0.0
    tv = 0.5 * np.abs(_shares(real, levels) - _shares(synthetic, levels)).sum()
    return float(min(max(1.0 - tv, 0.0), 1.0))


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """One minus the two-sample Kolmogorov-Smirnov statistic ``sup |F_real - F_syn|`` (NaN dropped).

    Both empirical CDFs are evaluated at every observed value (``searchsorted`` on the sorted samples),
    which is where the supremum is attained. When both sides have no values the score is 1, when only
    one side does it is 0.

    Args:
        real: Real values (any float-convertible array; NaN ignored).
        synthetic: Synthetic values.

    Returns:
        The score in [0, 1]; 1 for identical distributions, 0 for disjoint supports.

    Example:
        >>> round(ks_complement(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])), 6)
        0.666667
        >>> ks_complement(np.array([1.0, 2.0]), np.array([5.0, 6.0, np.nan]))
        0.0
    """
    r, s = _floats(real), _floats(synthetic)
    r, s = np.sort(r[~np.isnan(r)]), np.sort(s[~np.isnan(s)])
    if len(r) == 0 or len(s) == 0:
        return 1.0 if len(r) == len(s) else 0.0
    points = np.concatenate([r, s])
    f_r = np.searchsorted(r, points, side="right") / len(r)
    f_s = np.searchsorted(s, points, side="right") / len(s)
    return float(1.0 - np.max(np.abs(f_r - f_s)))


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """One minus the total variation distance between the level shares of two categorical columns.

    ``1 - 0.5 * sum_level |p_real(level) - p_syn(level)|`` over the union of levels; None/NaN is a level
    of its own. When both sides are empty the score is 1, when only one is it is 0.

    Args:
        real: Real values.
        synthetic: Synthetic values.

    Returns:
        The score in [0, 1].

    Example:
        >>> tv_complement(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "b", "b"]))
        0.75
        >>> tv_complement(pd.Series(["a", None]), pd.Series(["a", "a"]))
        0.5
    """
    r, s, levels = _codes(real, synthetic)
    return _tv_complement_codes(r, s, levels)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if len(a) < 2:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if denom == 0.0 or not math.isfinite(denom):
        return 0.0
    return float(np.clip(np.dot(da, db) / denom, -1.0, 1.0))


def correlation_similarity(real_a: Any, real_b: Any, syn_a: Any, syn_b: Any) -> float:
    """One minus half the absolute difference of the Pearson correlations of a continuous pair.

    Rows with NaN in either column are dropped (per side); a constant column, or fewer than 2 rows,
    counts as correlation 0.

    Args:
        real_a: First real column.
        real_b: Second real column, same length as ``real_a``.
        syn_a: First synthetic column.
        syn_b: Second synthetic column, same length as ``syn_a``.

    Returns:
        The score in [0, 1]: 1 for equal correlations, 0 for +1 against -1.

    Example:
        >>> x = np.array([1.0, 2.0, 3.0, 4.0])
        >>> correlation_similarity(x, x, x, -x)
        0.0
        >>> correlation_similarity(x, 2 * x + 1, x, x)
        1.0
    """
    r = _pearson(_floats(real_a), _floats(real_b))
    s = _pearson(_floats(syn_a), _floats(syn_b))
    return float(1.0 - abs(r - s) / 2.0)


def contingency_similarity(real_a: Any, real_b: Any, syn_a: Any, syn_b: Any) -> float:
    """One minus the total variation distance between the joint level shares of a categorical pair.

    ``1 - 0.5 * sum_(a, b) |P_real(a, b) - P_syn(a, b)|`` over the union of joint levels; None/NaN is a
    level of its own.

    Args:
        real_a: First real column.
        real_b: Second real column, same length as ``real_a``.
        syn_a: First synthetic column.
        syn_b: Second synthetic column, same length as ``syn_a``.

    Returns:
        The score in [0, 1].

    Example:
        >>> a, b = ["x", "x", "y", "y"], ["u", "v", "u", "v"]
        >>> contingency_similarity(a, b, a, b)
        1.0
        >>> contingency_similarity(a, b, ["x", "x", "y", "y"], ["u", "u", "v", "v"])
        0.5
    """
    ra, sa, na = _codes(real_a, syn_a)
    rb, sb, nb = _codes(real_b, syn_b)
    if len(ra) != len(rb) or len(sa) != len(sb):
        raise ValueError("contingency_similarity: the two columns of a side must have the same length")
    return _tv_complement_codes(ra * nb + rb, sa * nb + sb, na * nb)


def _quantile_bins(real: np.ndarray, synthetic: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin codes of both sides by ``bins`` quantile bins of the real values; NaN gets code -1."""
    finite = real[~np.isnan(real)]
    if len(finite) == 0:
        inner = np.empty(0)
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
        inner = edges[1:-1]

    def cut(x: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(inner, x, side="right").astype(np.int64)
        codes[np.isnan(x)] = -1
        return codes

    return cut(real), cut(synthetic)


def fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    continuous: Sequence[str],
    categorical: Sequence[str],
    bins: int = 10,
) -> FidelityReport:
    """Score the columns and all column pairs of ``synthetic`` against ``real``.

    Columns are taken in the real frame's column order. A continuous column is scored by
    :func:`ks_complement`, a categorical one by :func:`tv_complement`; a pair of continuous columns by
    :func:`correlation_similarity`, any other pair by :func:`contingency_similarity` with each continuous
    member cut into ``bins`` quantile bins of the real column.

    Args:
        real: The real rows.
        synthetic: The synthetic rows.
        continuous: Names of the continuous (numeric) columns.
        categorical: Names of the categorical columns.
        bins: Quantile bins for a continuous member of a mixed pair.

    Returns:
        The :class:`FidelityReport`.

    Raises:
        ValueError: A column is missing from either frame, listed twice, or no column is given.

    Example:
        >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
        >>> fidelity(df, df, continuous=["x"], categorical=["c"]).overall
        1.0
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    names = [*continuous, *categorical]
    if not names:
        raise ValueError("fidelity needs at least one continuous or categorical column")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"columns listed more than once (or as both continuous and categorical): {duplicated}")
    for frame, label in ((real, "real"), (synthetic, "synthetic")):
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise ValueError(f"columns missing from the {label} frame: {missing}")
    position = {name: i for i, name in enumerate(real.columns)}
    ordered = sorted(names, key=lambda n: position[n])
    is_continuous = set(continuous)

    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    columns: dict[str, float] = {}
    column_metric: dict[str, str] = {}
    for name in ordered:
        if name in is_continuous:
            r, s = _floats(real[name]), _floats(synthetic[name])
            values[name] = (r, s)
            columns[name] = ks_complement(r, s)
            column_metric[name] = "ks_complement"
        else:
            columns[name] = tv_complement(real[name], synthetic[name])
            column_metric[name] = "tv_complement"

    binned: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def categorical_view(name: str) -> tuple[Any, Any]:
        if name not in is_continuous:
            return real[name], synthetic[name]
        if name not in binned:
            binned[name] = _quantile_bins(*values[name], bins)
        return binned[name]

    pairs: dict[str, float] = {}
    pair_metric: dict[str, str] = {}
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            key = f"{a}|{b}"
            if a in is_continuous and b in is_continuous:
                pairs[key] = correlation_similarity(values[a][0], values[b][0], values[a][1], values[b][1])
                pair_metric[key] = "correlation_similarity"
            else:
                (ra, sa), (rb, sb) = categorical_view(a), categorical_view(b)
                pairs[key] = contingency_similarity(ra, rb, sa, sb)
                pair_metric[key] = "contingency_similarity"

    column_score = float(np.mean(list(columns.values())))
    pair_score = float(np.mean(list(pairs.values()))) if pairs else column_score
    return FidelityReport(
        columns=columns,
        column_metric=column_metric,
        pairs=pairs,
        pair_metric=pair_metric,
        column_score=column_score,
        pair_score=pair_score,
        overall=(column_score + pair_score) / 2.0,
    )
