"""The Poisson bootstrap (the distributed form used by stage evaluate): keyed, split-invariant, calibrated."""

from __future__ import annotations

import numpy as np
import pytest

from recaug_spark.recommend.bootstrap import (
    paired_bootstrap,
    poisson_partial_sums,
    poisson_summary,
    poisson_weights,
)


def test_weights_are_poisson_one_and_keyed() -> None:
    keys = np.arange(50_000, dtype=np.uint64) * np.uint64(7919)
    w = poisson_weights(keys, seed=3, resamples=4)
    assert abs(w.mean() - 1.0) < 0.01 and abs(w.var() - 1.0) < 0.02
    share_zero = (w == 0).mean()
    assert share_zero == pytest.approx(np.exp(-1.0), abs=0.005)  # P(0) = 1/e
    np.testing.assert_array_equal(w[1000:2000], poisson_weights(keys[1000:2000], seed=3, resamples=4))


def test_partial_sums_of_any_split_add_up() -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63, 3000).astype(np.uint64)
    d = rng.normal(size=(3000, 2))
    whole_s, whole_w = poisson_partial_sums(keys, d, seed=1, resamples=50)
    parts = [
        poisson_partial_sums(keys[a:b], d[a:b], seed=1, resamples=50) for a, b in ((0, 7), (7, 1900), (1900, 3000))
    ]
    np.testing.assert_allclose(sum(p[0] for p in parts), whole_s, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sum(p[1] for p in parts), whole_w, rtol=0, atol=0)


def test_interval_covers_the_true_difference_at_about_the_nominal_rate() -> None:
    """200 simulated experiments (true difference 0.02): the 95% interval covers it 90-99% of the time,
    and agrees with the multinomial bootstrap's width."""
    rng = np.random.default_rng(5)
    covered, widths = 0, []
    for trial in range(200):
        baseline = rng.normal(0.3, 0.1, 300)
        variant = baseline + 0.02 + rng.normal(0, 0.05, 300)
        keys = rng.integers(0, 2**63, 300).astype(np.uint64)
        sums, weights = poisson_partial_sums(keys, (variant - baseline)[:, None], seed=trial, resamples=300)
        r = poisson_summary(
            sums, weights, variant_mean=np.array([variant.mean()]), baseline_mean=np.array([baseline.mean()]),
            n_users=300,
        )[0]  # fmt: skip
        covered += r.ci_low <= 0.02 <= r.ci_high
        widths.append(r.ci_high - r.ci_low)
    assert 0.90 <= covered / 200 <= 0.99
    reference = paired_bootstrap(variant, baseline, resamples=300, seed=0)
    assert np.mean(widths) == pytest.approx(reference.ci_high - reference.ci_low, rel=0.2)


def test_p_values_do_not_depend_on_the_order_partial_sums_are_added_in() -> None:
    """Four users whose differences cancel (0.1 + 0.2 + 0.03 - 0.33 = 0 in exact arithmetic) among users with
    none: replicates that weigh the four alike have a mean of 0 up to rounding, and the rounding's sign
    depends on the order the per-partition sums are added in (as Spark's groupBy sum does). The p-value must
    not."""
    keys = np.arange(40, dtype=np.uint64)
    movers = [3, 17, 29, 35]
    d = np.zeros((40, 1))
    d[movers, 0] = [0.1, 0.2, 0.03, -0.33]
    parts = [poisson_partial_sums(keys[[i]], d[[i]], seed=4, resamples=400)[0] for i in movers]
    weights = poisson_partial_sums(keys, d, seed=4, resamples=400)[1]
    forward = ((parts[0] + parts[1]) + parts[2]) + parts[3]
    backward = ((parts[3] + parts[2]) + parts[1]) + parts[0]
    tied = (np.abs(forward) < 1e-15) & (forward != 0.0)
    assert (np.sign(forward[tied]) != np.sign(backward[tied])).any()  # the rounding's sign differs by order

    def p_value(sums: np.ndarray) -> float:
        summary = poisson_summary(
            sums, weights, variant_mean=np.array([0.0]), baseline_mean=np.array([0.0]), n_users=40
        )  # fmt: skip
        return summary[0].p_value

    assert p_value(forward) == p_value(backward) == p_value(np.where(tied, 0.0, forward))
