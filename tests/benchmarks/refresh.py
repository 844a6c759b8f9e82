"""A benchmark's `recaug refresh` through the CLI (local[2], no UI) and the gold rows it wrote."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from recaug_spark.config import load_config
from recaug_spark.session import build_session

REPO = Path(__file__).resolve().parents[2]


def refresh(conf: Sequence[str], lake: Path, *, run_id: str, sets: Sequence[str] = (), what: str = "refresh") -> float:
    """Run ``recaug refresh`` with the ``conf`` files (relative to the repository) into ``lake`` under
    ``run_id``, each of ``sets`` a ``--set``; the seconds it took.

    Raises:
        RuntimeError: it failed; the message names ``what``, carries its error lines and names the file
            that keeps its whole standard error (``bench-results/<run_id>.stderr.log``: the lakes of most
            benchmarks are temporary).
    """
    args = [a for c in conf for a in ("--conf", c)]
    args += [a for s in ("spark.master=local[2]", "spark.ui_enabled=false", *sets) for a in ("--set", s)]
    started = time.perf_counter()
    out = subprocess.run(
        [str(Path(sys.executable).parent / "recaug"), "refresh", *args, "--lake", str(lake), "--run-id", run_id],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        kept = REPO / "bench-results" / f"{run_id}.stderr.log"
        kept.parent.mkdir(exist_ok=True)
        kept.write_text(out.stderr)
        lines = out.stderr.strip().splitlines()
        errors = [line for line in lines if "Error" in line or "error:" in line][-5:] or lines[-1:]
        raise RuntimeError(f"{what} failed (exit {out.returncode}; all of its stderr in {kept}): " + "\n".join(errors))
    return time.perf_counter() - started


@cache
def _spark() -> SparkSession:
    return build_session(load_config([], ["spark.master=local[1]", "spark.ui_enabled=false"]).spark)


def gold(lake: Path, table: str, run_id: str) -> DataFrame:
    """The rows of ``run_id`` in the lake's Delta ``table`` (``gold/eval_metrics``, ...)."""
    return _spark().read.format("delta").load(str(lake / table)).where(f"run_id = '{run_id}'")
