"""The policy report: policy.json (every rung's evidence, the decisions, the search's cost) and policy.md
(per model: the decision in words, the cost against one training on real, the top rung's evidence and
each rung's best candidates)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recaug_spark.policy.decide import AA, ABLATION, CONFIRMATION, SEGMENTS, SELECTION
from recaug_spark.report.evaluation import verdict


def write_policy_report(directory: Path, *, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> list[Path]:
    """Write policy.json and policy.md; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "policy.json"
    data.write_text(json.dumps({"meta": meta, "rows": list(rows)}, indent=2, sort_keys=True, default=str))
    text = directory / "policy.md"
    text.write_text("\n".join(markdown(rows, meta)) + "\n")
    return [data, text]


def markdown(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> list[str]:
    """policy.md's lines."""
    out = ["# Augmentation policy", ""]
    out.append(
        "Decided on a slice of the training period (each user's last training event, or its last days), with "
        "NDCG@10 per user and paired bootstrap intervals against `real` trained as many steps; a candidate is "
        "chosen for a segment only with an interval above 0 there and none below the harm limit on all users, "
        "each interval widened by how far two trainings of real (on two seeds) differ in that segment."
    )
    for model, found in meta.get("models", {}).items():
        mine = [r for r in rows if r["model"] == model]
        top = max((r["steps"] for r in mine), default=0)
        out += ["", f"## {model}", "", f"**Policy: {found['reason']}.**", ""]
        out.append(
            f"Search: {meta.get('candidates', 0)} candidates ({found['admitted']} admitted), rungs "
            + ", ".join(f"{c} x {s:,} steps" for s, c in found["rungs"])
            + f", then the best again on another seed; real {found['real_steps']:,} steps in "
            f"{found['real_seconds']:.0f} s and {found['twin_steps']:,} on the other seed in "
            f"{found['twin_seconds']:.0f} s, candidates "
            f"{found['candidate_steps']:,} steps in {found['candidate_seconds']:.0f} s: the search cost "
            f"{found['steps_ratio']:.2f}x one training on real in steps, {found['seconds_ratio']:.2f}x in seconds; "
            f"{found['slice_users']:,} policy-slice users."
        )
        confirmed = [r for r in mine if r["sample"] == CONFIRMATION]
        out += [
            "", f"Decided on the confirmation half of the slice ({top:,} steps, the other seed): the candidate "
            f"against real on that seed, and `{AA}` against real on the search's seed (how far runs alone "
            "differ; the intervals above are widened by it):", "", *_table(confirmed),
        ]  # fmt: skip
        chosen = [r for r in mine if r["sample"] == SELECTION]
        for steps in sorted({r["steps"] for r in chosen}, reverse=True):
            at = [r for r in chosen if r["steps"] == steps and r["segment"] == "all"]
            best = {r["candidate"] for r in sorted(at, key=lambda r: -r["difference"])[:5]}
            out += ["", f"Selection half at {steps:,} steps ({len(at)} candidates), the 5 best on all users:", ""]
            out += _table([r for r in chosen if r["steps"] == steps and r["candidate"] in best])
    ablated = [r for r in rows if r["sample"] == ABLATION]
    for model in dict.fromkeys(r["model"] for r in ablated):
        out += [
            "", f"## Ablation: {model}", "", "Each op of augment.ops alone (at evaluate.augmented_weight, all users' "
            "rows) against real, trained as evaluate trains them, on all of the policy slice's users; nothing is "
            "chosen from it:", "", *_table([r for r in ablated if r["model"] == model]),
        ]  # fmt: skip
    return out


def _table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per candidate: its difference with real per segment, with interval and verdict."""
    lines = ["| candidate | " + " | ".join(SEGMENTS) + " |", "|---" * (len(SEGMENTS) + 1) + "|"]
    names = list(dict.fromkeys(r["candidate"] for r in rows))
    for name in names:
        cells = []
        for segment in SEGMENTS:
            row = next((r for r in rows if r["candidate"] == name and r["segment"] == segment), None)
            if row is None:
                cells.append("-")
                continue
            judged = verdict(
                {"diff_ci_low": row["ci_low"], "diff_ci_high": row["ci_high"], "n_users": row["users"],
                 "value": row["value"], "difference": row["difference"]}
            )  # fmt: skip
            mark = " **chosen**" if row["chosen"] else ""
            cells.append(
                f"{row['difference']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}] {judged} "
                f"(real {row['real']:.4f}, n={row['users']:,}){mark}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines
