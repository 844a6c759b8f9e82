"""Plain pandas/numpy references for the preprocess transforms, written independently of the Spark code."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recaug_spark.config import NormalizeSpec

MICROS_PER_DAY = 86_400 * 1_000_000


def transformed(values: pd.Series, method: str) -> pd.Series:
    """f(x): log1p (NaN at or below -1) for log1p_zscore, x otherwise."""
    x = values.astype("float64")
    if method == "log1p_zscore":
        return np.log1p(x.where(x > -1))
    return x


def center_scale(values: pd.Series, method: str) -> tuple[float, float]:
    """(center, scale) of the non-null values; NaNs when there are none."""
    v = values.dropna().to_numpy()
    if v.size == 0:
        return np.nan, np.nan
    if method in ("zscore", "log1p_zscore"):
        # A constant partition has no spread by definition (numpy's two-pass std can leave ~1e-16 there).
        return float(v.mean()), 0.0 if v.min() == v.max() else float(v.std(ddof=0))
    if method == "minmax":
        return float(v.min()), float(v.max() - v.min())
    q1, median, q3 = np.percentile(v, [25, 50, 75])  # linear interpolation, as Spark's percentile
    return float(median), float(q3 - q1)


def scaled(x: np.ndarray, center: np.ndarray, scale: np.ndarray, zero_spread: str) -> np.ndarray:
    """(x - center) / scale; 0 (or NaN) where the scale is 0 or unknown; NaN where x is."""
    degenerate = 0.0 if zero_spread == "zero" else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.isnan(scale) | (scale == 0), degenerate, (x - center) / scale)
    return np.where(np.isnan(x), np.nan, out)


def _key_tuples(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    return pd.Series(list(zip(*[frame[k] for k in keys], strict=True)), index=frame.index) if keys else None


def static(frame: pd.DataFrame, spec: NormalizeSpec, fit: pd.Series, zero_spread: str = "zero") -> np.ndarray:
    """Normalize by statistics of the ``fit`` rows per key of ``spec.partition_by``; keys without fit
    rows (or with a null key) use the statistics of all fit rows."""
    x = transformed(frame[spec.column], spec.method)
    overall = center_scale(x[fit], spec.method)
    keys = list(spec.partition_by)
    centers = np.full(len(frame), overall[0])
    scales = np.full(len(frame), overall[1])
    if keys:
        per_key = {k: center_scale(g, spec.method) for k, g in x[fit].groupby([frame.loc[fit, c] for c in keys])}
        per_key = {(k if isinstance(k, tuple) else (k,)): v for k, v in per_key.items()}
        for i, key in enumerate(_key_tuples(frame, keys)):
            if key in per_key and not np.isnan(per_key[key][0]):
                centers[i], scales[i] = per_key[key]
    return scaled(x.to_numpy(), centers, scales, zero_spread)


def rolling(
    frame: pd.DataFrame, spec: NormalizeSpec, fit: pd.Series, rows: list[int], zero_spread: str = "zero"
) -> np.ndarray:
    """Normalize the rows at positions ``rows`` by the fit rows of the same key (null keys together)
    with ts in [ts - window_days, ts): brute force, one row at a time."""
    assert spec.window_days is not None
    x = transformed(frame[spec.column], spec.method).to_numpy()
    ts = frame["ts"].astype("datetime64[us]").astype("int64").to_numpy()
    fit_mask = fit.to_numpy()
    keys = list(spec.partition_by)
    out = []
    for i in rows:
        same = np.ones(len(frame), dtype=bool)
        for k in keys:
            column = frame[k]
            same &= (column == column.iloc[i]).to_numpy() | (column.isna() & pd.isna(column.iloc[i])).to_numpy()
        past = same & fit_mask & (ts >= ts[i] - spec.window_days * MICROS_PER_DAY) & (ts < ts[i])
        center, scale = center_scale(pd.Series(x[past]), spec.method)
        out.append(scaled(np.array([x[i]]), np.array([center]), np.array([scale]), zero_spread)[0])
    return np.array(out)
