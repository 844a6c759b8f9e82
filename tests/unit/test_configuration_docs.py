"""docs/configuration.md is what the config models say: generated from their descriptions and defaults
(``make docs``), and every setting has a description to generate it from."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from recaug_spark import config
from recaug_spark.config.docs import config_models, render

REPO = Path(__file__).resolve().parents[2]
CONFIGURATION_MD = REPO / "docs" / "configuration.md"
ABSTRACT_BASES = {"Frozen", "AugmentOp", "TableMapping", "EventMapping", "ItemMapping", "UserMapping", "FileInput"}


def exported_models() -> set[type[BaseModel]]:
    """Every model class the config package exports, the abstract bases (AugmentOp, TableMapping...) too."""
    values = [getattr(config, name) for name in config.__all__]
    return {v for v in values if isinstance(v, type) and issubclass(v, BaseModel)}


def test_configuration_md_is_generated_from_the_models() -> None:
    current = CONFIGURATION_MD.read_text() if CONFIGURATION_MD.is_file() else ""
    assert current == render(), "docs/configuration.md is stale: run `make docs` and commit the result"


def test_every_field_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in sorted(set(config_models()) | exported_models(), key=lambda m: m.__name__)
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert not missing, f"fields without Field(description=...): {missing}"


def test_the_reference_reaches_every_model_and_every_form() -> None:
    unreached = {m.__name__ for m in exported_models() - set(config_models())}
    assert unreached <= ABSTRACT_BASES, f"models no config key reaches: {sorted(unreached - ABSTRACT_BASES)}"
    text = render()
    forms = ["`source` with `kind: demo`", "`source` with `kind: csv`", "`source.items` as `{from_events: ...}`"]
    forms += [f"`augment.ops[i]` with `op: {op}`" for op in config.OP_MODELS]
    forms += [f"`evaluate.sasrec.contrastive.ops[i]` with `op: {op}`" for op in config.VIEW_OPS]
    forms += ["`source.events.columns.<column>` as string", "`source.events.columns.<column>` as `{expr: ...}`"]
    assert not [f for f in forms if f"\n### {f}\n" not in text and f"\n#### {f}\n" not in text]
