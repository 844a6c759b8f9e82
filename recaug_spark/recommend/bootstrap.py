"""Paired bootstrap of the mean per-user difference between a variant and a baseline, vectorized in numpy.

The same users are scored by both systems, so their per-user metric values are aligned arrays and the users are
resampled together (with replacement, B = ``resamples`` times). Each resample draws a row of n user indices with
``np.random.default_rng(seed).integers(0, n)``, in blocks of ``chunk`` rows (memory bounded by chunk * n), and
takes the mean of the per-user differences ``variant - baseline`` over those indices. Because numpy's
``Generator`` consumes its stream the same way whatever the block shape, the draws (and so every result) depend on
the seed only, not on ``chunk``.

From the B resampled means:

    interval   np.quantile(means, [(1 - c) / 2, (1 + c) / 2], method="linear")   (percentile interval, c = confidence)
    p_value    min(1, 2 * min(share of means <= 0, share of means >= 0))         (two-sided)

A resampled mean within ``TIE_TOLERANCE`` of 0 counts as 0 (a tie, in both shares). Without it a mean that is 0
in exact arithmetic (differences that cancel, such as 0.1 + 0.2 - 0.3) falls on either side of 0 by the sign of
its rounding, and the distributed form, which adds per-partition sums in partition order, would give p-values
that depend on the number of partitions.

Example:
    >>> import numpy as np
    >>> result = paired_bootstrap(np.array([0.5, 0.7, 0.6]), np.array([0.4, 0.5, 0.6]), resamples=200, seed=1)
    >>> round(result.difference, 4), result.ci_low >= 0.0, result.n_users
    (0.1, True, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TIE_TOLERANCE = 1e-9
"""Metrics lie in [0, 1], so a mean difference below 1e-9 is no difference at the 4 decimals a report shows, and it
is far above the rounding of a sum over a million users (~1e6 x 2.2e-16 = 2e-10)."""


@dataclass(frozen=True)
class PairedDifference:
    """Bootstrap summary of the mean per-user difference ``variant - baseline`` of one metric.

    Attributes:
        mean_variant: Mean of the variant's per-user values.
        mean_baseline: Mean of the baseline's per-user values.
        difference: ``mean(variant - baseline)``.
        ci_low: Lower percentile bound of the bootstrap distribution of the mean difference.
        ci_high: Upper percentile bound.
        relative_lift: ``difference / mean_baseline``; NaN when ``mean_baseline == 0``.
        p_value: Two-sided bootstrap p-value, ``min(1, 2 * min(P*(d <= 0), P*(d >= 0)))``, ties within
            ``TIE_TOLERANCE`` of 0 counting in both.
        n_users: Number of paired users.
        resamples: Number of bootstrap resamples B.
    """

    mean_variant: float
    mean_baseline: float
    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float
    p_value: float
    n_users: int
    resamples: int


def _check_options(resamples: int, confidence: float, chunk: int) -> None:
    if isinstance(resamples, bool) or not isinstance(resamples, int | np.integer) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")


def _two_sided_p_values(means: np.ndarray) -> np.ndarray:
    """min(1, 2 * min(P*(mean <= 0), P*(mean >= 0))) per column of the (resamples, n_metrics) ``means``; a mean
    within ``TIE_TOLERANCE`` of 0 is a tie and counts in both shares.

    Example:
        >>> _two_sided_p_values(np.array([[5.6e-17], [-2.8e-17], [0.1], [0.2]])).tolist()
        [1.0]
    """
    tie = np.abs(means) <= TIE_TOLERANCE
    below = ((means < 0.0) | tie).mean(axis=0)
    above = ((means > 0.0) | tie).mean(axis=0)
    result: np.ndarray = np.minimum(1.0, 2.0 * np.minimum(below, above))
    return result


def _resampled_means(differences: np.ndarray, *, resamples: int, seed: int, chunk: int) -> np.ndarray:
    """(resamples, n_metrics) means of the (n_users, n_metrics) differences over shared resampled user indices."""
    n_users, n_metrics = differences.shape
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, n_metrics), dtype=np.float64)
    columns = [np.ascontiguousarray(differences[:, j]) for j in range(n_metrics)]
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        index = rng.integers(0, n_users, size=(stop - start, n_users))
        for j, column in enumerate(columns):
            means[start:stop, j] = column[index].mean(axis=1)
    return means


def paired_bootstrap_many(
    variant: np.ndarray,
    baseline: np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 100,
) -> list[PairedDifference]:
    """Paired bootstrap of several metrics at once, every metric resampled with the same user indices.

    Args:
        variant: (n_users, n_metrics) per-user values of the variant (a 1-D array is one metric).
        baseline: Same shape, the baseline's values for the same users in the same order.
        resamples: Number of bootstrap resamples B.
        confidence: Level of the percentile interval, in (0, 1).
        seed: Seed of ``np.random.default_rng``; the same seed gives the same draws and results.
        chunk: Resamples drawn per block (memory ~ chunk * n_users indices); does not change the results.

    Returns:
        One ``PairedDifference`` per column, in column order.

    Raises:
        ValueError: On mismatched shapes, no users, non-finite values or invalid options.

    Example:
        >>> variant, baseline = np.array([[1.0, 0.5], [0.5, 1.0]]), np.full((2, 2), 0.5)
        >>> [r.difference for r in paired_bootstrap_many(variant, baseline, resamples=50)]
        [0.25, 0.25]
    """
    _check_options(resamples, confidence, chunk)
    v = np.asarray(variant, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if v.shape != b.shape:
        raise ValueError(f"variant and baseline must have the same shape, got {v.shape} and {b.shape}")
    if v.ndim == 1:
        v, b = v[:, None], b[:, None]
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"expected (n_users, n_metrics) arrays with n_users >= 1, got shape {v.shape}")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(b))):
        raise ValueError("variant and baseline must be finite")
    differences = v - b
    means = _resampled_means(differences, resamples=int(resamples), seed=seed, chunk=int(chunk))
    alpha = 1.0 - confidence
    bounds = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0, method="linear")
    p_values = _two_sided_p_values(means)
    results = []
    for j in range(v.shape[1]):
        # column by column (contiguous 1-D means), so a column gives bit-identical results to paired_bootstrap
        base = float(np.ascontiguousarray(b[:, j]).mean())
        difference = float(np.ascontiguousarray(differences[:, j]).mean())
        results.append(
            PairedDifference(
                mean_variant=float(np.ascontiguousarray(v[:, j]).mean()),
                mean_baseline=base,
                difference=difference,
                ci_low=float(bounds[0, j]),
                ci_high=float(bounds[1, j]),
                relative_lift=difference / base if base != 0.0 else math.nan,
                p_value=float(p_values[j]),
                n_users=int(v.shape[0]),
                resamples=int(resamples),
            )
        )
    return results


def paired_bootstrap(
    variant: np.ndarray,
    baseline: np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 100,
) -> PairedDifference:
    """Paired bootstrap of one metric: the mean per-user difference with a percentile interval and p-value.

    Args:
        variant: (n_users,) per-user values of the variant.
        baseline: (n_users,) the baseline's values for the same users in the same order.
        resamples: Number of bootstrap resamples B.
        confidence: Level of the percentile interval, in (0, 1).
        seed: Seed of ``np.random.default_rng``; the same seed gives the same draws and results.
        chunk: Resamples drawn per block (memory ~ chunk * n_users indices); does not change the results.

    Returns:
        The ``PairedDifference``; equal to the matching column of ``paired_bootstrap_many`` with the same seed.

    Raises:
        ValueError: On arrays that are not 1-D and aligned, no users, non-finite values or invalid options.

    Example:
        >>> same = np.array([0.1, 0.3, 0.2])
        >>> r = paired_bootstrap(same, same, resamples=20)
        >>> r.difference, r.ci_low, r.ci_high, r.p_value
        (0.0, 0.0, 0.0, 1.0)
    """
    v = np.asarray(variant, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if v.ndim != 1 or v.shape != b.shape:
        raise ValueError(f"variant and baseline must be aligned 1-D arrays, got shapes {v.shape} and {b.shape}")
    return paired_bootstrap_many(
        v[:, None], b[:, None], resamples=resamples, confidence=confidence, seed=seed, chunk=chunk
    )[0]


# --------------------------------------------------------------------------------------------------
# Poisson bootstrap: the distributed form (stage evaluate), keyed by user
# --------------------------------------------------------------------------------------------------
# Each user u gets, in replicate b, a weight w_ub ~ Poisson(1) drawn from the keyed generator of
# rng.py (seed, user key, b); replicate b's mean difference is sum_u w_ub d_u / sum_u w_ub. The
# weights depend on the user only, never on how users are split over batches or partitions, so partial
# sums from any partitioning add up to the same replicates (the Poisson bootstrap, the standard
# distributed approximation of resampling n users with replacement).

_POISSON_CDF = np.cumsum([math.exp(-1.0) / math.factorial(j) for j in range(24)])


def poisson_weights(keys: np.ndarray, *, seed: int, resamples: int) -> np.ndarray:
    """Poisson(1) weights, (n_users, resamples), a pure function of (seed, user key, replicate).

    Example:
        >>> w = poisson_weights(np.arange(20_000, dtype=np.uint64), seed=1, resamples=3)
        >>> w.shape, abs(float(w.mean()) - 1.0) < 0.03, abs(float(w.var()) - 1.0) < 0.05
        ((20000, 3), True, True)
    """
    from recaug_spark.rng import Draws

    draws = Draws.of(seed=seed, op="bootstrap", copy=0, keys=np.asarray(keys, dtype=np.uint64))
    u = np.stack([draws.uniform(b) for b in range(resamples)], axis=1) if len(keys) else np.empty((0, resamples))
    return np.searchsorted(_POISSON_CDF, u, side="right").astype(np.float64)


def poisson_partial_sums(
    keys: np.ndarray, differences: np.ndarray, *, seed: int, resamples: int, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate: sum_u w_ub d_u (resamples, n_metrics) and sum_u w_ub (resamples,), over these users.

    Partial sums of disjoint sets of users add up to the sums over their union (the Spark layer sums them).
    Memory is bounded by ``chunk`` x ``resamples`` weights.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[:, None] if d.ndim == 1 else d
    sums = np.zeros((resamples, d.shape[1]))
    weights = np.zeros(resamples)
    for start in range(0, len(keys), chunk):
        w = poisson_weights(keys[start : start + chunk], seed=seed, resamples=resamples)
        sums += w.T @ d[start : start + chunk]
        weights += w.sum(axis=0)
    return sums, weights


def poisson_summary(
    sums: np.ndarray,
    weights: np.ndarray,
    *,
    variant_mean: np.ndarray,
    baseline_mean: np.ndarray,
    n_users: int,
    confidence: float = 0.95,
) -> list[PairedDifference]:
    """One PairedDifference per metric from the replicates' sums (the point estimate is the plain mean).

    Example:
        >>> keys, d = np.arange(500, dtype=np.uint64), np.full((500, 1), 0.1)
        >>> s, w = poisson_partial_sums(keys, d, seed=0, resamples=200)
        >>> r = poisson_summary(s, w, variant_mean=np.array([0.6]), baseline_mean=np.array([0.5]), n_users=500)[0]
        >>> round(r.difference, 6), round(r.ci_low, 6), round(r.ci_high, 6), round(r.relative_lift, 6)
        (0.1, 0.1, 0.1, 0.2)
    """
    means = sums / np.where(weights > 0, weights, np.nan)[:, None]
    means = means[np.isfinite(means).all(axis=1)]
    alpha = 1.0 - confidence
    bounds = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0, method="linear")
    p_values = _two_sided_p_values(means)
    out = []
    for j in range(sums.shape[1]):
        base, variant = float(baseline_mean[j]), float(variant_mean[j])
        difference = variant - base
        out.append(
            PairedDifference(
                mean_variant=variant, mean_baseline=base, difference=difference,
                ci_low=float(bounds[0, j]), ci_high=float(bounds[1, j]),
                relative_lift=difference / base if base != 0.0 else math.nan, p_value=float(p_values[j]),
                n_users=int(n_users), resamples=len(weights),
            )
        )  # fmt: skip
    return out
