"""Reports into the lake: written to a scratch directory, then copied to ``reports/<run id>/`` (any storage)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from recaug_spark import storage
from recaug_spark.lake import Lake
from recaug_spark.report.evaluation import write_evaluation_report
from recaug_spark.report.policy import write_policy_report


def publish(lake: Lake, run_id: str, write: Callable[[Path], Sequence[Path]]) -> str:
    """Run ``write`` on a scratch directory and copy the files it returns to ``reports/<run id>/``.

    Returns:
        The run's report directory in the lake.

    Example:
        ``publish(lake, run_id, lambda tmp: write_quality_report(tmp, ...))``
    """
    target = storage.join(lake.root, "reports", run_id)
    with tempfile.TemporaryDirectory() as tmp:
        for path in write(Path(tmp)):
            storage.write_bytes(lake.spark, storage.join(target, path.name), path.read_bytes())
    return target


def evaluation_report(lake: Lake, run_id: str, rows: list[dict[str, Any]], meta: Mapping[str, Any]) -> str:
    """The evaluation report (report/evaluation.py) of a run into the lake; the path of its report.md."""
    target = publish(lake, run_id, lambda tmp: write_evaluation_report(tmp, rows=rows, meta=meta))
    return storage.join(target, "report.md")


def policy_report(lake: Lake, run_id: str, rows: list[dict[str, Any]], meta: Mapping[str, Any]) -> str:
    """The policy report (report/policy.py) of a run into the lake; the path of its policy.md."""
    target = publish(lake, run_id, lambda tmp: write_policy_report(tmp, rows=rows, meta=meta))
    return storage.join(target, "policy.md")
