"""The README stays true: every config key is documented, and the two commands are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from recaug_spark.config import (
    BotRule,
    CleanConfig,
    CsvSource,
    DelimitedFormat,
    DemoSource,
    DuplicateRule,
    EventFiles,
    ExtremeRule,
    FeedbackConfig,
    ImputeSpec,
    IngestConfig,
    ItemsFromEvents,
    LakeConfig,
    MaintainConfig,
    NormalizeSpec,
    PreprocessConfig,
    RefreshConfig,
    RuleSpec,
    RunConfig,
    SparkConfig,
    SplitConfig,
    TimeRangeRule,
    TimestampSpec,
)
from recaug_spark.pipeline import STAGES

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def keys(model: type[BaseModel], prefix: str) -> list[str]:
    """The dotted names of the model's leaf settings (nested sections are checked field by field)."""

    def is_section(annotation: object) -> bool:
        return isinstance(annotation, type) and issubclass(annotation, BaseModel)

    return [f"{prefix}{name}" for name, info in model.model_fields.items() if not is_section(info.annotation)]


def test_every_infrastructure_and_demo_key_is_documented_with_its_dotted_name() -> None:
    documented = set(re.findall(r"`([a-z_.]+)`", README))
    expected = [
        *keys(LakeConfig, "lake."),
        *keys(SparkConfig, "spark."),
        *keys(RunConfig, "run."),
        *keys(IngestConfig, "ingest."),
        *keys(DemoSource, "source."),
        *keys(RefreshConfig, "refresh."),
        *keys(MaintainConfig, "maintain."),
    ]
    missing = [k for k in expected if k not in documented]
    assert not missing, f"README lacks {missing}"


def test_every_preprocess_and_split_key_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_.]+)`", README))
    expected = [
        *keys(PreprocessConfig, "preprocess."),
        *keys(CleanConfig, "preprocess.clean."),
        *keys(DuplicateRule, "preprocess.clean.duplicates."),
        *keys(TimeRangeRule, "preprocess.clean.time_range."),
        *keys(BotRule, "preprocess.clean.bots."),
        *keys(ExtremeRule, "preprocess.clean.extremes."),
        *keys(FeedbackConfig, "preprocess.feedback."),
        *keys(SplitConfig, "split."),
    ]
    missing = [k for k in expected if k not in documented]
    assert not missing, f"README lacks {missing}"
    fields = [*ImputeSpec.model_fields, *NormalizeSpec.model_fields]
    assert not [f for f in fields if f"`{f}`" not in README], "an impute or normalize field is undocumented"


def test_every_csv_mapping_field_is_documented_by_name() -> None:
    names = {
        *CsvSource.model_fields,
        *EventFiles.model_fields,
        *DelimitedFormat.model_fields,
        *TimestampSpec.model_fields,
        *RuleSpec.model_fields,
        *ItemsFromEvents.model_fields,
    }
    missing = sorted(n for n in names if not any(f"`{p}{n}`" in README for p in ("", "source.", "source.events.")))
    assert not missing, f"README lacks {missing}"


def test_the_stage_table_matches_the_cli() -> None:
    for stage in STAGES:
        row = next(line for line in README.splitlines() if line.startswith(f"| `{stage.name}` |"))
        assert ("| built |" in row) == (stage.module is not None), row


def test_ci_runs_the_readme_test_command() -> None:
    assert "make demo" in README and "make test" in README
    ci = (REPO / ".ci/run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == ["make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: setup", makefile, re.M) and re.search(r"^test: setup", makefile, re.M)
