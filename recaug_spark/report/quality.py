"""Write the quality report of a synthetic frame: ``quality.json``, ``quality.md`` and one PNG per column.

Charts are drawn on :class:`matplotlib.figure.Figure` objects (Agg canvas, no pyplot global state, no
display needed).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recaug_spark.quality.fidelity import FidelityReport
from recaug_spark.quality.privacy import PrivacyReport

MEMORISATION_RATIO = 0.9  # a DCR ratio below this reads as "closer than unseen real rows"
WORST_PAIRS = 10
TOP_LEVELS = 20
HIST_BINS = 30
_MISSING_LABEL = "(missing)"


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, tuples to lists, inf/NaN to None, keys to str."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _safe_names(columns: Sequence[str]) -> dict[str, str]:
    """A file-name-safe, unique stem per column (``[A-Za-z0-9._-]``, a numeric suffix on collisions)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(column)).strip("._") or "column"
        candidate, i = stem, 1
        while candidate.lower() in used:
            i += 1
            candidate = f"{stem}_{i}"
        used.add(candidate.lower())
        out[column] = candidate
    return out


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def copy_verdict(privacy: PrivacyReport) -> str:
    """Plain-language verdict on exact copies of training rows."""
    share = privacy.exact_copy_share
    if math.isnan(share):
        return "no synthetic rows to check for exact copies"
    copies = round(share * privacy.rows["synthetic"])
    if copies == 0:
        return "no exact copies of training rows"
    return f"{copies} exact copies of training rows ({100 * share:.2f}%)"


def distance_verdict(privacy: PrivacyReport) -> str:
    """Plain-language verdict on the DCR ratio (synthetic vs unseen real rows)."""
    ratio = privacy.dcr_ratio
    if math.isnan(ratio):
        return "DCR ratio not available (no synthetic or no holdout rows)"
    if ratio < MEMORISATION_RATIO:
        return (
            "synthetic rows are closer to training rows than unseen real rows: possible memorisation "
            f"(DCR ratio {_fmt(ratio)})"
        )
    return f"synthetic rows are no closer to training rows than unseen real rows (DCR ratio {_fmt(ratio)})"


def _markdown(
    *,
    fidelity: FidelityReport,
    privacy: PrivacyReport,
    kinds: Mapping[str, str],
    charts: Mapping[str, str],
    meta: Mapping[str, Any],
) -> str:
    lines = ["# Synthetic data quality report", ""]
    if meta:
        lines += [*_table(["field", "value"], [[k, "n/a" if v is None else v] for k, v in meta.items()]), ""]
    lines += ["## Fidelity", ""]
    lines += _table(
        ["score", "value"],
        [
            ["overall", _fmt(fidelity.overall)],
            ["columns (mean)", _fmt(fidelity.column_score)],
            ["pairs (mean)", _fmt(fidelity.pair_score)],
        ],
    )
    lines += ["", "### Columns", ""]
    lines += _table(
        ["column", "kind", "metric", "score", "chart"],
        [
            [
                name,
                kinds.get(name, "?"),
                fidelity.column_metric.get(name, "?"),
                _fmt(score),
                f"[png]({charts[name]})" if name in charts else "",
            ]
            for name, score in fidelity.columns.items()
        ],
    )
    if fidelity.pairs:
        worst = sorted(fidelity.pairs.items(), key=lambda item: (item[1], item[0]))[:WORST_PAIRS]
        lines += ["", f"### Worst pairs ({len(worst)} of {len(fidelity.pairs)})", ""]
        lines += _table(
            ["pair", "metric", "score"],
            [[key.replace("|", " × "), fidelity.pair_metric[key], _fmt(score)] for key, score in worst],
        )
    lines += ["", "## Privacy", ""]
    lines += _table(
        ["measure", "synthetic", "holdout (unseen real)"],
        [
            ["rows", privacy.rows["synthetic"], privacy.rows["holdout"]],
            ["DCR p05", _fmt(privacy.dcr_synthetic["p05"]), _fmt(privacy.dcr_holdout["p05"])],
            ["DCR median", _fmt(privacy.dcr_synthetic["p50"]), _fmt(privacy.dcr_holdout["p50"])],
            ["DCR mean", _fmt(privacy.dcr_synthetic["mean"]), _fmt(privacy.dcr_holdout["mean"])],
            [
                "exact copies of training rows",
                _fmt(privacy.exact_copy_share, 4),
                _fmt(privacy.holdout_exact_copy_share, 4),
            ],
        ],
    )
    lines += [
        "",
        f"Training rows: {privacy.rows['train']}. DCR is the distance of a row to its closest training row.",
        "",
        f"- {copy_verdict(privacy)}",
        f"- {distance_verdict(privacy)}",
        "",
        "## Charts",
        "",
    ]
    for name, chart in charts.items():
        lines += [f"![{_cell(name)}]({chart})", ""]
    return "\n".join(lines)


