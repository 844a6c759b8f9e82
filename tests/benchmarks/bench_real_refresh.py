"""Benchmark real-refresh: `recaug refresh` end to end on both real datasets, through the CLI.

For Taobao and Complete Journey (../shared/data, their conf/sources/*.yaml), a fresh lake, one
`recaug refresh` process each (local[2]); then the evaluation report's rows (metrics.json) are compared
with gold/eval_metrics of the same run, field by field. ``ratio`` = rows that agree / rows, target 1.0.
Also recorded: wall seconds per dataset, and NDCG@10 over all users per (variant, model) with the
interval (the README's headline figures come from here). ``--quick`` runs Complete Journey only;
``RECAUG_BENCH_SOURCES=taobao`` (a comma-separated list) runs the datasets it names, e.g. to redo one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.refresh import gold, refresh

TARGET = 1.0
FIELDS = ("value", "ci_low", "ci_high", "difference", "diff_ci_low", "diff_ci_high", "lift", "p_value")


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None
    return b is not None and float(a) == float(b)


def run(*, quick: bool) -> dict[str, Any]:
    """Refresh each dataset in a fresh lake and check its report against its table."""
    sources = ["completejourney"] if quick else ["completejourney", "taobao"]
    if os.environ.get("RECAUG_BENCH_SOURCES"):
        sources = [s.strip() for s in os.environ["RECAUG_BENCH_SOURCES"].split(",") if s.strip()]
        unknown = set(sources) - {"completejourney", "taobao"}
        if unknown:
            raise ValueError(f"RECAUG_BENCH_SOURCES names {sorted(unknown)}; known: completejourney, taobao")
    work = Path(tempfile.mkdtemp(prefix="bench-real-refresh-"))
    result: dict[str, Any] = {}
    agree = total = 0
    try:
        for source in sources:
            lake, run_id = work / source, f"bench-{source}"
            seconds = refresh([f"conf/sources/{source}.yaml"], lake, run_id=run_id, what=f"refresh on {source}")
            result[f"{source}_seconds"] = round(seconds, 1)
            table = gold(lake, "gold/eval_metrics", run_id)
            rows = [r.asDict() for r in table.collect()]
            report = json.loads((lake / "reports" / run_id / "metrics.json").read_text())["metrics"]
            by_key = {(m["variant"], m["model"], m["segment"], m["metric"], m["k"]): m for m in report}
            for row in rows:
                mine = by_key.get((row["variant"], row["model"], row["segment"], row["metric"], row["k"]))
                total += 1
                agree += mine is not None and all(_same(row[f], mine[f]) for f in FIELDS)
            total += max(0, len(report) - len(rows))  # report rows the table lacks count as disagreements
            result[f"{source}_ndcg@10_all"] = {
                f"{r['variant']}/{r['model']}": [round(r["value"], 4), round(r["ci_low"], 4), round(r["ci_high"], 4)]
                for r in rows
                if r["metric"] == "ndcg" and r["k"] == 10 and r["segment"] == "all"
            }
        ratio = agree / max(total, 1)
        return {
            "ratio": round(ratio, 6),
            "target": TARGET,
            "passed": ratio >= TARGET and total > 0,
            "rows_compared": total,
            **result,
            "summary": f"{agree:,} of {total:,} report rows equal gold/eval_metrics; "
            + ", ".join(f"{s} {result[f'{s}_seconds']} s" for s in sources),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
