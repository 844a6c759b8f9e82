"""The do-no-harm rule: a candidate is chosen for a segment only when its validation difference with
``real`` there has an interval above 0 and its interval on all users does not reach below ``-harm`` x
real's mean; otherwise the model's policy is no augmentation, said in words. Pure Python.

The interval is the paired bootstrap's over users, widened on each side by the training runs' own
spread: the absolute difference that ``real`` trained on two seeds shows in that segment (the search's
A/A comparison, :data:`AA`). A bootstrap over users alone treats the two trainings compared as fixed,
and a candidate whose run was luckier than real's looks like a lift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ALL = "all"
NONE = "none"
SEGMENTS = (ALL, "warm", "cold", "short")
"""The policy slice's segments (recommend/evaluate.py's, less cold_items: no model ranks an unseen item)."""


SELECTION, CONFIRMATION = "selection", "confirmation"
ABLATION = "ablation"
"""The ``sample`` of policy/ablation.py's rows: all of the slice's users; nothing is chosen from them."""
AA = "real (replication seed)"
"""The A/A comparison's candidate: ``real`` trained on the replication's seed against real on the search's."""


@dataclass(frozen=True)
class Evidence:
    """A candidate against ``real`` on one segment of the policy slice, both trained ``steps`` steps:
    the means of the metric, their difference and its paired bootstrap interval; ``sample``: the half of
    the slice's users measured (``selection`` promotes candidates, ``confirmation`` decides)."""

    model: str
    candidate: str
    segment: str
    steps: int
    users: int
    value: float
    real: float
    difference: float
    ci_low: float
    ci_high: float
    sample: str = CONFIRMATION


@dataclass(frozen=True)
class Decision:
    """A model's policy: the candidate applied (``none``: no augmentation), the segments it lifts, and why."""

    model: str
    candidate: str
    segments: tuple[str, ...]
    reason: str


Spread = Mapping[str, float]
"""Per segment, how far the interval's ends move out for the spread of training runs (:data:`AA`'s
absolute difference there; a segment not in it moves by 0)."""


def spread_of(rows: Sequence[Evidence]) -> dict[str, float]:
    """The spread per segment from the A/A comparison's rows (any others ignored).

    Example:
        >>> e = lambda c, s, d: Evidence("m", c, s, 100, 50, 0.1 + d, 0.1, d, d - 0.01, d + 0.01)
        >>> spread_of([e(AA, "all", -0.002), e(AA, "cold", 0.004), e("crop", "all", 0.5)])
        {'all': 0.002, 'cold': 0.004}
    """
    return {r.segment: abs(r.difference) for r in rows if r.candidate == AA}


def low(row: Evidence, spread: Spread) -> float:
    """The low end of ``row``'s interval widened by the segment's spread."""
    return row.ci_low - spread.get(row.segment, 0.0)


def lifted(rows: Sequence[Evidence], *, harm: float, spread: Spread) -> tuple[str, ...]:
    """The segments a candidate's ``rows`` (one per segment, one training) lift under the rule: none when
    its all-users interval, widened, reaches below ``-harm`` x real's mean (or there is no all-users row).

    Example:
        >>> e = lambda s, lo, real=0.1: Evidence("m", "c", s, 100, 50, real + lo, real, lo, lo, lo + 0.02)
        >>> lifted([e("all", -0.0005), e("short", 0.001)], harm=0.01, spread={})
        ('short',)
        >>> lifted([e("all", -0.002), e("short", 0.001)], harm=0.01, spread={})  # all users: -2% possible
        ()
        >>> lifted([e("all", -0.0005), e("short", 0.001)], harm=0.01, spread={"short": 0.0015})  # seed luck
        ()
    """
    everyone = _everyone(rows)
    if everyone is None or low(everyone, spread) < -harm * everyone.real:
        return ()
    return _above_zero(rows, spread)


def _everyone(rows: Sequence[Evidence]) -> Evidence | None:
    """The all-users row of one candidate's evidence, if any."""
    return next((r for r in rows if r.segment == ALL), None)


def _above_zero(rows: Sequence[Evidence], spread: Spread) -> tuple[str, ...]:
    """The segments (with users) whose difference with real has a widened interval above 0, harm aside."""
    return tuple(r.segment for r in rows if r.users > 0 and low(r, spread) > 0)


def decide(model: str, rows: Sequence[Evidence], *, harm: float, spread: Spread) -> Decision:
    """The model's policy from the evidence of its fully trained candidates (any number, each with its
    segments): the qualifying candidate whose weakest lifted segment has the highest widened interval
    low, ties by order; or ``none``, with the reason.

    Example:
        >>> e = lambda c, s, lo: Evidence("sasrec", c, s, 100, 50, 0.1 + lo, 0.1, lo, lo, lo + 0.02)
        >>> decide("sasrec", [e("crop", "all", -0.003), e("crop", "cold", 0.002)], harm=0.01, spread={}).reason
        'no augmentation: crop lifts cold, but on all users its interval reaches -3.0% of real (the limit is -1.0%)'
    """
    groups: dict[str, list[Evidence]] = {}
    for row in rows:
        if row.candidate != AA:
            groups.setdefault(row.candidate, []).append(row)
    best: tuple[float, str, tuple[str, ...]] | None = None
    for candidate, mine in groups.items():
        segments = lifted(mine, harm=harm, spread=spread)
        if segments:
            floor = min(low(r, spread) for r in mine if r.segment in segments)
            if best is None or floor > best[0]:
                best = (floor, candidate, segments)
    if best is not None:
        _, candidate, segments = best
        return Decision(
            model, candidate, segments, f"{candidate}: lifts {', '.join(segments)} with no harm on all users"
        )
    return Decision(model, NONE, (), "no augmentation: " + _why_not(groups, harm=harm, spread=spread))


def _why_not(groups: dict[str, list[Evidence]], *, harm: float, spread: Spread) -> str:
    """Why no candidate qualifies: the first one that lifts a segment but risks harm, else none lifts."""
    if not groups:
        return "no candidate was trained"
    for candidate, mine in groups.items():
        up, everyone = _above_zero(mine, spread), _everyone(mine)
        if up and everyone is not None:
            reach = low(everyone, spread) / everyone.real if everyone.real else float("-inf")
            return (
                f"{candidate} lifts {', '.join(up)}, but on all users its interval reaches {reach:.1%} of real "
                f"(the limit is {-harm:.1%})"
            )
    names = ", ".join(groups)
    widened = " widened by the spread of real's two trainings" if any(spread.values()) else ""
    return f"no candidate's difference with real ({names}) has an interval{widened} above 0 in any segment"
