"""Section ``ingest``: the validation limits every source's lines are held to."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from recaug_spark.config.types import Frozen


class IngestConfig(Frozen):
    """Validation limits shared by every source."""

    reprocess_files: bool = Field(
        False,
        description="Re-read files ingested before (their rows still dedupe on event_id, so nothing is added twice).",
    )
    max_field_length: int = Field(
        4096, ge=16, description="A field longer than this many characters sends its line to quarantine."
    )
    max_raw_length: int = Field(
        65536, ge=256, description="Quarantined raw records are cut (and marked) at this many characters."
    )
    future_tolerance_hours: float = Field(
        24.0, ge=0, description="Timestamps later than now + this many hours are quarantined."
    )
    min_timestamp: date = Field(
        date(1990, 1, 1), description="Timestamps before this date (ISO-8601, UTC) are quarantined."
    )
