"""The keyed generator and the numeric kernels: distribution, determinism and invariants (no Spark)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recaug_spark.augment import numeric
from recaug_spark.rng import Draws

N = 200_000
KEYS = np.arange(N, dtype=np.uint64) * np.uint64(2654435761)  # structured keys: the mixer must cope
finite = st.floats(-1e6, 1e6, allow_nan=False)
arrays = hnp.arrays(np.float64, st.integers(0, 50), elements=finite)
key_arrays = hnp.arrays(np.uint64, st.integers(0, 50), elements=st.integers(0, 2**64 - 1), unique=True)


def draws(keys: np.ndarray = KEYS, op: str = "op", copy: int = 0, seed: int = 7) -> Draws:
    return Draws.of(seed=seed, op=op, copy=copy, keys=keys)


def test_uniform_and_normal_moments() -> None:
    u, z = draws().uniform(0), draws().normal(0)
    assert u.min() >= 0.0 and u.max() < 1.0
    tol = 5 / np.sqrt(N)
    assert abs(u.mean() - 0.5) < tol and abs(u.var() - 1 / 12) < tol / 4
    assert abs(z.mean()) < tol and abs(z.var() - 1) < 5 * np.sqrt(2 / N)
    assert abs(np.mean(z**3)) < 5 * np.sqrt(15 / N)  # symmetric
    counts = np.bincount((u * 10).astype(int), minlength=10)
    assert ((counts - N / 10) ** 2 / (N / 10)).sum() < 35  # chi-square, 9 dof: p < 1e-4 to fail


def test_streams_are_independent() -> None:
    base = draws().uniform(0)
    for other in (draws(op="other").uniform(0), draws(copy=1).uniform(0), draws(seed=8).uniform(0), draws().uniform(1)):
        assert abs(np.corrcoef(base, other)[0, 1]) < 5 / np.sqrt(N)


@given(keys=key_arrays, cut=st.integers(0, 50))
def test_a_rows_draw_ignores_the_batch_it_is_in(keys: np.ndarray, cut: int) -> None:
    """The property behind partition-independence: any split of the rows gives the same draws."""
    cut = min(cut, len(keys))
    whole = draws(keys).normal(3)
    parts = np.concatenate([draws(keys[:cut]).normal(3), draws(keys[cut:]).normal(3)])
    np.testing.assert_array_equal(whole, parts)
    x = np.linspace(-1, 1, len(keys))
    np.testing.assert_array_equal(
        numeric.jitter(x, draws(keys), r=0.5),
        np.concatenate(
            [numeric.jitter(x[:cut], draws(keys[:cut]), r=0.5), numeric.jitter(x[cut:], draws(keys[cut:]), r=0.5)]
        ),
    )


def test_gaussian_noise_mean_and_variance() -> None:
    x = np.full(N, 3.0)
    noisy = numeric.gaussian_noise(x, draws(), sigma=2.0)
    assert abs((noisy - x).mean()) < 5 * 2 / np.sqrt(N)
    assert abs((noisy - x).var() - 4.0) < 5 * 4 * np.sqrt(2 / N)


def test_salt_and_pepper_share_and_values() -> None:
    x = np.linspace(0, 1, N)
    out = numeric.salt_and_pepper(x, draws(), p=0.1, salt=10.0, pepper=-10.0)
    salt, pepper, kept = out == 10.0, out == -10.0, out == x
    assert (salt | pepper | kept).all()
    tol = 5 * np.sqrt(0.05 * 0.95 / N)
    assert abs(salt.mean() - 0.05) < tol and abs(pepper.mean() - 0.05) < tol


def test_scaling_jitter_and_mask_ranges() -> None:
    x = np.linspace(1, 2, N)
    factor = numeric.random_scaling(x, draws(), low=0.8, high=1.2) / x
    assert factor.min() >= 0.8 and factor.max() < 1.2 and abs(factor.mean() - 1.0) < 0.01
    moved = numeric.jitter(x, draws(), r=0.25) - x
    assert moved.min() >= -0.25 and moved.max() < 0.25
    assert moved.min() < -0.249 and moved.max() > 0.249 and abs(moved.mean()) < 5 * 0.25 / np.sqrt(3 * N)
    masked = numeric.feature_mask(x, draws(), p=0.3)
    assert abs(np.isnan(masked).mean() - 0.3) < 5 * np.sqrt(0.21 / N)
    assert (masked[~np.isnan(masked)] == x[~np.isnan(masked)]).all()


@settings(max_examples=50)
@given(x=arrays, theta=st.floats(-10, 10))
def test_rotation_preserves_norms(x: np.ndarray, theta: float) -> None:
    y = x[::-1].copy()
    keys = np.arange(len(x), dtype=np.uint64)
    for kwargs in ({"theta": theta}, {"low": -np.pi, "high": np.pi}):
        rx, ry = numeric.rotation(x, y, draws(keys), **kwargs)
        np.testing.assert_allclose(np.hypot(rx, ry), np.hypot(x, y), rtol=1e-9, atol=1e-6)


def test_rotation_leaves_points_with_a_missing_coordinate_alone() -> None:
    x, y = np.array([1.0, np.nan, 3.0]), np.array([np.nan, 2.0, 4.0])
    rx, ry = numeric.rotation(x, y, draws(np.arange(3, dtype=np.uint64)), theta=np.pi / 2)
    np.testing.assert_allclose(rx, [1.0, np.nan, -4.0])
    np.testing.assert_allclose(ry, [np.nan, 2.0, 3.0])


KERNELS = {
    "gaussian_noise": lambda x, d: numeric.gaussian_noise(x, d, sigma=1.5),
    "salt_and_pepper": lambda x, d: numeric.salt_and_pepper(x, d, p=0.2, salt=1.0, pepper=0.0),
    "random_scaling": lambda x, d: numeric.random_scaling(x, d, low=0.5, high=2.0),
    "rotation": lambda x, d: numeric.rotation(x, x, d, low=0, high=1)[0],
    "jitter": lambda x, d: numeric.jitter(x, d, r=3.0),
    "feature_mask": lambda x, d: numeric.feature_mask(x, d, p=0.2, fill=0.0),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
@settings(max_examples=30)
@given(x=arrays)
def test_finite_in_finite_out_and_shape_kept(name: str, x: np.ndarray) -> None:
    out = KERNELS[name](x, draws(np.arange(len(x), dtype=np.uint64)))
    assert out.shape == x.shape and np.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_empty_single_and_missing_values(name: str) -> None:
    assert KERNELS[name](np.array([]), draws(np.array([], dtype=np.uint64))).shape == (0,)
    assert KERNELS[name](np.array([2.0]), draws(np.array([5], dtype=np.uint64))).shape == (1,)
    if name != "feature_mask":  # a mask with a fill value may fill a missing value too
        assert np.isnan(KERNELS[name](np.array([np.nan]), draws(np.array([5], dtype=np.uint64)))).all()
