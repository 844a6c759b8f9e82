"""The evaluation report's reading order (no Spark): the answer in words, the verdict matrices, the charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recaug_spark.report.evaluation import write_evaluation_report

SEGMENT_USERS = {"all": 900, "warm": 700, "cold": 200, "cold_items": 150}


def row(variant: str, model: str, segment: str, value: float, diff: tuple[float, float, float] | None = None):
    """One NDCG@10 record as evaluate writes it; ``diff`` = (difference, low, high) with real."""
    difference, low, high = diff if diff else (None, None, None)
    return {
        "run_id": "ev", "variant": variant, "model": model, "segment": segment, "metric": "ndcg", "k": 10,
        "value": value, "ci_low": value - 0.01, "ci_high": value + 0.01, "difference": difference,
        "diff_ci_low": low, "diff_ci_high": high, "lift": None, "p_value": None, "n_users": SEGMENT_USERS[segment],
    }  # fmt: skip


def meta(variants: list[str], between: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "run_id": "ev", "variants": variants, "skipped_variants": [], "models": ["als", "sasrec"], "ks": [10],
        "weights": {"augmented": 0.5, "synthetic": 0.5}, "runs_used": {}, "inputs": {}, "catalogue_items": 100,
        "exclude_seen": True, "test_users_without_relevant_items": 0, "max_users": None,
        "bootstrap": {"method": "poisson", "resamples": 200, "confidence": 0.95}, "model_differences": between,
    }  # fmt: skip


ZERO = (0.0, 0.0, 0.0)
RECORDS = [
    row("real", "sasrec", "all", 0.10), row("real", "als", "all", 0.06),
    row("real", "sasrec", "warm", 0.12), row("real", "als", "warm", 0.07),
    row("real", "sasrec", "cold", 0.03), row("real", "als", "cold", 0.02),
    row("real", "sasrec", "cold_items", 0.0), row("real", "als", "cold_items", 0.0),
    row("real+augmented", "sasrec", "all", 0.098, (-0.002, -0.006, 0.002)),
    row("real+augmented", "sasrec", "warm", 0.11, (-0.01, -0.015, -0.005)),
    row("real+augmented", "sasrec", "cold", 0.04, (0.01, 0.004, 0.016)),
    row("real+augmented", "sasrec", "cold_items", 0.0, ZERO),
    row("real+augmented", "als", "all", 0.061, (0.001, -0.003, 0.005)),
    row("real+augmented", "als", "warm", 0.071, (0.001, -0.003, 0.005)),
    row("real+augmented", "als", "cold", 0.021, (0.001, -0.003, 0.005)),
    row("real+augmented", "als", "cold_items", 0.0, ZERO),
]  # fmt: skip
# stored as the bootstrap pairs them: (als - sasrec), so the report must flip the sign for the best model
BETWEEN = [
    {"model": "als", "against": "sasrec", "variant": "real", "segment": "all", "metric": "ndcg", "k": 10,
     "difference": -0.04, "ci_low": -0.05, "ci_high": -0.03, "p_value": 0.0, "n_users": 900},
]  # fmt: skip


@pytest.fixture
def report(tmp_path: Path) -> tuple[str, Path]:
    write_evaluation_report(tmp_path, rows=RECORDS, meta=meta(["real", "real+augmented"], BETWEEN))
    return (tmp_path / "report.md").read_text(), tmp_path


def test_report_opens_with_the_answer_in_words(report: tuple[str, Path]) -> None:
    md, _ = report
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections[0] == "## The answer"
    answer = md.split("## The answer", 1)[1].split("## ", 1)[0]
    assert "**Best model: sasrec**, NDCG@10 0.1000 on all users" in answer
    assert "against als: ahead, +0.0400 [+0.0300, +0.0500]" in answer  # flipped from the stored als - sasrec
    assert "- sasrec: real+augmented helps cold; real+augmented hurts warm" in answer
    assert "- als: no variant makes a significant difference in any segment" in answer


def test_verdicts_are_one_matrix_per_measurable_segment(report: tuple[str, Path]) -> None:
    md, _ = report
    assert [line for line in md.splitlines() if line.startswith("### ")] == [
        "### all (900 users)",
        "### warm (700 users)",
        "### cold (200 users)",
    ]  # fmt: skip  (cold_items: 0 for every user of both sides, left out)
    warm = md.split("### warm", 1)[1].split("###", 1)[0]
    assert "| model | real | real+augmented |" in warm
    assert "| sasrec | 0.1200 | -0.0100 [-0.0150, -0.0050] **hurts** |" in warm
    assert "| als | 0.0700 | +0.0010 [-0.0030, +0.0050] - |" in warm


def test_paired_difference_chart_only_when_a_variant_is_compared(report: tuple[str, Path], tmp_path: Path) -> None:
    md, directory = report
    assert (directory / "paired_differences.png").stat().st_size > 0 and "![paired_differences]" in md
    alone = tmp_path / "alone"
    reals = [r for r in RECORDS if r["variant"] == "real"]
    write_evaluation_report(alone, rows=reals, meta=meta(["real"], BETWEEN))
    text = (alone / "report.md").read_text()
    assert not (alone / "paired_differences.png").exists() and "## Verdicts" not in text
    assert "**Best model: sasrec**" in text
    assert json.loads((alone / "metrics.json").read_text())["meta"]["model_differences"] == BETWEEN
