"""Numeric augmentation kernels: pure, vectorized numpy, one row's output a function of its own draws.

Each kernel takes the column(s) as float arrays and a :class:`~recaug_spark.rng.Draws` for the
same rows, and returns new arrays; null (NaN) inputs stay NaN, finite inputs give finite outputs.

    gaussian_noise   x' = x + sigma * z,                  z ~ N(0, 1)
    salt_and_pepper  x' = salt w.p. p/2, pepper w.p. p/2, x otherwise
    random_scaling   x' = x * s,                          s ~ U[low, high)
    rotation         (x', y') = (x cos t - y sin t, x sin t + y cos t),  t fixed or ~ U[low, high);
                     a point with a missing coordinate is left as it is
    jitter           x' = x + r * (2u - 1),               u ~ U[0, 1)  (uniform within +-r)
    feature_mask     x' = fill w.p. p, x otherwise        (dropout)
"""

from __future__ import annotations

import numpy as np

from recaug_spark.rng import Draws


def _floats(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def gaussian_noise(x: np.ndarray, draws: Draws, *, sigma: float) -> np.ndarray:
    """Add N(0, sigma^2) noise; ``sigma`` is absolute (scale a relative one by the column's spread first).

    Example:
        >>> d = Draws.of(seed=1, op="gaussian_noise", copy=0, keys=np.arange(3))
        >>> bool(np.allclose(gaussian_noise(np.zeros(3), d, sigma=0.0), 0.0))
        True
    """
    return _floats(x) + sigma * draws.normal(0)


def salt_and_pepper(x: np.ndarray, draws: Draws, *, p: float, salt: float, pepper: float) -> np.ndarray:
    """Replace a share ``p`` of values, half by ``salt`` (e.g. a high quantile), half by ``pepper``."""
    u = draws.uniform(0)
    out = _floats(x).copy()
    hit = (u < p) & ~np.isnan(out)
    salted = draws.uniform(1) < 0.5
    out[hit & salted] = salt
    out[hit & ~salted] = pepper
    return out


def random_scaling(x: np.ndarray, draws: Draws, *, low: float, high: float) -> np.ndarray:
    """Multiply by a factor drawn uniformly from [low, high)."""
    return _floats(x) * (low + (high - low) * draws.uniform(0))


def rotation(
    x: np.ndarray, y: np.ndarray, draws: Draws, *, theta: float | None = None, low: float = 0.0, high: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the 2-D points (x, y) about the origin by ``theta`` radians, or by an angle drawn from
    [low, high) per row; norms are preserved (up to rounding). A point with a missing coordinate
    cannot be rotated: both coordinates stay as they were."""
    angle = np.full(len(x), theta) if theta is not None else low + (high - low) * draws.uniform(0)
    cos, sin = np.cos(angle), np.sin(angle)
    x, y = _floats(x), _floats(y)
    whole = ~(np.isnan(x) | np.isnan(y))
    return np.where(whole, x * cos - y * sin, x), np.where(whole, x * sin + y * cos, y)


def jitter(x: np.ndarray, draws: Draws, *, r: float) -> np.ndarray:
    """Add noise uniform within [-r, r) (crop/jitter of a numeric value)."""
    return _floats(x) + r * (2.0 * draws.uniform(0) - 1.0)


def feature_mask(x: np.ndarray, draws: Draws, *, p: float, fill: float = np.nan) -> np.ndarray:
    """Drop a share ``p`` of values: replace them by ``fill`` (NaN = missing, or e.g. 0)."""
    out = _floats(x).copy()
    out[draws.uniform(0) < p] = fill
    return out