def _continuous_chart(fig: Figure, name: str, real: pd.Series, synthetic: pd.Series) -> None:
    r = pd.to_numeric(real).to_numpy(dtype=np.float64, na_value=np.nan)
    s = pd.to_numeric(synthetic).to_numpy(dtype=np.float64, na_value=np.nan)
    r, s = r[np.isfinite(r)], s[np.isfinite(s)]
    ax = fig.subplots()
    if len(r) == 0:
        ax.text(0.5, 0.5, "no real values", ha="center", va="center", transform=ax.transAxes)
    else:
        edges = np.histogram_bin_edges(r, bins=HIST_BINS)
        ax.hist(r, bins=edges.tolist(), density=True, alpha=0.5, label="real", color="tab:blue")
        if len(s):
            outside = float(np.mean((s < edges[0]) | (s > edges[-1])))
            label = "synthetic" + (f" ({100 * outside:.1f}% outside)" if outside > 0 else "")
            ax.hist(s, bins=edges.tolist(), density=True, alpha=0.5, label=label, color="tab:orange")
        ax.legend()
    ax.set_title(name)
    ax.set_ylabel("density")


def _level_shares(values: pd.Series) -> pd.Series:
    labels = values.astype(object).where(values.notna(), _MISSING_LABEL).astype(str)
    return labels.value_counts(normalize=True)


def _categorical_chart(fig: Figure, name: str, real: pd.Series, synthetic: pd.Series) -> None:
    p, q = _level_shares(real), _level_shares(synthetic)
    levels = list(p.index[:TOP_LEVELS])
    ax = fig.subplots()
    x = np.arange(len(levels))
    width = 0.4
    ax.bar(x - width / 2, p.reindex(levels, fill_value=0.0).to_numpy(), width, label="real", color="tab:blue")
    ax.bar(x + width / 2, q.reindex(levels, fill_value=0.0).to_numpy(), width, label="synthetic", color="tab:orange")
    ax.set_xticks(x)
    ax.set_xticklabels([lv if len(lv) <= 20 else lv[:19] + "…" for lv in levels], rotation=45, ha="right")
    ax.set_title(f"{name} (top {len(levels)} of {len(p)} real levels)" if len(p) > TOP_LEVELS else name)
    ax.set_ylabel("share of rows")
    ax.legend()


def write_quality_report(
    directory: Path,
    *,
    fidelity: FidelityReport,
    privacy: PrivacyReport,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    continuous: Sequence[str],
    categorical: Sequence[str],
    meta: Mapping[str, Any],
) -> list[Path]:
    """Write ``quality.json``, ``quality.md`` and ``hist_<column>.png`` per scored column into ``directory``.

    The JSON holds ``{"meta": ..., "fidelity": fidelity.to_dict(), "privacy": privacy.to_dict()}`` with
    sorted keys, inf/NaN as null. The markdown shows the meta, the scores, a per-column table, the worst
    pairs, the privacy table with plain-language verdicts, and links the charts.

    Args:
        directory: Output folder (created if missing).
        fidelity: The fidelity report of ``synthetic`` against ``real``.
        privacy: The privacy report.
        real: The real rows (for the charts).
        synthetic: The synthetic rows (for the charts).
        continuous: Continuous columns (overlaid density histograms on the real data's bin edges).
        categorical: Categorical columns (side-by-side level shares, the real data's top 20 levels).
        meta: Small facts shown first (generator version, run id, rows, ...); JSON-serialisable values.

    Returns:
        The written paths: the JSON, the markdown, then the PNGs in column order.

    Raises:
        ValueError: A charted column is missing from ``real`` or ``synthetic``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kinds = {name: "continuous" for name in continuous} | {name: "categorical" for name in categorical}
    order = {name: i for i, name in enumerate(fidelity.columns)}
    names = sorted(kinds, key=lambda n: order.get(n, len(order)))  # the report's column order, extras last
    for frame, label in ((real, "real"), (synthetic, "synthetic")):
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise ValueError(f"columns missing from the {label} frame: {missing}")
    charts = {name: f"hist_{stem}.png" for name, stem in _safe_names(names).items()}

    json_path = directory / "quality.json"
    payload = {"meta": dict(meta), "fidelity": fidelity.to_dict(), "privacy": privacy.to_dict()}
    json_path.write_text(json.dumps(_plain(payload), sort_keys=True, indent=2, allow_nan=False) + "\n")

    md_path = directory / "quality.md"
    md_path.write_text(
        _markdown(fidelity=fidelity, privacy=privacy, kinds=kinds, charts=charts, meta=meta) + "\n", encoding="utf-8"
    )

    written = [json_path, md_path]
    for name in names:
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        FigureCanvasAgg(fig)
        if kinds[name] == "continuous":
            _continuous_chart(fig, name, real[name], synthetic[name])
        else:
            _categorical_chart(fig, name, real[name], synthetic[name])
        path = directory / charts[name]
        fig.savefig(path, dpi=100, format="png")
        fig.clear()
        written.append(path)
    return written
