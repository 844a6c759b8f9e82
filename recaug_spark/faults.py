"""A crash hook for recovery tests: die just before or just after a chosen Delta commit.

``RECAUG_CRASH_AT=<stage>:<before|after>[:<n>]`` makes the process die at the ``n``-th (default 1st)
Delta commit that stage makes (its registry rows included: commit 1 of a stage that runs is its
``running`` row in gold/pipeline_runs, the last one its end row; a skipped stage commits only its
``skipped`` row), just before the commit or just after
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


class SimulatedCrash(BaseException):
    """The crash hook fired in ``raise`` mode."""


class CrashHook:
    """Counts each stage's commits and crashes at the one ``RECAUG_CRASH_AT`` names.

    One per top-level run (the pipeline makes it and hands it to the Lake): a refresh runs the other
    stages inside itself, so the stages form a stack and a commit counts for the innermost one.
    """

    def __init__(self) -> None:
        self._stages: list[str] = []
        self._commits: Counter[str] = Counter()

    def entering(self, stage: str) -> None:
        """``stage`` starts: commits from here on count as its own."""
        self._stages.append(stage)
        self._commits[stage] = 0

    def leaving(self, stage: str) -> None:
        """``stage`` ended (however it ended)."""
        if self._stages and self._stages[-1] == stage:
            self._stages.pop()

    def commit_point(self, moment: Literal["before", "after"], table: str) -> None:
        """Called by the Lake around every Delta commit; crashes when ``RECAUG_CRASH_AT`` names this one."""
        stage = self._stages[-1] if self._stages else "-"
        if moment == "before":
            self._commits[stage] += 1
        number = self._commits[stage]
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
