"""The Gaussian mixture of one continuous column: CTGAN's mode-specific normalization picks its modes.

:func:`fit_mixture` fits a 1-D mixture by EM on a bounded, seeded subset of the values, drops light
components and merges neighbours that together form a single mode; :func:`most_likely_mode` assigns
each value the component that explains it best (argmax of ``w_k N(x; mu_k, sd_k)``). Pure numpy.
"""

from __future__ import annotations

import math

import numpy as np

_LL_TOLERANCE = 1e-6  # EM stops when the mean log-likelihood per row gains less than this
_CHUNK_ROWS = 65_536  # rows per block of the (rows x modes) posterior, to bound memory
_MERGE_GRID = 257  # points between two adjacent means where the mixture's shape is checked
_DIP_TOLERANCE = 1e-9  # a dip shallower than this (in log-density) is rounding, not a second mode
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def fit_mixture(
    values: np.ndarray,
    *,
    max_modes: int,
    weight_threshold: float,
    gmm_rows: int,
    iterations: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means, stds, weights) of a 1-D Gaussian mixture fitted by EM to the sorted ``values``, by mean.

    Starts from ``max_modes`` components (means at quantiles, equal weights, the overall std), runs at
    most ``iterations`` EM steps, drops components lighter than ``weight_threshold`` and merges adjacent
    components whose two-component mixture is unimodal (redundant pieces of one mode), refitting after
    a merge while steps remain. Works on standardized values for numerical stability.

    Args:
        values: The column's non-null values, sorted (the fit depends on the values, not their order).
        max_modes: Components EM starts from (means at quantiles, equal weights, the overall std).
        weight_threshold: Components lighter than this are dropped after EM.
        gmm_rows: At most this many values (drawn from ``rng`` without replacement) are fitted.
        iterations: At most this many EM steps in all, refits after merges included.
        rng: Draws the subset when there are more than ``gmm_rows`` values.

    Returns:
        (means, stds, weights), one entry per kept mode, by ascending mean; stds are at least
        ``max(1e-6, 1e-3 std(values))`` and the weights sum to 1. A constant column gets one mode.

    Example:
        >>> x = np.sort(np.concatenate([np.linspace(9.0, 11.0, 300), np.linspace(990.0, 1010.0, 200)]))
        >>> means, stds, weights = fit_mixture(
        ...     x, max_modes=10, weight_threshold=0.005, gmm_rows=20_000, iterations=100, rng=np.random.default_rng(0))
        >>> np.round(means).tolist(), np.round(weights, 2).tolist()
        ([10.0, 1000.0], [0.6, 0.4])
    """
    center, scale = float(values.mean()), float(values.std())
    floor = max(1e-6, 1e-3 * scale)
    if scale == 0.0 or not np.isfinite(scale):
        return np.array([values[0]]), np.array([floor]), np.array([1.0])
    if values.size > gmm_rows:
        values = values[np.sort(rng.choice(values.size, size=gmm_rows, replace=False))]
    x = (values - center) / scale
    floor_z = floor / scale
    mu = np.unique(np.quantile(x, (np.arange(max_modes) + 0.5) / max_modes))
    sd = np.full(mu.size, max(float(x.std()), floor_z))
    w = np.full(mu.size, 1.0 / mu.size)
    budget = iterations
    while True:
        w, mu, sd, budget = _em(x, w, mu, sd, floor=floor_z, budget=budget)
        w, mu, sd = _prune(w, mu, sd, weight_threshold)
        merged = _merge_unimodal(w, mu, sd)
        if merged[0].size == w.size:
            break
        w, mu, sd = merged
        if budget == 0:
            break
    order = np.argsort(mu, kind="stable")
    return center + scale * mu[order], np.maximum(scale * sd[order], floor), w[order] / w.sum()


def _em(
    x: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray, *, floor: float, budget: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """At most ``budget`` EM steps; returns the parameters and the steps left."""
    previous = -np.inf
    x2 = x * x
    while budget > 0:
        resp = np.subtract.outer(x, mu)  # built in place: log(w_k N(x; mu_k, sd_k)), then responsibilities
        resp /= sd
        resp *= resp
        resp *= -0.5
        resp += np.log(w) - np.log(sd) - _LOG_SQRT_2PI
        top = resp.max(axis=1)
        resp -= top[:, None]
        np.exp(resp, out=resp)
        total = resp.sum(axis=1)
        log_likelihood = float(np.mean(top + np.log(total)))
        if log_likelihood - previous < _LL_TOLERANCE:
            break
        previous = log_likelihood
        budget -= 1
        resp /= total[:, None]
        mass = resp.sum(axis=0)
        alive = mass > 1e-10 * x.size  # a component that explains nothing is removed, not divided by zero
        if not alive.all():
            resp, mass = resp[:, alive], mass[alive]
        w = mass / x.size
        mu = (x @ resp) / mass
        var = (x2 @ resp) / mass - mu * mu  # standardized values: no harmful cancellation
        sd = np.maximum(np.sqrt(np.maximum(var, 0.0)), floor)
    return w, mu, sd, budget


def _log_joint(x: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log(w_k N(x; mu_k, sd_k)) for every value and component: shape (len(x), len(mu))."""
    z = (x[:, None] - mu) / sd
    joint: np.ndarray = (np.log(w) - np.log(sd) - _LOG_SQRT_2PI) - 0.5 * z * z
    return joint


