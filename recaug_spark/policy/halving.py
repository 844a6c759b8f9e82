"""Successive halving of a step budget (Jamieson and Talwalkar, 2016): every candidate trains a few
steps, the best 1 / eta go on to eta times as many, and so on until one trains the full budget.

Survivors resume where they stopped, so a rung costs its survivors' extra steps only. The schedule is
sized to the search budget: with ``n`` candidates, ``K = ceil(log_eta n)`` rungs below the top and
``S`` the steps of one full training, the candidates' steps are about ``S (1 + K (1 - 1 / eta))``; a
larger eta is taken while that exceeds the budget (fewer, cheaper rungs), and the candidates beyond
what fits even then are left out, last first. Pure Python: no Spark, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

Key = TypeVar("Key", bound="SupportsRichComparison")


@dataclass(frozen=True)
class Rung:
    """One rung: ``candidates`` train up to ``steps`` optimizer steps."""

    steps: int
    candidates: int


@dataclass(frozen=True)
class Schedule:
    """The rungs, the eta they were built with, and the candidates the budget admits (the first ones)."""

    rungs: tuple[Rung, ...]
    eta: int
    admitted: int

    @property
    def steps(self) -> int:
        """The candidates' optimizer steps in all, survivors resuming (early stopping may spend fewer)."""
        done, total = 0, 0
        for rung in self.rungs:
            total += rung.candidates * (rung.steps - done)
            done = rung.steps
        return total


def rungs(candidates: int, full: int, *, eta: int, unit: int) -> tuple[Rung, ...]:
    """The rungs of ``candidates`` arms up to ``full`` steps, each below the top a multiple of ``unit``
    steps (a validation falls on it) and at least one ``unit``.

    Example:
        >>> [(r.steps, r.candidates) for r in rungs(27, 2700, eta=3, unit=100)]
        [(100, 27), (300, 9), (900, 3), (2700, 1)]
    """
    if candidates < 1 or full < 1:
        return ()
    below = math.ceil(math.log(candidates, eta) - 1e-9) if candidates > 1 else 0
    out: list[Rung] = []
    for k in range(below):
        steps = max(unit, round(full / eta ** (below - k) / unit) * unit)
        if steps < full and (not out or steps > out[-1].steps):
            out.append(Rung(steps, candidates if not out else math.ceil(candidates / eta**k)))
    return (*out, Rung(full, 1)) if out else (Rung(full, candidates),)  # no room below the top: all of it


def schedule(candidates: int, full: int, *, eta: int, unit: int, budget: float) -> Schedule:
    """The schedule for ``candidates`` whose steps stay within ``(budget - 1) x full`` (one ``full``
    training on real is the rest of the budget): eta raised while over, then candidates left out.

    Example:
        >>> s = schedule(27, 2700, eta=3, unit=100, budget=4.0)
        >>> s.eta, s.admitted, s.steps, s.steps / 2700
        (3, 27, 8100, 3.0)
        >>> [(r.steps, r.candidates) for r in schedule(60, 9500, eta=3, unit=250, budget=4.0).rungs]
        [(250, 60), (1500, 2), (9500, 1)]
    """
    allowed = (budget - 1) * full
    admitted = candidates
    while admitted > 0:
        for e in range(eta, max(eta, admitted) + 1):
            plan = Schedule(rungs(admitted, full, eta=e, unit=unit), e, admitted)
            if plan.steps <= allowed:
                return plan
        admitted -= 1
    return Schedule((), eta, 0)


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
