"""Section ``split``: how clean events are assigned to train and test, and which users are cold-start."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from recaug_spark.config.types import Frozen


class SplitConfig(Frozen):
    """Stage split: train/test assignment and cold-start labels."""

    mode: Literal["global", "leave_last"] = Field(
        "global", description="global: one time cutoff for everyone; leave_last: each user's last events are test."
    )
    cutoff_date: date | None = Field(
        None,
        description="Global mode: test starts at this UTC day (incremental runs need it fixed); null = "
        "cutoff_quantile.",
    )
    cutoff_quantile: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="Global mode without a date: test starts on the first day by which this share of the events lie.",
    )
    leave_last_n: int = Field(
        1, ge=1, description="Leave_last mode: a user's last N events are test (users with more than N events)."
    )
    cold_max: int = Field(5, ge=0, description="Users with at most this many training events are cold-start.")
