"""Section ``source``: what ingest reads, the embedded demo shop or delimited files described by a csv mapping."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from recaug_spark.config.mapping import EventFiles, ItemFiles, ItemsFromEvents, UserFiles, check_field_refs
from recaug_spark.config.types import Frozen, Identifier


class CsvSource(Frozen):
    """A generic delimited-file source: any dataset, described in YAML, no code."""

    kind: Literal["csv"] = Field(..., description="Selects this source kind.")
    name: Identifier = Field(..., description="Source label, in every row's source column and in every event_id.")
    events: EventFiles = Field(..., description="The event records: files, layout and mapping.")
    items: ItemFiles | ItemsFromEvents | None = Field(
        None, description="The item catalogue: its own files, or described by fields of the events; null = no items."
    )
    users: UserFiles | None = Field(None, description="User profiles read from files; null = no profiles.")

    @model_validator(mode="after")
    def _items_from_known_fields(self) -> CsvSource:
        if isinstance(self.items, ItemsFromEvents):
            refs = [s for s in self.items.from_events.values() if isinstance(s, str)]
            check_field_refs(self.events.format, refs)
        return self


class DemoSource(Frozen):
    """The embedded synthetic shop, generated on executors (see sources/demo.py)."""

    kind: Literal["demo"] = Field(..., description="Selects this source kind.")
    name: Identifier = Field("demo", description="Source label, in every row's source column and in every event_id.")
    events: int = Field(100_000, ge=1_000, le=1_000_000_000, description="Number of clean events generated.")
    users: int | None = Field(None, ge=10, description="Number of users; null = events / 40.")
    items: int | None = Field(None, ge=10, description="Number of items; null = events / 40.")
    categories: int = Field(40, ge=2, le=10_000, description="Number of item categories.")
    start_date: date = Field(date(2026, 9, 1), description="First day of the generated period (UTC).")
    days: int = Field(60, ge=2, le=3650, description="Length of the generated period, in days.")
    cold_user_share: float = Field(
        0.1, ge=0, le=0.9, description="Share of users who sign up near the end of the period (cold-start)."
    )
    cold_item_share: float = Field(
        0.05, ge=0, le=0.9, description="Share of items launched near the end of the period (cold-start)."
    )
    bot_share: float = Field(0.002, ge=0, le=0.1, description="Share of bot-like users (bursts of events).")
    dirty_share: float = Field(
        0.01,
        ge=0,
        le=0.5,
        description="Share of dirty lines (empty user, negative price, unparsable timestamp, unknown event type, "
        "cut line, non-numeric quantity).",
    )
    duplicate_share: float = Field(0.005, ge=0, le=0.5, description="Share of lines logged twice.")
    chunk_events: int = Field(200_000, ge=1_000, description="Events generated per Spark task.")


def _source_tag(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return f"<{kind}>" if kind in ("csv", "demo") else None


SourceConfig = Annotated[
    Annotated[CsvSource, Tag("<csv>")] | Annotated[DemoSource, Tag("<demo>")],
    Discriminator(
        _source_tag,
        custom_error_type="source_kind",
        custom_error_message="source.kind must be 'demo' or 'csv'",
    ),
]
