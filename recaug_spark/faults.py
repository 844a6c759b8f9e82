"""A crash hook for recovery tests: die just before or just after a chosen Delta commit.

``RECAUG_CRASH_AT=<stage>:<before|after>[:<n>]`` makes the process die at the ``n``-th (default 1st)
Delta commit that stage makes (its registry rows included: commit 1 of every stage is its ``running``
row in gold/pipeline_runs, the last one its ``succeeded`` row), just before the commit or just after
it. The process is killed with SIGKILL, like a lost driver: no ``finally``, no failure recorded.
``RECAUG_CRASH_MODE=raise`` raises :class:`SimulatedCrash` instead, for tests that stay in one process
(a BaseException, so no stage code catches it; the registry then shows the stage as failed rather
than running, which recovery treats the same way). Unset, the hook costs one dictionary lookup.
Each commit point is logged at DEBUG as ``commit point <stage> #<n> (<table>)``, to choose ``n``.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import Counter
from typing import Literal

log = logging.getLogger(__name__)

ENV, MODE_ENV = "RECAUG_CRASH_AT", "RECAUG_CRASH_MODE"
_current_stage: list[str] = []  # a stack: refresh runs the other stages inside itself
_commits: Counter[str] = Counter()


class SimulatedCrash(BaseException):
    """The crash hook fired in ``raise`` mode."""


def entering(stage: str) -> None:
    """``stage`` starts: commits from here on count as its own."""
    _current_stage.append(stage)
    _commits[stage] = 0


def leaving(stage: str) -> None:
    """``stage`` ended (however it ended)."""
    if _current_stage and _current_stage[-1] == stage:
        _current_stage.pop()


def commit_point(moment: Literal["before", "after"], table: str) -> None:
    """Called by lake.py around every Delta commit; crashes when ``RECAUG_CRASH_AT`` names this one."""
    stage = _current_stage[-1] if _current_stage else "-"
    if moment == "before":
        _commits[stage] += 1
    number = _commits[stage]
    log.debug("commit point %s #%d (%s) %s", stage, number, table, moment)
    spec = os.environ.get(ENV)
    if not spec or _parse(spec) != (stage, moment, number):
        return
    message = f"{ENV}={spec}: crashing {moment} commit #{number} of {stage} ({table})"
    log.error(message)
    if os.environ.get(MODE_ENV) == "raise":
        raise SimulatedCrash(message)
    os.kill(os.getpid(), signal.SIGKILL)


def _parse(spec: str) -> tuple[str, str, int]:
    """``stage:moment[:n]`` -> (stage, moment, n).

    Example:
        >>> _parse("augment:after"), _parse("generate:before:3")
        (('augment', 'after', 1), ('generate', 'before', 3))
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[1] not in ("before", "after"):
        raise ValueError(f"{ENV}={spec!r}: expected <stage>:<before|after>[:<n>]")
    return parts[0], parts[1], int(parts[2]) if len(parts) == 3 else 1
