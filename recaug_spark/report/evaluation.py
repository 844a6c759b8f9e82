"""The evaluation report: metrics.json, report.md (tables and verdicts) and charts with interval bars."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

HELPS, NO_DIFFERENCE, HURTS = "helps", "no significant difference", "hurts"
NOT_MEASURABLE = "not measurable"


def verdict(row: Mapping[str, Any]) -> str:
    """``helps`` when the difference's interval lies above 0, ``hurts`` below, otherwise no difference;
    ``not measurable`` when the segment has no scored user, or the metric is 0 for every user of both
    sides (e.g. cold_items: items unseen in training are in no model's catalogue, so no list can hit them).

    Example:
        >>> verdict({"diff_ci_low": 0.01, "diff_ci_high": 0.03, "n_users": 9, "value": 0.2})
        'helps'
        >>> verdict({"diff_ci_low": -0.01, "diff_ci_high": 0.02, "n_users": 9, "value": 0.2})
        'no significant difference'
        >>> verdict({"diff_ci_low": 0.0, "diff_ci_high": 0.0, "difference": 0.0, "value": 0.0, "n_users": 9})
        'not measurable'
    """
    low, high = row.get("diff_ci_low"), row.get("diff_ci_high")
    if not row.get("n_users"):
        return NOT_MEASURABLE
    if row.get("value") == 0 and row.get("difference") == 0 and low == 0 and high == 0:
        return NOT_MEASURABLE  # both sides 0 for every user: the interval is a point, not evidence
    if low is None or high is None:
        return NO_DIFFERENCE
    if low > 0:
        return HELPS
    if high < 0:
        return HURTS
    return NO_DIFFERENCE


def headline_k(ks: Sequence[int]) -> int:
    """The K of the headline metric (NDCG@K): 10 when evaluated, else the middle one."""
    return 10 if 10 in ks else sorted(ks)[len(ks) // 2]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def write_evaluation_report(
    directory: Path, *, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]
) -> list[Path]:
    """Write metrics.json, report.md and one chart per segment; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    records = [{k: _clean(v) for k, v in row.items()} for row in rows]
    metrics_json = directory / "metrics.json"
    metrics_json.write_text(json.dumps({"meta": meta, "metrics": records}, indent=2, sort_keys=True, default=str))
    written.append(metrics_json)
    k = headline_k(meta["ks"])
    headline = [r for r in records if r["metric"] == "ndcg" and r["k"] == k]
    segments = sorted({r["segment"] for r in headline}, key=["all", "warm", "cold", "short", "cold_items"].index)
    charts = [_chart(directory, segment, [r for r in headline if r["segment"] == segment], k) for segment in segments]
    written += charts
    training = meta.get("training") or {}
    if training:
        charts.append(_curves(directory, training))
        written.append(charts[-1])
    report = directory / "report.md"
    report.write_text(_markdown(records, meta, k, segments, charts))
    written.append(report)
    return written


def _chart(directory: Path, segment: str, rows: list[dict[str, Any]], k: int) -> Path:
    """NDCG@k per model, one bar per variant, with the bootstrap interval."""
    figure = Figure(figsize=(7, 3.6))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    models = sorted({r["model"] for r in rows})
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    width = 0.8 / max(len(variants), 1)
    for j, variant in enumerate(variants):
        xs: list[float] = []
        ys: list[float] = []
        err: list[list[float]] = [[], []]
        for i, model in enumerate(models):
            match = [r for r in rows if r["model"] == model and r["variant"] == variant]
            if not match:
                continue
            r = match[0]
            xs.append(i + (j - (len(variants) - 1) / 2) * width)
            ys.append(r["value"])
            err[0].append(max(r["value"] - (r["ci_low"] if r["ci_low"] is not None else r["value"]), 0.0))
            err[1].append(max((r["ci_high"] if r["ci_high"] is not None else r["value"]) - r["value"], 0.0))
        axes.bar(xs, ys, width=width, yerr=err, capsize=3, label=variant)
    axes.set_xticks(range(len(models)), models)
    axes.set_ylabel(f"NDCG@{k}")
    axes.set_title(f"segment: {segment} (95% bootstrap intervals)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = directory / f"ndcg_{segment}.png"
    figure.savefig(path, dpi=100)
    return path


def _curves(directory: Path, training: Mapping[str, Mapping[str, Any]]) -> Path:
    """Each trained model's validation MRR against the optimizer step, its selected step marked."""
    figure = Figure(figsize=(7, 3.6))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, summary in sorted(training.items()):
        history = summary.get("history") or []
        steps = [h["step"] for h in history]
        line = axes.plot(steps, [h["mrr"] for h in history], label=name)[0]
        chosen = [h for h in history if h["step"] == summary.get("best_step")]
        if chosen:
            axes.plot([chosen[0]["step"]], [chosen[0]["mrr"]], "o", color=line.get_color())
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("validation MRR")
    axes.set_title("training curves (dot: the selected step)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = directory / "training_curves.png"
    figure.savefig(path, dpi=100)
    return path


def _training_lines(training: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One row per trained model: steps, the selected step and its validation measures, time, device."""
    if not training:
        return []
    lines = ["", "## Training (validation on the training period only)", ""]
    lines += [
        "| variant/model | steps run | selected step | validation MRR | NDCG@10 | stopped early | seconds | device |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in sorted(training.items()):
        device = f"{t['device']} x {t['threads']} threads" if "device" in t and "threads" in t else t.get("device", "")
        lines.append(
            f"| {name} | {t.get('steps_run', '')} | {t.get('best_step', '')} | {_fmt(t.get('best_mrr'))} | "
            f"{_fmt(t.get('best_ndcg_at_10'))} | {t.get('stopped_early', '')} | {_fmt(t.get('seconds'), 1)} | "
            f"{device} |"
        )
    return lines


def _fmt(value: Any, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _markdown(
    records: list[dict[str, Any]], meta: Mapping[str, Any], k: int, segments: list[str], charts: list[Path]
) -> str:
    lines = [f"# Evaluation report {meta['run_id']}", ""]
    lines += ["## What was trained on what", ""]
    lines.append(
        f"- variants: {', '.join(meta['variants'])}"
        + (f" (skipped: {', '.join(meta['skipped_variants'])}: no input run)" if meta["skipped_variants"] else "")
    )
    lines.append(f"- models: {', '.join(meta['models'])}; K: {', '.join(map(str, meta['ks']))}")
    weights, boot = meta["weights"], meta["bootstrap"]
    lines.append(f"- augmented / synthetic rows weighted {weights['augmented']} / {weights['synthetic']}")
    lines.append(f"- augment and generate runs used: {meta['runs_used'] or 'none'}")
    lines.append(f"- input Delta versions: {meta['inputs']}")
    lines.append(f"- catalogue: {meta['catalogue_items']:,} items; seen items excluded: {meta['exclude_seen']}")
    lines.append(f"- test users without relevant items (not scored): {meta['test_users_without_relevant_items']:,}")
    fallback = {name: n for name, n in meta.get("popularity_fallback_users", {}).items() if n}
    lines.append(
        "- users a model could not score, given the popularity list: "
        + (", ".join(f"{name} {n:,}" for name, n in sorted(fallback.items())) if fallback else "none")
    )
    if meta.get("max_users") is not None:
        lines.append(f"- users scored: {meta['users_scored']:,}, a keyed hash sample (evaluate.max_users)")
    lines.append(
        f"- intervals: {boot['method']} bootstrap over users, {boot['resamples']} resamples, {boot['confidence']:.0%}"
    )
    lines += ["", f"## Verdicts (NDCG@{k}, difference with real on the same users)", ""]
    lines += [
        "| variant | segment | model | real | variant | difference [interval] | lift | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(r["variant"], r["model"], r["segment"]): r for r in records if r["metric"] == "ndcg" and r["k"] == k}
    for (variant, model, segment), r in sorted(
        by_key.items(), key=lambda kv: (kv[0][0], segments.index(kv[0][2]) if kv[0][2] in segments else 9, kv[0][1])
    ):
        if variant == "real":
            continue
        base = by_key.get(("real", model, segment))
        lift = f"{r['lift']:+.1%}" if r.get("lift") is not None else ""
        lines.append(
            f"| {variant} | {segment} | {model} | {_fmt(base['value'] if base else None)} | {_fmt(r['value'])} | "
            f"{_fmt(r['difference'])} [{_fmt(r['diff_ci_low'])}, {_fmt(r['diff_ci_high'])}] | {lift} | {verdict(r)} |"
        )
    lines += _training_lines(meta.get("training") or {})
    lines += ["", "## All metrics", ""]
    lines += [
        "| variant | model | segment | metric | k | value | interval | users |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: (r["variant"], r["model"], r["segment"], r["metric"], r["k"] or 0)):
        interval = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if r["ci_low"] is not None else ""
        key = f"| {r['variant']} | {r['model']} | {r['segment']} | {r['metric']} | {r['k'] or ''} "
        lines.append(f"{key}| {_fmt(r['value'])} | {interval} | {r['n_users'] or ''} |")
    lines += ["", "## Charts", ""] + [f"![{p.stem}]({p.name})" for p in charts] + [""]
    return "\n".join(lines)
