"""The search: ``real`` and the candidates trained rung by rung (policy/halving.py), each rung's survivors
compared with ``real`` at the same steps on the policy slice, per segment, with paired bootstrap
intervals; the best go on. Model-agnostic: an :class:`Arm` is anything that trains to a step count and
scores the slice's users. Pure numpy: no Spark, no torch.

The slice's users are cut in two halves: promotion reads the ``selection`` half only, and the top
rung's survivor is measured once more on the ``confirmation`` half, which no choice has read, so the
interval the decision rests on is not inflated by having picked the best of many candidates.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from recaug_spark.policy.candidates import Candidate
from recaug_spark.policy.decide import ALL, CONFIRMATION, SELECTION, Evidence
from recaug_spark.policy.halving import Schedule, promote
from recaug_spark.recommend.bootstrap import paired_bootstrap_many

log = logging.getLogger(__name__)


class Arm(Protocol):
    """One model in training: ``real`` or a candidate."""

    def advance(self, steps: int) -> None:
        """Train on up to ``steps`` optimizer steps in all."""

    def values(self) -> np.ndarray:
        """(users,) the metric of each slice user under the model's best weights so far, in slice order."""
        ...

    @property
    def seconds(self) -> float:
        """Seconds spent training so far."""
        ...


@dataclass(frozen=True)
class Bootstrap:
    """The paired bootstrap's settings (evaluate's)."""

    resamples: int
    confidence: float
    seed: int


def evidence(
    model: str,
    candidate: str,
    steps: int,
    *,
    mine: np.ndarray,
    real: np.ndarray,
    segments: Mapping[str, np.ndarray],
    boot: Bootstrap,
    sample: str,
) -> list[Evidence]:
    """A candidate's per-user values ``mine`` against ``real``'s, one row per segment with users
    (``segments``: a boolean mask over the slice's users each, already cut to ``sample``'s half), the same
    bootstrap draws for every candidate."""
    rows = []
    for segment, mask in segments.items():
        if not mask.any():
            continue
        (d,) = paired_bootstrap_many(
            mine[mask], real[mask], resamples=boot.resamples, confidence=boot.confidence, seed=boot.seed
        )
        rows.append(
            Evidence(model, candidate, segment, steps, d.n_users, d.mean_variant, d.mean_baseline, d.difference,
                     d.ci_low, d.ci_high, sample)
        )  # fmt: skip
    return rows


def merit(rows: Sequence[Evidence], *, harm: float) -> tuple[int, float]:
    """The promotion key of a candidate's rows at one rung (larger is better): whether its all-users
    interval stays above ``-harm`` x real's mean, then its best interval low in any segment relative to
    real's mean there, so that a candidate that might qualify under decide.py goes first.

    Example:
        >>> e = lambda s, lo, real=0.1: Evidence("m", "c", s, 10, 5, real + lo, real, lo, lo, lo + 0.01)
        >>> merit([e("all", -0.0005), e("cold", 0.002, real=0.05)], harm=0.01)
        (1, 0.04)
        >>> merit([e("all", -0.003), e("cold", 0.002, real=0.05)], harm=0.01)[0]
        0
    """
    everyone = next((r for r in rows if r.segment == ALL), None)
    safe = everyone is not None and everyone.ci_low >= -harm * everyone.real
    relative = (r.ci_low / r.real if r.real > 0 else math.copysign(math.inf, r.ci_low) for r in rows)
    best = max(relative, default=-math.inf)
    return int(safe), round(best, 12) if math.isfinite(best) else best


@dataclass(frozen=True)
class Searched:
    """Every rung's evidence, the top rung's (what decide.py reads), and the optimizer steps and seconds
    spent on the candidates (``real``'s are its own arm's)."""

    rows: list[Evidence]
    top: list[Evidence]  # the confirmation half's
    candidate_steps: int
    candidate_seconds: float


def run(
    model: str,
    real: Arm,
    arms: Sequence[Candidate],
    make: Callable[[Candidate], Arm],
    *,
    plan: Schedule,
    segments: Mapping[str, np.ndarray],
    confirm: np.ndarray,
    boot: Bootstrap,
    harm: float,
) -> Searched:
    """Successive halving over the first ``plan.admitted`` candidates of ``arms`` (each built by ``make``)
    along ``plan``'s rungs: ``real`` advances to each rung's steps first, then every surviving arm, each
    compared with ``real`` at those steps on the selection half (``~confirm``); the rung's best
    (:func:`merit`) go on, the others are dropped (their memory freed); the top rung's are measured on the
    confirmation half too."""
    halves = {
        SELECTION: {s: mask & ~confirm for s, mask in segments.items()},
        CONFIRMATION: {s: mask & confirm for s, mask in segments.items()},
    }
    alive = [(candidate, make(candidate)) for candidate in arms[: plan.admitted]]
    rows: list[Evidence] = []
    top: list[Evidence] = []
    spent, seconds, done = 0, 0.0, 0
    for position, rung in enumerate(plan.rungs):
        real.advance(rung.steps)
        baseline = real.values()
        keys = []
        at_rung: list[Evidence] = []
        last = position + 1 == len(plan.rungs)
        for candidate, arm in alive:
            arm.advance(rung.steps)
            values = arm.values()
            measured = {
                sample: evidence(model, candidate.name, rung.steps, mine=values, real=baseline, segments=masks,
                                 boot=boot, sample=sample)
                for sample, masks in halves.items()
                if sample == SELECTION or last
            }  # fmt: skip
            at_rung += measured[SELECTION]
            top += measured.get(CONFIRMATION, [])
            keys.append(merit(measured[SELECTION], harm=harm))
        spent += len(alive) * (rung.steps - done)
        done = rung.steps
        rows += at_rung + (top if last else [])
        log.info(
            "policy %s: rung %d/%d, %d candidate(s) at %d steps", model, position + 1, len(plan.rungs), len(alive),
            rung.steps,
        )  # fmt: skip
        if last:
            seconds += sum(arm.seconds for _, arm in alive)
            break
        kept = set(promote(keys, plan.rungs[position + 1].candidates))
        seconds += sum(arm.seconds for i, (_, arm) in enumerate(alive) if i not in kept)
        alive = [pair for i, pair in enumerate(alive) if i in kept]
    return Searched(rows=rows, top=top, candidate_steps=spent, candidate_seconds=seconds)
