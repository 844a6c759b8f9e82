"""Section ``refresh``: which of the pipeline's stages a refresh runs, and its lock on the input."""

from __future__ import annotations

from pydantic import Field, model_validator

from recaug_spark.config.constants import REFRESH_ORDER, RefreshStage
from recaug_spark.config.types import Frozen


class RefreshConfig(Frozen):
    """Stage refresh: which of the pipeline's stages run (``recaug refresh --from STAGE`` / ``--only STAGE``)."""

    from_stage: RefreshStage | None = Field(
        None, description="`--from STAGE`: start at this stage (the ones before it are left alone); null = ingest."
    )
    only: RefreshStage | None = Field(None, description="`--only STAGE`: run this stage alone.")
    lock_timeout_seconds: float = Field(
        0, ge=0, description="Wait this long for a running refresh of the same input (0 = exit 75 at once)."
    )
    lock_lease_seconds: float = Field(
        600, gt=0, description="A refresh lock without a heartbeat for this long is stale (its holder died)."
    )

    @model_validator(mode="after")
    def _one_of(self) -> RefreshConfig:
        if self.from_stage is not None and self.only is not None:
            raise ValueError("give --from or --only, not both")
        return self

    def stages(self) -> tuple[str, ...]:
        """The stages this refresh runs, in pipeline order.

        Example:
            >>> RefreshConfig(from_stage="generate").stages()
            ('generate', 'policy', 'evaluate')
        """
        if self.only is not None:
            return (self.only,)
        start = REFRESH_ORDER.index(self.from_stage) if self.from_stage else 0
        return REFRESH_ORDER[start:]
