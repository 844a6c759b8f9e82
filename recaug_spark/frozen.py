"""The frozen base of every config model, and the angle field type, importable without the config package.

config/types.py re-exports both. They live outside it because the augment op parameter models are defined
with their specs in augment/ops.py, and the config's op union is built from that registry: config imports
augment/ops.py, so augment/ops.py cannot import config.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Angle = Annotated[float, Field(ge=-math.pi, le=math.pi, description="radians")]


class Frozen(BaseModel):
    """Base for every config model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)
