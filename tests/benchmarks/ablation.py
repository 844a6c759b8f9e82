"""The per-op ablation (issue 32, criterion 4): every sequence op of the augment registry alone, and the
synthetic rows, for ALS and SASRec, on a slice of the training period (validation) and on the test
period, through the CLI.

``.venv/bin/python -m tests.benchmarks.ablation demo`` (or ``beauty``, ``cj``) runs one ``recaug
refresh`` in a fresh lake (``--lake DIR`` keeps it) with ``augment.ops`` = the eight sequence ops at
their registry defaults, ``policy.ablation`` = the models (stage policy trains each model on the fit
rows alone and with each op alone, scored on the policy slice: the validation figures) and
``evaluate.ablation`` (evaluate trains ``real+<op>`` per op and ``real+synthetic``, scored on the test
period: the test figures). Both compare with ``real`` on the same users, NDCG@10, 95% paired bootstrap
intervals, per segment. The synthetic rows have no validation figure: the generator and the items it
draws come from the whole training period, the policy slice included. Writes
bench-results/ablation-<dataset>.json and prints the Markdown table of docs/results.md. Nothing is tuned
or chosen here: every figure is reported.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.refresh import REPO, gold, refresh

RESULTS = REPO / "bench-results"
RUN_ID = "ablation"
DATASETS = {
    "demo": [],
    "beauty": ["conf/sources/amazon_beauty.yaml"],
    "cj": ["conf/sources/completejourney.yaml"],
}
SEQUENCE_OPS = ("crop", "mask", "reorder", "substitute", "insert", "slide_window", "subset_split", "pseudo_prior")
MODELS = ("als", "sasrec")
SEGMENTS = ("all", "warm", "cold", "short")
SYNTHETIC = "real+synthetic"


def run(dataset: str, lake: Path) -> dict[str, Any]:
    """Refresh ``dataset`` into ``lake`` with the ablation on; the validation and test rows per (model,
    variant, segment)."""
    ops = "[" + ", ".join(f"{{op: {op}}}" for op in SEQUENCE_OPS) + "]"
    models = "[" + ", ".join(MODELS) + "]"
    sets = [
        f"augment.ops={ops}", "policy.strengths=[]",
        f"policy.ablation={models}", f"evaluate.models={models}", "evaluate.variants=[real, real+synthetic]",
        "evaluate.ablation=true", "evaluate.ks=[10]",
    ]  # fmt: skip
    seconds = refresh(DATASETS[dataset], lake, run_id=RUN_ID, sets=sets, what=f"refresh of {dataset}")
    policy = gold(lake, "gold/augment_policy", RUN_ID)
    validation = {
        (r["model"], r["candidate"], r["segment"]): _figure(r["real"], r["difference"], r["ci_low"], r["ci_high"],
                                                            r["users"])
        for r in policy.where("sample = 'ablation'").collect()
    }  # fmt: skip
    rows = gold(lake, "gold/eval_metrics", RUN_ID).where("metric = 'ndcg' AND k = 10 AND variant <> 'real'").collect()
    test = {
        (r["model"], r["variant"], r["segment"]): _figure(r["value"] - r["difference"], r["difference"],
                                                          r["diff_ci_low"], r["diff_ci_high"], r["n_users"])
        for r in rows
    }  # fmt: skip
    variants = [f"real+{op}" for op in SEQUENCE_OPS] + [SYNTHETIC]
    table = [
        {"model": m, "variant": v, "segment": s, "validation": validation.get((m, v, s)), "test": test.get((m, v, s))}
        for m in MODELS
        for v in variants
        for s in SEGMENTS
    ]
    return {"dataset": dataset, "refresh_seconds": round(seconds, 1), "rows": table}


def _figure(real: float, difference: float, low: float, high: float, users: int) -> dict[str, Any]:
    return {"real": round(real, 5), "difference": round(difference, 5), "ci": [round(low, 5), round(high, 5)],
            "users": int(users)}  # fmt: skip


def markdown(result: dict[str, Any]) -> list[str]:
    """One table per model: a row per variant, a validation and a test cell per segment."""
    out = []
    for model in MODELS:
        out += ["", f"{model} (NDCG@10 difference with real, 95% interval; validation / test):", ""]
        out += ["| variant | " + " | ".join(SEGMENTS) + " |", "|---" * (len(SEGMENTS) + 1) + "|"]
        mine = [r for r in result["rows"] if r["model"] == model]
        for variant in dict.fromkeys(r["variant"] for r in mine):
            cells = []
            for segment in SEGMENTS:
                row = next(r for r in mine if r["variant"] == variant and r["segment"] == segment)
                cells.append(f"{_cell(row['validation'])} / {_cell(row['test'])}")
            out.append(f"| {variant} | " + " | ".join(cells) + " |")
    return out


def _cell(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return "-"
    low, high = figure["ci"]
    mark = "**" if low > 0 or high < 0 else ""
    return f"{mark}{figure['difference']:+.4f} [{low:+.4f}, {high:+.4f}]{mark}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--lake", type=Path, help="keep the lake here (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    lake = args.lake if args.lake else Path(tempfile.mkdtemp(prefix="ablation-")) / "lake"
    try:
        result = run(args.dataset, lake)
    finally:
        if not args.lake:
            shutil.rmtree(lake.parent, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ablation-{args.dataset}.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(markdown(result)))


if __name__ == "__main__":
    main()
