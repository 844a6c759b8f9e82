"""Benchmark beauty: SASRec against the published state of the art on Amazon Beauty, through the CLI.

One `recaug refresh --conf conf/sources/amazon_beauty.yaml` in a fresh lake (local[2], the config's
SASRec defaults: nothing here tunes it), evaluating ``real`` with every model under the benchmark's
protocol (../shared/data/README.md: each user's last item is the test, the full catalogue ranked, the
user's earlier items excluded). Recorded: each model's NDCG@10 and HR@10 with their 95% intervals over
users, SASRec's training seconds, optimizer steps and selected step (from its artifact's metadata), and
the refresh's wall seconds. ``ratio`` = SASRec NDCG@10 / 0.0531 (the published SASRec with sampled
softmax, eSASRec's benchmark); target 1.0, with at most 30 minutes of SASRec training. ``--quick``: the
same run with ``evaluate.sasrec.steps=500`` (a smoke run of the path, not the figure).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.refresh import gold, refresh

PUBLISHED_NDCG, PUBLISHED_HR = 0.0531, 0.0921
TARGET = 1.0
MAX_TRAINING_SECONDS = 30 * 60
RUN_ID = "bench-beauty"
TRAINING_KEYS = (
    "seconds", "steps_run", "best_step", "best_mrr", "best_ndcg_at_10", "device", "threads", "loss", "stopped_early",
)  # fmt: skip


def run(*, quick: bool) -> dict[str, Any]:
    """Refresh Beauty in a fresh lake; SASRec's NDCG@10 against the published figure."""
    work = Path(tempfile.mkdtemp(prefix="bench-beauty-"))
    lake = work / "lake"
    extra = ["evaluate.sasrec.steps=500"] if quick else []
    try:
        refresh_seconds = refresh(["conf/sources/amazon_beauty.yaml"], lake, run_id=RUN_ID, sets=extra,
                                  what="refresh on Beauty")  # fmt: skip
        table = gold(lake, "gold/eval_metrics", RUN_ID)
        rows = table.where("segment = 'all' AND k = 10 AND metric IN ('ndcg', 'hit_rate')").collect()
        models: dict[str, dict[str, Any]] = {}
        for r in rows:
            models.setdefault(r["model"], {"users": r["n_users"]})[r["metric"]] = [
                round(r["value"], 4), round(r["ci_low"], 4), round(r["ci_high"], 4)
            ]  # fmt: skip
        meta = json.loads((lake / "models" / "seqrec" / f"{RUN_ID}-real" / "metadata.json").read_text())
        training = meta["training"]
        sasrec = models["sasrec"]["ndcg"][0]
        ratio = sasrec / PUBLISHED_NDCG
        seconds = training["seconds"]
        return {
            "ratio": round(ratio, 4),
            "target": TARGET,
            "passed": ratio >= TARGET and seconds <= MAX_TRAINING_SECONDS,
            "published": {"ndcg@10": PUBLISHED_NDCG, "hr@10": PUBLISHED_HR},
            "models": models,
            "sasrec_training": {k: training[k] for k in TRAINING_KEYS},
            "sasrec_curve": [[h["step"], round(h["mrr"], 5), round(h["ndcg_at_10"], 5)] for h in training["history"]],
            "refresh_seconds": round(refresh_seconds, 1),
            "summary": f"SASRec NDCG@10 {sasrec:.4f} (published {PUBLISHED_NDCG}), HR@10 "
            f"{models['sasrec']['hit_rate'][0]:.4f}; trained {seconds:.0f} s, {training['steps_run']} steps, "
            f"best at {training['best_step']}; refresh {refresh_seconds:.0f} s",
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