def _prune(
    w: np.ndarray, mu: np.ndarray, sd: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = w >= threshold
    if not keep.any():
        keep = w == w.max()
        keep &= np.cumsum(keep) == 1  # exactly one: the first of the heaviest
    return w[keep] / w[keep].sum(), mu[keep], sd[keep]


def _merge_unimodal(w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeatedly merge (by moments) the closest adjacent pair whose mixture has a single mode."""
    order = np.argsort(mu, kind="stable")
    w, mu, sd = w[order], mu[order], sd[order]
    while w.size > 1:
        t = np.linspace(0.0, 1.0, _MERGE_GRID)
        grid = mu[:-1, None] + (mu[1:] - mu[:-1])[:, None] * t  # (pairs, grid) points between adjacent means
        left = np.log(w[:-1, None]) - np.log(sd[:-1, None]) - 0.5 * ((grid - mu[:-1, None]) / sd[:-1, None]) ** 2
        right = np.log(w[1:, None]) - np.log(sd[1:, None]) - 0.5 * ((grid - mu[1:, None]) / sd[1:, None]) ** 2
        density = np.logaddexp(left, right)  # log of the pair's mixture density, up to a constant
        # A dip between two higher points makes the pair bimodal: its depth is how far the density falls
        # below the lower of the highest points to its left and to its right (0 for a single mode).
        dip = np.minimum(
            np.maximum.accumulate(density, axis=1), np.maximum.accumulate(density[:, ::-1], axis=1)[:, ::-1]
        )
        unimodal = (dip - density).max(axis=1) <= _DIP_TOLERANCE
        if not unimodal.any():
            break
        separation = (mu[1:] - mu[:-1]) / (sd[:-1] + sd[1:])
        i = int(np.argmin(np.where(unimodal, separation, np.inf)))
        weight = w[i] + w[i + 1]
        mean = (w[i] * mu[i] + w[i + 1] * mu[i + 1]) / weight
        var = (
            w[i] * (sd[i] ** 2 + (mu[i] - mean) ** 2) + w[i + 1] * (sd[i + 1] ** 2 + (mu[i + 1] - mean) ** 2)
        ) / weight
        w = np.concatenate([w[:i], [weight], w[i + 2 :]])
        mu = np.concatenate([mu[:i], [mean], mu[i + 2 :]])
        sd = np.concatenate([sd[:i], [math.sqrt(var)], sd[i + 2 :]])
    return w, mu, sd


def most_likely_mode(values: np.ndarray, *, means: np.ndarray, stds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The index of the component with the highest ``w_k N(x; mu_k, sd_k)`` per value (int64).

    The (values x modes) posterior is built for blocks of rows, so memory stays bounded for any length.

    Example:
        >>> most_likely_mode(np.array([9.0, 600.0, 1200.0]), means=np.array([10.0, 1000.0]),
        ...     stds=np.array([1.0, 25.0]), weights=np.array([0.6, 0.4])).tolist()
        [0, 1, 1]
    """
    mode = np.zeros(values.size, dtype=np.int64)
    if means.size > 1:
        for start in range(0, values.size, _CHUNK_ROWS):
            block = values[start : start + _CHUNK_ROWS]
            mode[start : start + block.size] = _log_joint(block, weights, means, stds).argmax(axis=1)
    return mode
