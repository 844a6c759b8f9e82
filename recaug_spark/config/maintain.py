"""Section ``maintain``: compacting small files (OPTIMIZE, optionally Z-ORDER) and deleting old ones (VACUUM)."""

from __future__ import annotations

from pydantic import Field, model_validator

from recaug_spark.config.constants import SAFE_RETENTION_HOURS
from recaug_spark.config.types import Frozen


class MaintainConfig(Frozen):
    """Stage maintain: compact small files (OPTIMIZE, optionally Z-ORDER) and delete old ones (VACUUM)."""

    tables: tuple[str, ...] | None = Field(
        None, description="Tables to maintain (e.g. silver/events); null = every lake table present."
    )
    optimize: bool = Field(True, description="Compact small files (OPTIMIZE).")
    zorder_by_user: bool = Field(False, description="Z-ORDER by user_id the tables that have it.")
    retention_hours: float = Field(
        168.0, ge=0, description="VACUUM keeps files younger than this many hours (168 = 7 days)."
    )
    allow_short_retention: bool = Field(
        False, description="Permit retention_hours < 168 (breaks time travel and readers older than it)."
    )
    listing_parallelism: int | None = Field(
        None, ge=1, description="Tasks VACUUM lists files with; null = 4 x the default parallelism."
    )

    @model_validator(mode="after")
    def _retention(self) -> MaintainConfig:
        if self.retention_hours < SAFE_RETENTION_HOURS and not self.allow_short_retention:
            raise ValueError(
                f"retention_hours {self.retention_hours:g} is shorter than {SAFE_RETENTION_HOURS:g} hours (7 days):"
                " files that running readers or time travel still need would be deleted; set"
                " maintain.allow_short_retention=true to allow it"
            )
        return self
