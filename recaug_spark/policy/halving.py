"""Successive halving of a step budget (Jamieson and Talwalkar, 2016), ended by a replication: every
candidate trains a few steps, the best 1 / eta go on to eta times as many, and so on; the last rung's
best is then trained the full steps afresh on another seed, beside ``real`` on that seed (policy/search.py).

Survivors resume where they stopped, so a rung costs its survivors' extra steps only; the replication
costs one full training of the candidate and one of ``real``. The schedule is sized to the search budget
(``budget`` x ``S``, the steps of one full training on real): real twice (its own seed and the
replication's), the replicated candidate once, the rungs within the rest; a larger eta is taken while
they exceed it (fewer, cheaper rungs), and the candidates beyond what fits even then are left out, last
first. Pure Python: no Spark, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

Key = TypeVar("Key", bound="SupportsRichComparison")

TRAININGS_OF_REAL = 2
"""``real`` trains twice in a search: on the search's seed, and on the replication's."""


@dataclass(frozen=True)
class Rung:
    """One rung: ``candidates`` train up to ``steps`` optimizer steps."""

    steps: int
    candidates: int


@dataclass(frozen=True)
class Schedule:
    """The rungs on the search's seed, the full steps the best of the last rung is replicated at, the eta
    they were built with, and the candidates the budget admits (the first ones)."""

    rungs: tuple[Rung, ...]
    full: int
    eta: int
    admitted: int

    @property
    def steps(self) -> int:
        """The candidates' optimizer steps in all, survivors resuming, the replication afresh (early
        stopping may spend fewer)."""
        done, total = 0, 0
        for rung in self.rungs:
            total += rung.candidates * (rung.steps - done)
            done = rung.steps
        return total + (self.full if self.admitted else 0)


def rungs(candidates: int, full: int, *, eta: int, unit: int) -> tuple[Rung, ...]:
    """The rungs of ``candidates`` arms below ``full`` steps, each a multiple of ``unit`` steps (a
    validation falls on it) and at least one ``unit``; one rung of all of them at ``full`` when none fits
    below, none for one candidate (it goes straight to the replication).

    Example:
        >>> [(r.steps, r.candidates) for r in rungs(27, 2700, eta=3, unit=100)]
        [(100, 27), (300, 9), (900, 3)]
    """
    if candidates <= 1 or full < 1:
        return ()
    below = math.ceil(math.log(candidates, eta) - 1e-9)
    out: list[Rung] = []
    for k in range(below):
        steps = max(unit, round(full / eta ** (below - k) / unit) * unit)
        if steps < full and (not out or steps > out[-1].steps):
            out.append(Rung(steps, candidates if not out else math.ceil(candidates / eta**k)))
    return tuple(out) if out else (Rung(full, candidates),)


def schedule(candidates: int, full: int, *, eta: int, unit: int, budget: float, first: float = 0.0) -> Schedule:
    """The schedule for ``candidates`` whose steps stay within ``(budget - 2) x full`` (the two trainings
    of real are the rest of the budget) and whose first rung trains at least ``first`` x ``full`` steps
    (a candidate is not dropped on its first steps alone): eta raised while over, then candidates left
    out.

    Example:
        >>> s = schedule(9, 2700, eta=3, unit=100, budget=5.0)
        >>> [(r.steps, r.candidates) for r in s.rungs], s.steps
        ([(300, 9), (900, 3)], 7200)
        >>> s = schedule(19, 6000, eta=3, unit=250, budget=4.0)
        >>> [(r.steps, r.candidates) for r in s.rungs], s.eta, s.steps
        ([(250, 19), (500, 2)], 10, 11250)
        >>> s = schedule(19, 6000, eta=3, unit=250, budget=4.0, first=0.25)
        >>> [(r.steps, r.candidates) for r in s.rungs], s.admitted, s.steps
        ([(1500, 4)], 4, 12000)
    """
    allowed = (budget - TRAININGS_OF_REAL) * full
    admitted = candidates
    while admitted > 0:
        for e in range(eta, max(eta, admitted) + 1):
            plan = Schedule(rungs(admitted, full, eta=e, unit=unit), full, e, admitted)
            if plan.steps <= allowed and (not plan.rungs or plan.rungs[0].steps >= first * full):
                return plan
        admitted -= 1
    return Schedule((), full, eta, 0)


def promote(scores: Sequence[Key], keep: int) -> list[int]:
    """The positions of the ``keep`` best (largest) scores, in position order; ties go to the earlier
    position. Scores are anything ordered: numbers, or tuples compared field by field.

    Example:
        >>> promote([0.1, 0.3, 0.3, 0.2], 2)
        [1, 2]
        >>> promote([0.5, 0.5, 0.5], 1)
        [0]
        >>> promote([(0, 0.9), (1, 0.1), (1, 0.2)], 1)
        [2]
    """
    ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)  # stable: ties keep position order
    return sorted(ranked[:keep])
