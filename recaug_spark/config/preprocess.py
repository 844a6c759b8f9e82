"""Section ``preprocess``: the cleaning rules, imputation, normalization and implicit feedback of bronze -> silver."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from recaug_spark.config.constants import EventType
from recaug_spark.config.types import Frozen, NonNegativeFloat, UtcDatetime

CleanFlag = Literal["duplicate", "near_duplicate", "out_of_range", "bot_user", "extreme"]


class DuplicateRule(Frozen):
    """Exact duplicates (same user, item, type and ts) and near duplicates (within ``near_seconds``)."""

    enabled: bool = Field(True, description="Flag duplicate and near_duplicate events.")
    near_seconds: float = Field(
        5.0,
        ge=0,
        description="An event within this many seconds of the previous one with the same user, item and type is a "
        "near duplicate.",
    )


class TimeRangeRule(Frozen):
    """Events outside [valid_from, valid_until) are flagged ``out_of_range``."""

    enabled: bool = Field(True, description="Flag events outside [valid_from, valid_until) as out_of_range.")
    valid_from: UtcDatetime | None = Field(
        None, description="Earliest valid timestamp (ISO-8601; a naive value is UTC); null = no lower bound."
    )
    valid_until: UtcDatetime | None = Field(
        None, description="First timestamp no longer valid (ISO-8601; a naive value is UTC); null = no upper bound."
    )


class BotRule(Frozen):
    """Users whose activity is far above the typical user's are flagged ``bot_user``.

    Two measures per user over the training period: the busiest minute's event count and the total
    event count; a user is a bot when a measure exceeds expm1(median + k x MAD) of log1p(measure)
    across users with at least ``min_events`` events (k = ``rate_mad_k`` for the busiest minute,
    ``total_mad_k`` for the total) and ``min_ratio`` times the median (when most users share one value,
    e.g. a busiest minute of 1 event, the MAD is 0 and the median alone would be the limit), or the
    busiest minute exceeds ``max_events_per_minute`` if set.
    Heavy but human users are common (activity is heavy-tailed), so the total needs a wider margin.
    """

    enabled: bool = Field(True, description="Flag the events of bot-like users as bot_user.")
    rate_mad_k: float = Field(
        6.0, gt=0, description="MAD multiple k of the busiest minute's limit (on the log1p scale)."
    )
    total_mad_k: float = Field(10.0, gt=0, description="MAD multiple k of the total's limit (on the log1p scale).")
    min_events: int = Field(20, ge=1, description="Users with fewer training events are never flagged.")
    min_ratio: float = Field(
        10.0, ge=1, description="And never unless the measure exceeds this multiple of the median user's."
    )
    max_events_per_minute: int | None = Field(
        None, ge=1, description="An absolute cap: a busiest minute above it flags the user; null = no cap."
    )


class ExtremeRule(Frozen):
    """Extreme values capped (winsorized) or flagged ``extreme``, with fences fit per partition."""

    enabled: bool = Field(True, description="Cap or flag values beyond the fences.")
    columns: tuple[str, ...] = Field(("price", "quantity"), description="Numeric event columns checked.")
    partition_by: tuple[str, ...] = Field(
        ("category",), description="Fences are fit per value of these columns (an unseen value uses the overall ones)."
    )
    method: Literal["iqr", "quantile"] = Field(
        "iqr",
        description="iqr: [Q1 - k IQR, Q3 + k IQR] (the quantile fences where the IQR is 0); quantile: "
        "[lower_quantile, upper_quantile].",
    )
    iqr_k: float = Field(3.0, gt=0, description="Method iqr: fences at Q1 - k IQR and Q3 + k IQR.")
    lower_quantile: float = Field(0.001, ge=0, lt=0.5, description="Method quantile: the lower fence.")
    upper_quantile: float = Field(0.999, gt=0.5, le=1, description="Method quantile: the upper fence.")
    action: Literal["cap", "flag"] = Field(
        "cap", description="cap: winsorize to the fence and set capped_<column>; flag: set flag_extreme."
    )


class CleanConfig(Frozen):
    """The cleaning rules; every rule flags and counts, none drops a row from silver/events."""

    duplicates: DuplicateRule = Field(DuplicateRule(), description="The duplicate and near-duplicate rule.")
    time_range: TimeRangeRule = Field(TimeRangeRule(), description="The valid time range rule.")
    bots: BotRule = Field(BotRule(), description="The bot-user rule.")
    extremes: ExtremeRule = Field(ExtremeRule(), description="The extreme-value rule.")
    exclude: tuple[CleanFlag, ...] = Field(
        ("duplicate", "near_duplicate", "out_of_range", "bot_user"),
        description="Flags that make a row not clean: left out of statistics, features, split and training.",
    )


class ImputeSpec(Frozen):
    """Fill missing values of one column; statistics come from clean training rows.

    ``levels`` are tried in order (``[]`` is the global level), e.g. price by category, then global.
    """

    column: str = Field(..., description="The column filled (imputed_<column> marks every filled value).")
    strategy: Literal["mean", "median", "mode", "constant"] = Field(
        ..., description="mean or median (numeric), mode (most frequent, smallest on ties) or constant."
    )
    levels: tuple[tuple[str, ...], ...] = Field(
        ((),), description="Grouping keys tried in order; [] is the overall level (e.g. [[category], []])."
    )
    constant: str | float | None = Field(None, description="Strategy constant: the fill value.")
    where: str | None = Field(None, description="SQL condition limiting which rows are imputed; null = all.")

    @model_validator(mode="after")
    def _constant_needs_value(self) -> ImputeSpec:
        if self.strategy == "constant" and self.constant is None:
            raise ValueError("strategy 'constant' needs 'constant'")
        return self


class NormalizeSpec(Frozen):
    """One normalized column: ``output = (f(column) - center) / scale``.

    zscore: center mean, scale population std; minmax: min, max - min; robust: median, IQR;
    log1p_zscore: zscore of log1p(column). Statistics per ``partition_by`` key from clean training rows,
    or, with ``window_days``, over the clean training rows of the same key in the preceding
    ``window_days`` days (strictly earlier than the row).
    """

    column: str = Field(..., description="The numeric column normalized.")
    method: Literal["zscore", "minmax", "robust", "log1p_zscore"] = Field(
        ...,
        description="zscore: (x - mean) / population std; minmax: (x - min) / (max - min); robust: (x - median) "
        "/ IQR; log1p_zscore: zscore of log1p(x).",
    )
    partition_by: tuple[str, ...] = Field(
        (), description="Statistics per value of these columns (an unseen key uses the overall ones)."
    )
    window_days: int | None = Field(
        None,
        ge=1,
        description="Statistics over the same key's rows of the preceding N days, strictly before the row; "
        "null = the whole training period.",
    )
    output: str | None = Field(None, description="Output column; null = <column>_<method>[_by_<keys>][_<N>d].")

    @property
    def name(self) -> str:
        """The output column name (default: column_method[_by_keys][_Nd])."""
        if self.output:
            return self.output
        by = f"_by_{'_'.join(self.partition_by)}" if self.partition_by else ""
        window = f"_{self.window_days}d" if self.window_days else ""
        return f"{self.column}_{self.method}{by}{window}"


def _default_event_weights() -> dict[EventType, float]:
    return {"view": 1.0, "fav": 2.0, "cart": 3.0, "purchase": 5.0}


class FeedbackConfig(Frozen):
    """Implicit feedback strength per (user, item): sum of event weights, optionally time-decayed."""

    weights: dict[EventType, NonNegativeFloat] = Field(
        default_factory=_default_event_weights,
        description="Strength of one event of each type (>= 0).",
    )
    half_life_days: float | None = Field(
        None, gt=0, description="Each event decays by 0.5^(age / half_life_days); null = no decay."
    )


class PreprocessConfig(Frozen):
    """Stage preprocess: bronze -> silver."""

    clean: CleanConfig = Field(CleanConfig(), description="The cleaning rules.")
    impute: tuple[ImputeSpec, ...] = Field(
        (
            ImputeSpec(column="price", strategy="median", levels=(("category",), ())),
            ImputeSpec(column="category", strategy="constant", constant="unknown"),
        ),
        description="Imputations, in order. Unset, the defaults whose columns the source fills; set, each "
        "column must be one the source fills.",
    )
    normalize: tuple[NormalizeSpec, ...] = Field(
        (
            NormalizeSpec(column="price", method="zscore", partition_by=("category",)),
            NormalizeSpec(column="price", method="log1p_zscore", partition_by=("user_id",), window_days=7),
            NormalizeSpec(column="hour", method="minmax"),
        ),
        description="Normalized columns. Unset, the defaults whose columns the source fills; set, each column "
        "must be one the source fills.",
    )
    zero_spread: Literal["zero", "null"] = Field(
        "zero", description="Normalized value where a partition's spread is 0 or null: 0 or null."
    )
    feedback: FeedbackConfig = Field(FeedbackConfig(), description="Implicit feedback strength per (user, item).")
    top_categories: int = Field(3, ge=1, description="Most frequent categories listed per user in user_features.")
