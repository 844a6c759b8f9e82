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
    measured = _measurable_segments(headline, segments)
    differences = [r for r in headline if r["variant"] != "real" and r["segment"] in measured]
    if differences:
        charts.append(_differences_chart(directory, differences, measured, k))
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


def _measurable_segments(headline: list[dict[str, Any]], segments: list[str]) -> list[str]:
    """The segments where at least one (variant, model) has a verdict other than ``not measurable``, or a
    non-zero value (a run of ``real`` alone has no verdicts)."""
    return [
        segment
        for segment in segments
        if any(
            (verdict(r) != NOT_MEASURABLE if r["variant"] != "real" else bool(r["n_users"] and r["value"]))
            for r in headline
            if r["segment"] == segment
        )
    ]


VERDICT_COLOURS = {HELPS: "tab:green", HURTS: "tab:red", NO_DIFFERENCE: "tab:gray", NOT_MEASURABLE: "tab:gray"}


def _differences_chart(directory: Path, rows: list[dict[str, Any]], segments: list[str], k: int) -> Path:
    """Each variant's paired difference with real (NDCG@k) and its interval, one panel per segment: the
    evidence itself, which the overlap of two marginal intervals misrepresents."""
    labels = sorted({(r["model"], r["variant"]) for r in rows})
    figure = Figure(figsize=(7, 0.9 + 0.28 * len(labels) * len(segments) + 0.5 * len(segments)))
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(segments), 1, squeeze=False, sharex=True)[:, 0]
    for axes, segment in zip(panels, segments, strict=True):
        mine = {(r["model"], r["variant"]): r for r in rows if r["segment"] == segment}
        for y, label in enumerate(labels):
            r = mine.get(label)
            if r is None or r["difference"] is None:
                continue
            low = r["diff_ci_low"] if r["diff_ci_low"] is not None else r["difference"]
            high = r["diff_ci_high"] if r["diff_ci_high"] is not None else r["difference"]
            axes.errorbar(
                [r["difference"]], [y], xerr=[[r["difference"] - low], [high - r["difference"]]], fmt="o",
                capsize=3, color=VERDICT_COLOURS[verdict(r)],
            )  # fmt: skip
        axes.axvline(0.0, color="black", linewidth=0.8)
        axes.set_yticks(range(len(labels)), [f"{model} {variant}" for model, variant in labels], fontsize=7)
        axes.set_ylim(-0.6, len(labels) - 0.4)
        axes.invert_yaxis()
        axes.set_title(f"segment: {segment}", fontsize=9)
    panels[-1].set_xlabel(f"NDCG@{k} difference with real, same users (green helps, red hurts)")
    figure.tight_layout()
    path = directory / "paired_differences.png"
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


def _fmt(value: Any, digits: int = 4, *, sign: bool = False) -> str:
    return "" if value is None else f"{value:{'+' if sign else ''}.{digits}f}"


def _answer(headline: list[dict[str, Any]], between: list[dict[str, Any]], segments: list[str], k: int) -> list[str]:
    """The report's opening in plain words: the best model on all users (trained on real) and how it
    compares with each other model, then per model the variants that help or hurt which segment."""
    lines = ["## The answer", ""]
    real = {r["model"]: r for r in headline if r["variant"] == "real" and r["segment"] == "all" and r["n_users"]}
    if real:
        best = max(sorted(real), key=lambda name: real[name]["value"] or 0.0)
        lines.append(f"- **Best model: {best}**, NDCG@{k} {_fmt(real[best]['value'])} on all users (trained on real).")
        for other in sorted(set(real) - {best}):
            lines.append(f"  - against {other}: {_versus(best, other, between, k)}")
    for model in sorted({r["model"] for r in headline}):
        mine = [r for r in headline if r["model"] == model and r["variant"] != "real" and r["segment"] in segments]
        if not mine:
            continue
        where: dict[tuple[str, str], list[str]] = {}
        for r in sorted(mine, key=lambda r: segments.index(r["segment"])):
            if verdict(r) in (HELPS, HURTS):
                where.setdefault((verdict(r), r["variant"]), []).append(r["segment"])
        said = [f"{variant} {word} {', '.join(found)}" for (word, variant), found in sorted(where.items())]
        lines.append(
            f"- {model}: " + ("; ".join(said) if said else "no variant makes a significant difference in any segment")
        )
    lines += [
        "",
        f"(NDCG@{k}; a variant helps or hurts when the interval of its difference with real, paired over the "
        "same users, lies above or below 0.)",
        "",
    ]
    return lines


def _versus(best: str, other: str, between: list[dict[str, Any]], k: int) -> str:
    """``best``'s paired difference with ``other`` on all users, in words."""
    for r in between:
        if r["metric"] != "ndcg" or r["k"] != k or r["segment"] != "all" or {r["model"], r["against"]} != {best, other}:
            continue
        sign = 1.0 if r["model"] == best else -1.0  # pairs are stored in one order: flip when it is the other
        diff, low, high = (sign * r[key] for key in ("difference", "ci_low", "ci_high"))
        low, high = min(low, high), max(low, high)
        word = "ahead" if low > 0 else "behind" if high < 0 else "not distinguishable"
        return f"{word}, {diff:+.4f} [{low:+.4f}, {high:+.4f}]"
    return "no paired comparison (run before model comparisons were recorded)"


def _verdict_matrices(headline: list[dict[str, Any]], segments: list[str], k: int) -> list[str]:
    """One table per measurable segment: a row per model, its value on real, then per variant the paired
    difference with real, its interval and the verdict."""
    variants = [v for v in dict.fromkeys(r["variant"] for r in sorted(headline, key=_variant_order)) if v != "real"]
    if not variants:
        return []
    lines = ["", f"## Verdicts (NDCG@{k}: each variant's difference with real on the same users)", ""]
    by_key = {(r["variant"], r["model"], r["segment"]): r for r in headline}
    for segment in segments:
        users = max((r["n_users"] or 0 for r in headline if r["segment"] == segment), default=0)
        lines += [f"### {segment} ({users:,} users)", ""]
        lines.append("| model | real | " + " | ".join(variants) + " |")
        lines.append("|---|---|" + "---|" * len(variants))
        for model in sorted({r["model"] for r in headline}):
            base = by_key.get(("real", model, segment))
            cells = []
            for variant in variants:
                r = by_key.get((variant, model, segment))
                cells.append(
                    ""
                    if r is None
                    else f"{_fmt(r['difference'], sign=True)} [{_fmt(r['diff_ci_low'], sign=True)}, "
                    f"{_fmt(r['diff_ci_high'], sign=True)}] {_SHORT[verdict(r)]}"
                )
            lines.append(f"| {model} | {_fmt(base['value'] if base else None)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("helps / hurts: the interval lies above / below 0; `-`: no significant difference.")
    return lines


_SHORT = {HELPS: "**helps**", HURTS: "**hurts**", NO_DIFFERENCE: "-", NOT_MEASURABLE: "n/m"}


def _variant_order(row: Mapping[str, Any]) -> tuple[int, str]:
    return (0 if row["variant"] == "real" else 1, row["variant"])


def _markdown(
    records: list[dict[str, Any]], meta: Mapping[str, Any], k: int, segments: list[str], charts: list[Path]
) -> str:
    headline = [r for r in records if r["metric"] == "ndcg" and r["k"] == k]
    measured = _measurable_segments(headline, segments)
    lines = [f"# Evaluation report {meta['run_id']}", ""]
    lines += _answer(headline, meta.get("model_differences") or [], measured, k)
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
    lines += _verdict_matrices(headline, measured, k)
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
