"""The search: ``real`` and the candidates trained rung by rung (policy/halving.py), each rung's survivors
compared with ``real`` at the same steps on the policy slice, per segment, with paired bootstrap
intervals; the best go on. Model-agnostic: an :class:`Arm` is anything that trains to a step count and
scores the slice's users. Pure numpy: no Spark, no torch.

The search is cut in two so that the decision does not rest on the evidence that made the choice. The
slice's users: promotion reads the ``selection`` half only; the decision reads the ``confirmation``
half. The training runs: the rungs train on the search's seed; the survivor is trained again on another
seed beside ``real`` on that seed, and only that pair is judged, so a candidate that won by a lucky run
is not believed; real against real on the two seeds (decide.AA) is how far runs alone differ, and
decide.py widens the intervals by it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from recaug_spark.policy.candidates import Candidate
from recaug_spark.policy.decide import AA, ALL, CONFIRMATION, SELECTION, Evidence
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
    """Every rung's evidence, the replication's (what decide.py reads: the survivor against real on the
    replication's seed, and real against itself on the two seeds, :data:`AA`), and the optimizer steps
    and seconds spent on the candidates and on real's replication (real's own are its arm's)."""

    rows: list[Evidence]
    top: list[Evidence]  # the confirmation half's
    candidate_steps: int
    candidate_seconds: float
    twin_seconds: float


def run(
    model: str,
    real: Arm,
    arms: Sequence[Candidate],
    make: Callable[[Candidate, int], Arm],
    twin: Callable[[], Arm],
    *,
    plan: Schedule,
    segments: Mapping[str, np.ndarray],
    confirm: np.ndarray,
    boot: Bootstrap,
    harm: float,
) -> Searched:
    """Successive halving over the first ``plan.admitted`` candidates of ``arms`` along ``plan``'s rungs,
    then the replication. Each rung: ``real`` advances to its steps first, then every surviving arm
    (``make(candidate, 0)``: the search's seed), each compared with ``real`` at those steps on the
    selection half (``~confirm``); the rung's best (:func:`merit`) go on, the others are dropped (their
    memory freed). The last rung's best is trained afresh to ``plan.full`` steps on the replication's seed
    (``make(candidate, 1)``) and compared on the confirmation half with ``twin()``, real on that seed, and
    the twin with real: a choice made on one seed's runs is judged on runs it never saw."""
    halves = {
        SELECTION: {s: mask & ~confirm for s, mask in segments.items()},
        CONFIRMATION: {s: mask & confirm for s, mask in segments.items()},
    }
    admitted = list(arms[: plan.admitted])
    alive = [(candidate, make(candidate, 0)) for candidate in admitted] if plan.rungs else []
    rows: list[Evidence] = []
    spent, seconds, done = 0, 0.0, 0
    for position, rung in enumerate(plan.rungs):
        real.advance(rung.steps)
        baseline = real.values()
        keys = []
        for candidate, arm in alive:
            arm.advance(rung.steps)
            measured = evidence(model, candidate.name, rung.steps, mine=arm.values(), real=baseline,
                                segments=halves[SELECTION], boot=boot, sample=SELECTION)  # fmt: skip
            rows += measured
            keys.append(merit(measured, harm=harm))
        spent += len(alive) * (rung.steps - done)
        done = rung.steps
        log.info(
            "policy %s: rung %d/%d, %d candidate(s) at %d steps", model, position + 1, len(plan.rungs), len(alive),
            rung.steps,
        )  # fmt: skip
        following = plan.rungs[position + 1].candidates if position + 1 < len(plan.rungs) else 1
        kept = set(promote(keys, following))
        seconds += sum(arm.seconds for i, (_, arm) in enumerate(alive) if i not in kept)
        alive = [pair for i, pair in enumerate(alive) if i in kept]
    if not admitted:
        return Searched(rows=rows, top=[], candidate_steps=0, candidate_seconds=0.0, twin_seconds=0.0)
    survivor = alive[0][0] if alive else admitted[0]
    seconds += sum(arm.seconds for _, arm in alive)  # the search seed's run of the survivor ends here
    log.info("policy %s: replicating %s at %d steps on another seed", model, survivor.name, plan.full)
    real.advance(plan.full)
    again, replica = twin(), make(survivor, 1)
    again.advance(plan.full)
    replica.advance(plan.full)
    twin_values = again.values()
    confirmed = halves[CONFIRMATION]
    top = evidence(model, survivor.name, plan.full, mine=replica.values(), real=twin_values, segments=confirmed,
                   boot=boot, sample=CONFIRMATION)  # fmt: skip
    top += evidence(model, AA, plan.full, mine=twin_values, real=real.values(), segments=confirmed, boot=boot,
                    sample=CONFIRMATION)  # fmt: skip
    return Searched(
        rows=rows + top,
        top=top,
        candidate_steps=spent + plan.full,
        candidate_seconds=seconds + replica.seconds,
        twin_seconds=again.seconds,
    )
