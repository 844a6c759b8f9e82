"""Typed, validated configuration: YAML layers merged in order, then ``--set`` overrides.

Order of precedence (later wins): ``conf/base.yaml``, ``conf/local.yaml``, each ``--conf`` file in
the order given, then ``--set dotted.key=value`` and ``--lake``. Mappings merge key by key; lists and
scalars replace. A mapping whose ``kind`` changes (e.g. ``source.kind: demo`` -> ``csv``) is replaced
as a whole, so the fields of one source kind never leak into another.

This is the only module that reads YAML or the environment. Every leaf remembers the file it came
from, so a validation error names the dotted key *and* its file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from recaug_spark.errors import ConfigError

EventType = Literal["view", "cart", "fav", "purchase"]
EVENT_TYPES: tuple[str, ...] = ("view", "cart", "fav", "purchase")

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def absolutize(path: str) -> str:
    """Make a local relative path absolute (against the working directory); leave URIs alone.

    Executors and spark-submit may run elsewhere, so every path leaves config.py absolute.

    Example:
        >>> absolutize("s3a://bucket/lake")
        's3a://bucket/lake'
        >>> absolutize("/data/x.csv")
        '/data/x.csv'
    """
    if _URI_SCHEME.match(path) or path.startswith("file:"):
        return path
    return os.path.abspath(os.path.expanduser(path))


PathStr = Annotated[str, AfterValidator(absolutize)]


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"'{value}' is not an identifier (letters, digits, underscore)")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
UnitInterval = Annotated[float, Field(ge=0, lt=1)]
Angle = Annotated[float, Field(ge=-math.pi, le=math.pi, description="radians")]


class Frozen(BaseModel):
    """Base for every config model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------------
# Infrastructure sections
# --------------------------------------------------------------------------------------------------


class LakeConfig(Frozen):
    """Where the lake lives. Tables are Delta directories under ``root`` (see lake.py)."""

    root: PathStr = "./lakehouse"
    max_attempts: int = Field(
        5, ge=1, description="tries of a stage that lost a Delta commit race to a concurrent writer"
    )
    retry_base_seconds: float = Field(1.0, ge=0, description="first backoff after a lost race (doubles, +-50% jitter)")


class SparkConfig(Frozen):
    """How session.py builds the SparkSession.

    Settings given by spark-submit (master, --conf, --jars, --packages) always win over these.
    """

    master: str | None = Field(None, description="local master when not under spark-submit; None = local[*]")
    app_name: str = "recaug-spark"
    driver_memory: str = Field("4g", description="driver heap in local mode (ignored under spark-submit)")
    shuffle_partitions: int = Field(8, ge=1)
    ui_enabled: bool = True
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"] = "WARN"
    arrow_batch_size: int = Field(10_000, ge=1, description="spark.sql.execution.arrow.maxRecordsPerBatch")
    persist_level: Literal["memory_and_disk_deser", "memory_and_disk", "disk_only"] = Field(
        "memory_and_disk_deser", description="storage level of the frames stages reuse (disk_only for a small heap)"
    )
    delta_version: str = Field(..., description="version of the io.delta:delta-spark jar")
    jars_dir: PathStr | None = Field(
        None, description="directory of jars to put on the classpath (offline clusters); None = the cache"
    )
    jars_cache: PathStr = "~/.cache/recaug-spark/jars"
    maven_repositories: tuple[str, ...] = ("https://repo1.maven.org/maven2/",)
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark conf, never overriding spark-submit")


class RunConfig(Frozen):
    """Settings shared by every stage of a run."""

    seed: int = Field(42, ge=0, le=2**63 - 1, description="the seed of every keyed draw and of model training")


class IngestConfig(Frozen):
    """Validation limits shared by every source."""

    reprocess_files: bool = Field(False, description="re-read files already ingested (rows still dedupe)")
    max_field_length: int = Field(4096, ge=16, description="a longer field sends its row to quarantine")
    max_raw_length: int = Field(65536, ge=256, description="quarantined raw records are cut (and marked) here")
    future_tolerance_hours: float = Field(24.0, ge=0, description="timestamps later than now + this are rejected")
    min_timestamp: date = Field(date(1990, 1, 1), description="timestamps before this date are rejected")


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------

RESERVED_PREFIX = "_rc_"  # bookkeeping columns of the record parser (sources/records.py)
EVENT_COLUMNS = ("user_id", "item_id", "event_type", "ts", "quantity", "price", "session_id")
ITEM_COLUMNS = ("item_id", "category", "brand", "department", "price")
USER_COLUMNS = ("user_id", "segment")


class DelimitedFormat(Frozen):
    """Layout of a delimited text file."""

    delimiter: str = Field(",", min_length=1)
    quote: str = Field('"', min_length=1, max_length=1)
    escape: str = Field("\\", min_length=1, max_length=1)
    header: bool = False
    columns: tuple[str, ...] | None = Field(
        None, description="field names in file order; required without a header, checked against it with one"
    )

    @model_validator(mode="after")
    def _columns_when_headerless(self) -> DelimitedFormat:
        if not self.header and not self.columns:
            raise ValueError("a file without header needs 'columns' (the field names in order)")
        if self.columns and len(set(self.columns)) != len(self.columns):
            raise ValueError("'columns' has duplicate names")
        if self.columns and any(c.startswith(RESERVED_PREFIX) for c in self.columns):
            raise ValueError(f"field names starting with '{RESERVED_PREFIX}' are reserved")
        return self


class ExprSpec(Frozen):
    """A Spark SQL expression over the raw fields (all strings: use try_cast / try_divide)."""

    expr: str = Field(..., min_length=1)


class ConstSpec(Frozen):
    """A constant value for every row."""

    const: str | int | float | bool


def _column_spec_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "<field>"
    if isinstance(value, dict | ExprSpec | ConstSpec):
        keys = set(value) if isinstance(value, dict) else {"expr" if isinstance(value, ExprSpec) else "const"}
        if keys == {"expr"}:
            return "<expr>"
        if keys == {"const"}:
            return "<const>"
    return None


# A column comes from a raw field (its name), a SQL expression ({expr: ...}) or a constant ({const: ...}).
# Tags are written <like-this> so error locations can drop them (see _dotted_location).
ColumnSpec = Annotated[
    Annotated[str, Tag("<field>")] | Annotated[ExprSpec, Tag("<expr>")] | Annotated[ConstSpec, Tag("<const>")],
    Discriminator(
        _column_spec_tag,
        custom_error_type="column_spec",
        custom_error_message="expected a field name, {expr: <SQL>} or {const: <value>}",
    ),
]


class TimestampSpec(Frozen):
    """How the ``ts`` field is encoded: epoch ``unit`` or a datetime ``format``; neither = ISO-8601."""

    unit: Literal["s", "ms", "us"] | None = None
    format: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> TimestampSpec:
        if self.unit and self.format:
            raise ValueError("give either 'unit' or 'format', not both")
        return self


class RuleSpec(Frozen):
    """A source-specific row rule: rows where ``when`` is true are quarantined or flagged.

    ``when`` is a Spark SQL boolean over the canonical columns (after parsing).
    """

    name: Identifier
    when: str = Field(..., min_length=1)
    action: Literal["quarantine", "flag"]


def _check_mapping_keys(columns: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str]) -> None:
    unknown = sorted(set(columns) - set(allowed))
    if unknown:
        raise ValueError(f"unknown canonical column(s) {unknown}; expected some of {list(allowed)}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"missing mapping for required column(s) {missing}")


def _check_field_refs(fmt: DelimitedFormat | None, refs: Sequence[str]) -> None:
    if fmt is None or fmt.columns is None:
        return  # field names come from the header; checked when the file is read
    unknown = sorted(set(refs) - set(fmt.columns))
    if unknown:
        raise ValueError(f"field(s) {unknown} are not in format.columns {list(fmt.columns)}")


class TableMapping(Frozen):
    """How the fields of one record map to a canonical table (events, items or users).

    ``format`` describes the text layout of records read from files; it is None for records derived
    from other rows (items described by event rows).
    """

    format: DelimitedFormat | None = None
    columns: dict[str, ColumnSpec]
    attrs: tuple[str, ...] = Field((), description="raw fields kept, as strings, in the attrs map")
    rules: tuple[RuleSpec, ...] = ()

    def field_refs(self) -> list[str]:
        """Raw field names referenced directly (by name) in the mapping and attrs."""
        return [s for s in self.columns.values() if isinstance(s, str)] + list(self.attrs)


class EventMapping(TableMapping):
    """Event records; ``event_types`` maps raw values to canonical types (absent = canonical names)."""

    timestamp: TimestampSpec = TimestampSpec()
    event_types: dict[str, EventType] | None = None
    key_columns: tuple[str, ...] | None = Field(
        None, description="canonical columns that identify an event; default: all mapped columns + attrs"
    )

    @model_validator(mode="after")
    def _check(self) -> EventMapping:
        _check_mapping_keys(self.columns, EVENT_COLUMNS, ("user_id", "item_id", "event_type", "ts"))
        _check_field_refs(self.format, self.field_refs())
        if self.key_columns is not None:
            bad = sorted(set(self.key_columns) - set(EVENT_COLUMNS) - {"attrs"})
            if bad:
                raise ValueError(f"key_columns {bad} are not canonical event columns")
        return self


class ItemMapping(TableMapping):
    """Item catalogue records."""

    @model_validator(mode="after")
    def _check(self) -> ItemMapping:
        _check_mapping_keys(self.columns, ITEM_COLUMNS, ("item_id",))
        _check_field_refs(self.format, self.field_refs())
        return self


class UserMapping(TableMapping):
    """User profile records; every field in ``attrs`` becomes a profile attribute."""

    @model_validator(mode="after")
    def _check(self) -> UserMapping:
        _check_mapping_keys(self.columns, USER_COLUMNS, ("user_id",))
        _check_field_refs(self.format, self.field_refs())
        return self


class FileInput(Frozen):
    """Where a table's records are read from, and their layout."""

    path: tuple[PathStr, ...] = Field(..., min_length=1, description="files, directories or globs")
    format: DelimitedFormat

    @model_validator(mode="before")
    @classmethod
    def _path_as_tuple(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("path"), str):
            return {**data, "path": (data["path"],)}
        return data


class EventFiles(FileInput, EventMapping):
    """Event records read from delimited files."""


class ItemFiles(FileInput, ItemMapping):
    """Item records read from delimited files."""


class UserFiles(FileInput, UserMapping):
    """User records read from delimited files."""


class ItemsFromEvents(Frozen):
    """Items described by fields of the event records (e.g. Taobao's category_id)."""

    from_events: dict[str, ColumnSpec]

    @model_validator(mode="after")
    def _check(self) -> ItemsFromEvents:
        _check_mapping_keys(self.from_events, tuple(c for c in ITEM_COLUMNS if c != "item_id"), ())
        return self


class CsvSource(Frozen):
    """A generic delimited-file source: any dataset, described in YAML, no code."""

    kind: Literal["csv"]
    name: Identifier
    events: EventFiles
    items: ItemFiles | ItemsFromEvents | None = None
    users: UserFiles | None = None

    @model_validator(mode="after")
    def _items_from_known_fields(self) -> CsvSource:
        if isinstance(self.items, ItemsFromEvents):
            refs = [s for s in self.items.from_events.values() if isinstance(s, str)]
            _check_field_refs(self.events.format, refs)
        return self


class DemoSource(Frozen):
    """The embedded synthetic shop, generated on executors (see sources/demo.py)."""

    kind: Literal["demo"]
    name: Identifier = "demo"
    events: int = Field(100_000, ge=1_000, le=1_000_000_000)
    users: int | None = Field(None, ge=10, description="default: events / 40")
    items: int | None = Field(None, ge=10, description="default: events / 40")
    categories: int = Field(40, ge=2, le=10_000)
    start_date: date = date(2026, 9, 1)
    days: int = Field(60, ge=2, le=3650)
    cold_user_share: float = Field(0.1, ge=0, le=0.9)
    cold_item_share: float = Field(0.05, ge=0, le=0.9)
    bot_share: float = Field(0.002, ge=0, le=0.1)
    dirty_share: float = Field(0.01, ge=0, le=0.5)
    duplicate_share: float = Field(0.005, ge=0, le=0.5)
    chunk_events: int = Field(200_000, ge=1_000, description="events generated per task")


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


# --------------------------------------------------------------------------------------------------
# Preprocess and split
# --------------------------------------------------------------------------------------------------

CleanFlag = Literal["duplicate", "near_duplicate", "out_of_range", "bot_user", "extreme"]


class DuplicateRule(Frozen):
    """Exact duplicates (same user, item, type and ts) and near duplicates (within ``near_seconds``)."""

    enabled: bool = True
    near_seconds: float = Field(5.0, ge=0, description="same user, item and type within this many seconds")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class TimeRangeRule(Frozen):
    """Events outside [valid_from, valid_until) are flagged ``out_of_range``."""

    enabled: bool = True
    valid_from: UtcDatetime | None = Field(None, description="ISO-8601; a naive value is UTC")
    valid_until: UtcDatetime | None = None


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

    enabled: bool = True
    rate_mad_k: float = Field(6.0, gt=0)
    total_mad_k: float = Field(10.0, gt=0)
    min_events: int = Field(20, ge=1, description="users with fewer training events are never flagged")
    min_ratio: float = Field(
        10.0, ge=1, description="and never unless the measure exceeds this multiple of the median user's"
    )
    max_events_per_minute: int | None = Field(None, ge=1)


class ExtremeRule(Frozen):
    """Extreme values capped (winsorized) or flagged ``extreme``, with fences fit per partition."""

    enabled: bool = True
    columns: tuple[str, ...] = ("price", "quantity")
    partition_by: tuple[str, ...] = ("category",)
    method: Literal["iqr", "quantile"] = "iqr"
    iqr_k: float = Field(3.0, gt=0, description="fences at Q1 - k IQR and Q3 + k IQR")
    lower_quantile: float = Field(0.001, ge=0, lt=0.5)
    upper_quantile: float = Field(0.999, gt=0.5, le=1)
    action: Literal["cap", "flag"] = "cap"


class CleanConfig(Frozen):
    """The cleaning rules; every rule flags and counts, none drops a row from silver/events."""

    duplicates: DuplicateRule = DuplicateRule()
    time_range: TimeRangeRule = TimeRangeRule()
    bots: BotRule = BotRule()
    extremes: ExtremeRule = ExtremeRule()
    exclude: tuple[CleanFlag, ...] = Field(
        ("duplicate", "near_duplicate", "out_of_range", "bot_user"),
        description="flags that make a row not clean: left out of statistics, features, split and training",
    )


class ImputeSpec(Frozen):
    """Fill missing values of one column; statistics come from clean training rows.

    ``levels`` are tried in order (``[]`` is the global level), e.g. price by category, then global.
    """

    column: str
    strategy: Literal["mean", "median", "mode", "constant"]
    levels: tuple[tuple[str, ...], ...] = ((),)
    constant: str | float | None = None
    where: str | None = Field(None, description="SQL condition limiting which rows are imputed")

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

    column: str
    method: Literal["zscore", "minmax", "robust", "log1p_zscore"]
    partition_by: tuple[str, ...] = ()
    window_days: int | None = Field(None, ge=1)
    output: str | None = None

    @property
    def name(self) -> str:
        """The output column name (default: column_method[_by_keys][_Nd])."""
        if self.output:
            return self.output
        by = f"_by_{'_'.join(self.partition_by)}" if self.partition_by else ""
        window = f"_{self.window_days}d" if self.window_days else ""
        return f"{self.column}_{self.method}{by}{window}"


class FeedbackConfig(Frozen):
    """Implicit feedback strength per (user, item): sum of event weights, optionally time-decayed."""

    weights: dict[EventType, NonNegativeFloat] = Field(
        default_factory=lambda: {"view": 1.0, "fav": 2.0, "cart": 3.0, "purchase": 5.0},
        description="strength of one event of each type (>= 0)",
    )
    half_life_days: float | None = Field(None, gt=0, description="None = no decay")


class PreprocessConfig(Frozen):
    """Stage preprocess: bronze -> silver."""

    clean: CleanConfig = CleanConfig()
    impute: tuple[ImputeSpec, ...] = (
        ImputeSpec(column="price", strategy="median", levels=(("category",), ())),
        ImputeSpec(column="category", strategy="constant", constant="unknown"),
    )
    normalize: tuple[NormalizeSpec, ...] = (
        NormalizeSpec(column="price", method="zscore", partition_by=("category",)),
        NormalizeSpec(column="price", method="log1p_zscore", partition_by=("user_id",), window_days=7),
        NormalizeSpec(column="hour", method="minmax"),
    )
    zero_spread: Literal["zero", "null"] = Field("zero", description="value when a partition's spread is 0 or null")
    feedback: FeedbackConfig = FeedbackConfig()
    top_categories: int = Field(3, ge=1, description="categories listed per user in user_features")


class SplitConfig(Frozen):
    """Stage split: train/test assignment and cold-start labels."""

    mode: Literal["global", "leave_last"] = "global"
    cutoff_date: date | None = Field(None, description="global mode: test starts at this UTC day")
    cutoff_quantile: float = Field(
        0.8, gt=0, lt=1, description="global mode without a date: the first day by which this share of events lie"
    )
    leave_last_n: int = Field(1, ge=1, description="leave_last mode: a user's last N events are test")
    cold_max: int = Field(5, ge=0, description="users with at most this many training events are cold-start")


# --------------------------------------------------------------------------------------------------
# Augment
# --------------------------------------------------------------------------------------------------


class AugmentOp(Frozen):
    """One augmentation recipe: ``copies`` copies per source row (or sequence), each transformed with
    probability ``p`` (a copy the draw skips is not written)."""

    p: float = Field(1.0, ge=0, le=1, description="probability that a copy is transformed (and kept)")
    copies: int = Field(1, ge=1, le=100)


class GaussianNoiseOp(AugmentOp):
    """x + sigma z; with ``relative``, sigma is a multiple of the column's training std."""

    op: Literal["gaussian_noise"]
    column: str
    sigma: float = Field(gt=0)
    relative: bool = True


class SaltAndPepperOp(AugmentOp):
    """A share of values set to the column's training ``salt_quantile`` or ``pepper_quantile``."""

    op: Literal["salt_and_pepper"]
    column: str
    share: float = Field(gt=0, le=1)
    salt_quantile: float = Field(0.99, ge=0, le=1)
    pepper_quantile: float = Field(0.01, ge=0, le=1)


class RandomScalingOp(AugmentOp):
    """x times a factor from [low, high)."""

    op: Literal["random_scaling"]
    column: str
    low: float = Field(0.9, gt=0)
    high: float = Field(1.1, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RandomScalingOp:
        if self.high <= self.low:
            raise ValueError("'high' must be greater than 'low'")
        return self


class RotationOp(AugmentOp):
    """Rotate the pair ``columns`` by ``theta`` radians, or by an angle from [low, high)."""

    op: Literal["rotation"]
    columns: tuple[str, str]
    theta: Angle | None = None
    low: Angle = -0.1
    high: Angle = 0.1


class JitterOp(AugmentOp):
    """x + uniform noise within +-r."""

    op: Literal["jitter"]
    column: str
    r: float = Field(gt=0)


class FeatureMaskOp(AugmentOp):
    """A share of values dropped: set to ``fill`` (null when absent)."""

    op: Literal["feature_mask"]
    column: str
    share: float = Field(gt=0, le=1)
    fill: float | None = None


class CropOp(AugmentOp):
    """Keep a contiguous span of ``eta`` of a user's training sequence."""

    op: Literal["crop"]
    eta: float = Field(0.8, gt=0, le=1)


class MaskOp(AugmentOp):
    """Mask ``gamma`` of a sequence's events: item -> ``token``, or the event removed (no token)."""

    op: Literal["mask"]
    gamma: float = Field(0.2, ge=0, le=1)
    token: str | None = None


class ReorderOp(AugmentOp):
    """Shuffle a contiguous span of ``beta`` of a sequence."""

    op: Literal["reorder"]
    beta: float = Field(0.2, gt=0, le=1)


class SubstituteOp(AugmentOp):
    """Replace ``ratio`` of a sequence's items by co-occurring (similar) items."""

    op: Literal["substitute"]
    ratio: float = Field(0.2, gt=0, le=1)


class InsertOp(AugmentOp):
    """Insert similar items next to ``ratio`` of a sequence's items."""

    op: Literal["insert"]
    ratio: float = Field(0.2, gt=0, le=1)


class SlideWindowOp(AugmentOp):
    """DA4Rec's sliding window: copy c is the window of ``length`` events ending ``c * stride`` events
    before the end of the sequence (copy 0 = the most recent events); a copy without a full window
    writes nothing."""

    op: Literal["slide_window"]
    length: int = Field(20, ge=1, description="events per window")
    stride: int = Field(1, ge=1, description="events between the ends of consecutive copies' windows")


class SubsetSplitOp(AugmentOp):
    """DA4Rec's subset split: each event kept with probability 1 - ``dropout``, in order (at least one)."""

    op: Literal["subset_split"]
    dropout: float = Field(0.25, gt=0, lt=1, description="probability that an event is dropped")


class TimeShiftOp(AugmentOp):
    """Move each session, as a block, within its day or week."""

    op: Literal["time_shift"]
    within: Literal["day", "week"] = "day"


class CategoricalJitterOp(AugmentOp):
    """Replace a share of an attribute's values (e.g. device, region) by observed ones."""

    op: Literal["categorical_jitter"]
    attr: str
    share: float = Field(0.1, gt=0, le=1)


_OP_CLASSES: tuple[type[AugmentOp], ...] = (
    GaussianNoiseOp, SaltAndPepperOp, RandomScalingOp, RotationOp, JitterOp, FeatureMaskOp, CropOp, MaskOp,
    ReorderOp, SubstituteOp, InsertOp, SlideWindowOp, SubsetSplitOp, TimeShiftOp, CategoricalJitterOp,
)  # fmt: skip
OP_MODELS: dict[str, type[AugmentOp]] = {
    model.model_fields["op"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in _OP_CLASSES
}


def _op_tag(value: Any) -> str | None:
    name = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    return f"<{name}>" if name in OP_MODELS else None


# One union member per op model, tagged by its name (built from OP_MODELS, so a new op is one line).
OpSpec = Annotated[
    Union[tuple(Annotated[model, Tag(f"<{name}>")] for name, model in OP_MODELS.items())],  # type: ignore[valid-type]  # noqa: UP007
    Discriminator(
        _op_tag,
        custom_error_type="augment_op",
        custom_error_message=f"unknown op; known ops: {', '.join(sorted(OP_MODELS))}",
    ),
]


class AugmentConfig(Frozen):
    """Stage augment: an ordered list of ops over the training rows and sequences."""

    ops: tuple[OpSpec, ...] = (
        GaussianNoiseOp(op="gaussian_noise", column="price", sigma=0.05),
        CropOp(op="crop", eta=0.8, p=0.5),
        SubstituteOp(op="substitute", ratio=0.2),
    )
    max_history: int = Field(200, ge=1, description="a user's most recent training events kept for sequence ops")
    short_max: int = Field(3, ge=0, description="sequences this short get only insert and substitute")
    similar_top_k: int = Field(10, ge=1, description="similar items kept per item (co-occurrence in sessions)")
    session_gap_minutes: float = Field(
        30.0, gt=0, description="events without session_id: a longer gap starts a new session"
    )
    keep_runs: int = Field(3, ge=1, description="augment runs kept in gold/augmented_events (older ones deleted)")


# --------------------------------------------------------------------------------------------------
# GAN: train-gan and generate
# --------------------------------------------------------------------------------------------------


class MixtureConfig(Frozen):
    """Mode-specific normalization of continuous columns: a Gaussian mixture per column (EM)."""

    max_modes: int = Field(10, ge=1, le=50)
    weight_threshold: float = Field(0.005, ge=0, lt=1, description="modes lighter than this are dropped")
    sample_rows: int = Field(20_000, ge=100, description="the mixture is fitted on at most this many values")
    iterations: int = Field(100, ge=1)


class GanModelConfig(Frozen):
    """Network sizes (CTGAN's defaults): residual blocks in the generator, a packed critic."""

    embedding_dim: int = Field(128, ge=1, description="size of the noise vector z")
    generator_dims: tuple[PositiveInt, ...] = Field((256, 256), min_length=1)
    critic_dims: tuple[PositiveInt, ...] = Field((256, 256), min_length=1)
    pac: int = Field(10, ge=1, description="PacGAN: rows the critic judges together")
    dropout: float = Field(0.5, ge=0, lt=1, description="critic dropout")


class DistributedConfig(Frozen):
    """Data-parallel training through pyspark's TorchDistributor (0 processes = in the driver)."""

    processes: int = Field(0, ge=0, le=64)
    local_mode: bool = Field(True, description="processes on the driver (True) or on the executors (False)")


class GanTrainConfig(Frozen):
    """WGAN-GP training: min_G max_D E[D(x)] - E[D(G(z))] - lambda * gradient penalty."""

    batch_size: int = Field(500, ge=2)
    critic_steps: int = Field(1, ge=1, description="critic updates per generator update")
    generator_lr: float = Field(2e-4, gt=0)
    critic_lr: float = Field(2e-4, gt=0)
    betas: tuple[UnitInterval, UnitInterval] = Field((0.5, 0.9), description="Adam's beta1, beta2 (in [0, 1))")
    weight_decay: float = Field(1e-6, ge=0)
    gp_lambda: float = Field(10.0, ge=0)
    probe_rows: int = Field(2_000, ge=100, description="rows sampled each epoch for the fidelity probe")
    probe_every: int = Field(1, ge=1, description="epochs between fidelity probes")
    patience: int = Field(5, ge=1, description="stop after this many probes without a better fidelity")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when available")
    threads: int | None = Field(None, ge=1, description="torch threads on the driver (None = torch's default)")
    distributed: DistributedConfig = DistributedConfig()


class GanConfig(Frozen):
    """Stage train-gan: the training table, its transformer, the networks and the training loop.

    The table is the training-period events joined with the user profile (bronze/users): any column of
    silver/events, ``segment``, ``profile.<field>`` (a user attribute) or ``attrs.<field>`` (an event
    attribute). ``event_type`` is required (every synthetic event needs a type).
    """

    continuous: tuple[str, ...] | None = Field(
        None,
        description="None = price, quantity, hour: those the source fills and whose training values vary",
    )
    categorical: tuple[str, ...] | None = Field(
        None,
        description="None = event_type, category, dow, segment: those the source fills (event_type always) "
        "and whose training values vary",
    )
    epochs: int = Field(30, ge=1, description="the epoch budget (early stopping may end sooner)")
    top_k: int = Field(30, ge=1, le=10_000, description="levels kept per categorical column (+ <other>)")
    max_rows: int = Field(50_000, ge=100, description="training rows sampled (hash of event_id, deterministic)")
    holdout_rows: int = Field(5_000, ge=10, description="held-out real rows for the probe and the privacy check")
    mixture: MixtureConfig = MixtureConfig()
    model: GanModelConfig = GanModelConfig()
    train: GanTrainConfig = GanTrainConfig()
    retrain: bool = Field(False, description="train even when a generator for the same inputs and config exists")

    @model_validator(mode="after")
    def _columns(self) -> GanConfig:
        both = sorted(set(self.continuous or ()) & set(self.categorical or ()))
        if both:
            raise ValueError(f"column(s) {both} are both continuous and categorical")
        if self.categorical is not None and "event_type" not in self.categorical:
            raise ValueError("'event_type' must be one of the categorical columns (synthetic events need a type)")
        if self.train.batch_size % self.model.pac:
            raise ValueError(f"train.batch_size ({self.train.batch_size}) must be a multiple of model.pac")
        return self


class ConditionConfig(Frozen):
    """What the generator is conditioned on.

    ``sampled``: a categorical column and level per row, drawn from the training frequencies;
    ``fixed``: one column set to one level (``column``, ``level``) for every row;
    ``cold_users``: every row belongs to a cold-start user (silver/split) and is conditioned on that
    user's ``column`` (a user column of the GAN table, e.g. segment).
    """

    mode: Literal["sampled", "fixed", "cold_users"] = "sampled"
    column: str | None = None
    level: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> ConditionConfig:
        if self.mode == "fixed" and (self.column is None or self.level is None):
            raise ValueError("mode 'fixed' needs 'column' and 'level'")
        if self.mode == "cold_users" and self.column is None:
            raise ValueError("mode 'cold_users' needs 'column' (a user column such as segment)")
        return self


class GenerateConfig(Frozen):
    """Stage generate: synthetic events from the trained generator, on the executors."""

    rows: int = Field(100_000, ge=1, le=10_000_000_000)
    batch_rows: int = Field(10_000, ge=1, le=1_000_000, description="rows per generator call (one per batch id)")
    partitions: int | None = Field(None, ge=1, description="None = the session's default parallelism")
    version: str | None = Field(None, description="generator version (None = the newest for this config)")
    condition: ConditionConfig = ConditionConfig()
    users: Literal["existing", "new"] = Field(
        "existing", description="existing ids drawn under the row's user columns, or new ids 'syn:...'"
    )
    rows_per_new_user: int = Field(20, ge=1)
    candidates_per_level: int = Field(1_000, ge=1, description="most frequent items/users kept per level")
    max_condition_users: int = Field(100_000, ge=1, description="cold-start users broadcast (hash-ordered)")
    constraints: tuple[str, ...] = Field(
        ("price IS NULL OR price > 0", "quantity IS NULL OR quantity > 0"),
        description="SQL conditions a synthetic row must meet (the rest are rejected and counted)",
    )
    quality_rows: int = Field(10_000, ge=100, description="rows of each side compared by the quality report")
    keep_runs: int = Field(3, ge=1)


# --------------------------------------------------------------------------------------------------
# Evaluate
# --------------------------------------------------------------------------------------------------

Variant = Literal["real", "real+augmented", "real+synthetic", "real+both", "real+contrastive"]
ModelName = Literal["popularity", "itemknn", "als", "sasrec"]


class AlsConfig(Frozen):
    """Spark ML ALS with implicit feedback (the feedback strength is the rating)."""

    rank: int = Field(32, ge=1)
    reg_param: float = Field(0.05, ge=0)
    alpha: float = Field(10.0, ge=0, description="confidence = 1 + alpha x strength")
    max_iter: int = Field(10, ge=1)
    blocks: int = Field(4, ge=1, description="user and item blocks (fixed, so results do not follow the cluster)")


VIEW_OPS = ("crop", "mask", "reorder", "substitute", "insert")


def _view_tag(value: Any) -> str | None:
    tag = _op_tag(value)
    return tag if tag and tag[1:-1] in VIEW_OPS else None


# Tagged like OpSpec ("<crop>"), so that an error's location drops the tag and names the key.
ViewOp = Annotated[
    Union[tuple(Annotated[OP_MODELS[name], Tag(f"<{name}>")] for name in VIEW_OPS)],  # type: ignore[valid-type]  # noqa: UP007
    Discriminator(
        _view_tag,
        custom_error_type="view_op",
        custom_error_message=f"unknown view op; known: {', '.join(VIEW_OPS)}",
    ),
]


class ContrastiveConfig(Frozen):
    """CL4SRec's contrastive task (Xie et al., ICDE 2022), for the variant ``real+contrastive``: two views of
    each training sequence, each made by one op drawn uniformly from ``ops`` (the augment kernels, on
    the fly per batch), and an InfoNCE loss over the batch pulling a sequence's two views together;
    the loss is next-item cross-entropy + ``lambda`` x InfoNCE. Defaults: CL4SRec's (crop 0.6, mask
    0.3, reorder 0.6; RecBole's lambda 0.1, tau 1, dot-product similarity)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, populate_by_name=True)

    weight: float = Field(0.1, alias="lambda", ge=0, description="lambda: weight of the InfoNCE loss")
    tau: float = Field(1.0, gt=0, description="temperature of the InfoNCE softmax")
    similar_top_k: int = Field(10, ge=1, description="substitute / insert: similar items per item (co-occurrence)")
    ops: tuple[ViewOp, ...] = Field(
        (CropOp(op="crop", eta=0.6), MaskOp(op="mask", gamma=0.3, token="[mask]"), ReorderOp(op="reorder", beta=0.6)),
        min_length=1,
        description="the ops a view is made with (crop, mask, reorder, substitute, insert; a mask token is "
        "a learned embedding)",
    )


class SasrecConfig(Frozen):
    """SASRec (Kang and McAuley, 2018): causal self-attention over a user's recent items, trained to
    predict the next item at every position. Defaults follow RecBole's SASRec (2 layers, 2 heads, hidden
    64, inner 256, max_len 50, Adam lr 1e-3) with full-softmax cross-entropy, the strong baseline."""

    max_len: int = Field(50, ge=2, le=1_000, description="a user's most recent items the model reads")
    hidden: int = Field(64, ge=2, description="embedding and hidden size (a multiple of heads)")
    inner: int = Field(256, ge=1, description="feed-forward size of each block")
    layers: int = Field(2, ge=1, le=12, description="self-attention blocks")
    heads: int = Field(2, ge=1, le=16, description="attention heads per block")
    dropout: float = Field(0.3, ge=0, lt=1, description="dropout of embeddings, attention and feed-forward")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(256, ge=1, description="training sequences per step")
    epochs: int = Field(50, ge=1, description="the epoch budget (early stopping may end sooner)")
    patience: int = Field(5, ge=1, description="stop after this many epochs without a better validation NDCG@10")
    validation_users: int = Field(
        5_000, ge=1, description="users (hash sample) whose last training item is the validation target"
    )
    full_softmax_max_items: int = Field(
        10_000, ge=1, description="catalogues up to this size train with full-softmax cross-entropy"
    )
    negatives: int = Field(
        1_000, ge=1, description="larger catalogues: uniform negatives per step for sampled softmax (logQ-corrected)"
    )
    collapse_repeats: bool = Field(
        True, description="drop an event whose item repeats the previous one (a view then a cart of one item)"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when available")
    threads: int | None = Field(None, ge=1, description="torch threads on the driver (None = all cores)")
    score_batch: int = Field(512, ge=1, description="users scored per forward pass on an executor")
    contrastive: ContrastiveConfig = ContrastiveConfig()
    distributed: DistributedConfig = DistributedConfig()

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> SasrecConfig:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        return self


class ItemKnnConfig(Frozen):
    """Item-kNN: cosine similarity of items over the users who interacted with both."""

    neighbours: int = Field(50, ge=1, description="most similar items kept per item")
    max_history: int = Field(100, ge=1, description="a user's strongest items used for similarities")


class EvaluateConfig(Frozen):
    """Stage evaluate: recommenders trained per variant, ranked over the full catalogue, compared to ``real``."""

    variants: tuple[Variant, ...] = ("real", "real+augmented", "real+synthetic", "real+both", "real+contrastive")
    models: tuple[ModelName, ...] = ("popularity", "itemknn", "als", "sasrec")
    ks: tuple[PositiveInt, ...] = Field((5, 10, 20), min_length=1, description="cut-offs K of every metric (>= 1)")
    exclude_seen: bool = Field(True, description="items a user had in training are neither recommended nor relevant")
    augmented_weight: float = Field(0.5, ge=0, description="strength factor of augmented rows")
    synthetic_weight: float = Field(0.5, ge=0, description="strength factor of synthetic rows")
    augment_run: str | None = Field(None, description="aug_run_id to use (None = the newest)")
    generate_run: str | None = Field(None, description="gen_run_id to use (None = the newest)")
    bootstrap_resamples: int = Field(1000, ge=10)
    confidence: float = Field(0.95, gt=0, lt=1)
    max_users: int | None = Field(
        None, ge=1, description="score at most this many test users, a keyed hash sample (None = all of them)"
    )
    short_history_max: int = Field(
        20, ge=1, description="segment short: warm users with at most this many training events"
    )
    ablation: bool = Field(
        False, description="also evaluate real+<op> for each op of the augment run (that op's copies only)"
    )
    ablation_models: tuple[ModelName, ...] | None = Field(
        None, description="the models the ablation variants train (None = every model of evaluate.models)"
    )
    als: AlsConfig = AlsConfig()
    itemknn: ItemKnnConfig = ItemKnnConfig()
    sasrec: SasrecConfig = SasrecConfig()

    @model_validator(mode="after")
    def _real_first(self) -> EvaluateConfig:
        if "real" not in self.variants:
            raise ValueError("'real' must be one of the variants (every other variant is compared with it)")
        return self


class MaintainConfig(Frozen):
    """Stage maintain: compact small files (OPTIMIZE, optionally Z-ORDER) and delete old ones (VACUUM)."""

    tables: tuple[str, ...] | None = Field(None, description="tables to maintain (None = every lake table present)")
    optimize: bool = True
    zorder_by_user: bool = Field(False, description="Z-ORDER by user_id the tables that have it")
    retention_hours: float = Field(168.0, ge=0, description="VACUUM keeps files younger than this (7 days)")
    allow_short_retention: bool = Field(
        False, description="permit retention_hours < 168 (breaks time travel and readers older than it)"
    )
    listing_parallelism: int | None = Field(
        None, ge=1, description="tasks VACUUM lists files with (None = 4 x the default parallelism)"
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


SAFE_RETENTION_HOURS = 168.0

REFRESH_ORDER: tuple[str, ...] = ("ingest", "preprocess", "split", "augment", "train-gan", "generate", "evaluate")
RefreshStage = Literal["ingest", "preprocess", "split", "augment", "train-gan", "generate", "evaluate"]


class RefreshConfig(Frozen):
    """Stage refresh: which of the pipeline's stages run (``recaug refresh --from STAGE`` / ``--only STAGE``)."""

    from_stage: RefreshStage | None = Field(None, description="start at this stage (the ones before it are left alone)")
    only: RefreshStage | None = Field(None, description="run this stage alone")
    lock_timeout_seconds: float = Field(
        0, ge=0, description="wait this long for a running refresh of the same input (0 = exit at once)"
    )
    lock_lease_seconds: float = Field(
        600, gt=0, description="a refresh lock without a heartbeat for this long is stale (its holder died)"
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
            ('generate', 'evaluate')
        """
        if self.only is not None:
            return (self.only,)
        start = REFRESH_ORDER.index(self.from_stage) if self.from_stage else 0
        return REFRESH_ORDER[start:]


class RecaugConfig(Frozen):
    """The whole validated configuration of one run."""

    lake: LakeConfig = LakeConfig()
    spark: SparkConfig
    run: RunConfig = RunConfig()
    ingest: IngestConfig = IngestConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    split: SplitConfig = SplitConfig()
    augment: AugmentConfig = AugmentConfig()
    gan: GanConfig = GanConfig()
    generate: GenerateConfig = GenerateConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    maintain: MaintainConfig = MaintainConfig()
    refresh: RefreshConfig = RefreshConfig()
    source: SourceConfig

    def config_hash(self) -> str:
        """A short, stable hash of the whole configuration."""
        return self.section_hash(*type(self).model_fields)

    def section_hash(self, *sections: str) -> str:
        """A short, stable hash of some sections (what one stage's output depends on).

        Example:
            >>> cfg = RecaugConfig.model_validate({"spark": {"delta_version": "4.4.0"}, "source": {"kind": "demo"}})
            >>> cfg.section_hash("source") == cfg.model_copy(update={"run": RunConfig(seed=1)}).section_hash("source")
            True
        """
        dumped = self.model_dump(mode="json")
        canonical = json.dumps({s: dumped[s] for s in sections}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without implicit dates: '2017-11-25' stays a string, pydantic types it."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

Provenance = dict[tuple[str, ...], str]


@dataclass(frozen=True)
class Layer:
    """One configuration layer: its data and where it came from (a file path or ``--set``)."""

    data: Mapping[str, Any]
    origin: str


def default_conf_dir() -> Traversable:
    """The packaged conf directory (``conf/`` at the repo root is a link to it); a Traversable, so it
    reads the same from an installed package and from the zip shipped with ``--py-files``."""
    return resources.files("recaug_spark") / "conf"


def parse_value(text: str) -> Any:
    """Type a ``--set`` value the way YAML would: int, float, bool, null, list or string.

    Example:
        >>> parse_value("3"), parse_value("0.5"), parse_value("true"), parse_value("[a, 2]")
        (3, 0.5, True, ['a', 2])
        >>> parse_value("local[2]"), parse_value("2017-11-25")
        ('local[2]', '2017-11-25')
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError:
        return text


def read_layer(path: str | Path | Traversable) -> Layer:
    """Read one YAML file as a layer; a missing file or bad YAML is a ConfigError naming the file."""
    p = path if isinstance(path, Traversable) else Path(path)
    if not p.is_file():
        raise ConfigError("--conf", f"no such config file: {p}", None)
    try:
        data = yaml.load(p.read_text(), Loader=_StrictLoader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("<yaml>", f"cannot parse YAML: {exc}".replace("\n", " "), str(p)) from exc
    if not isinstance(data, dict):
        raise ConfigError("<root>", "a config file must hold a mapping at the top level", str(p))
    return Layer(data, str(p))


def override_layer(assignments: Sequence[str]) -> Layer:
    """Turn ``["a.b=1", "c=x"]`` into one nested layer with typed values."""
    data: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(item, "expected --set dotted.key=value", "--set")
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(key, "conflicts with another --set of its parent", "--set")
        node[parts[-1]] = parse_value(raw)
    return Layer(data, "--set")


def merge_layers(layers: Sequence[Layer]) -> tuple[dict[str, Any], Provenance]:
    """Deep-merge layers in order and remember, for every leaf, the origin that set it.

    Example:
        >>> merged, origin = merge_layers([Layer({"a": {"b": 1, "c": 2}}, "x.yaml"),
        ...                                Layer({"a": {"b": 5}}, "--set")])
        >>> merged, origin[("a", "b")], origin[("a", "c")]
        ({'a': {'b': 5, 'c': 2}}, '--set', 'x.yaml')
    """
    merged: dict[str, Any] = {}
    provenance: Provenance = {}

    def record(value: Any, path: tuple[str, ...], origin: str) -> None:
        provenance[path] = origin
        if isinstance(value, dict):
            for k, v in value.items():
                record(v, (*path, str(k)), origin)

    def forget(path: tuple[str, ...]) -> None:
        for key in [k for k in provenance if k[: len(path)] == path]:
            del provenance[key]

    def merge_into(target: dict[str, Any], update: Mapping[str, Any], path: tuple[str, ...], origin: str) -> None:
        for key, value in update.items():
            sub = (*path, str(key))
            old = target.get(key)
            same_kind = not (isinstance(old, dict) and isinstance(value, dict)) or old.get("kind") in (
                None,
                value.get("kind", old.get("kind")),
            )
            if isinstance(old, dict) and isinstance(value, dict) and same_kind:
                provenance[sub] = origin
                merge_into(old, value, sub, origin)
            else:
                forget(sub)
                target[key] = _deep_copy(value)
                record(value, sub, origin)

    for layer in layers:
        merge_into(merged, layer.data, (), layer.origin)
    return merged, provenance


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def expand_env(data: Any, provenance: Provenance, path: tuple[str, ...] = ()) -> Any:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in every string; an unset VAR without default fails."""
    if isinstance(data, dict):
        return {k: expand_env(v, provenance, (*path, str(k))) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, provenance, path) for v in data]
    if not isinstance(data, str):
        return data

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            ".".join(path),
            f"environment variable {name} is not set (or write ${{{name}:-default}})",
            _origin(provenance, path),
        )

    return _ENV_REF.sub(substitute, data)


def _origin(provenance: Provenance, path: Sequence[str]) -> str | None:
    path = [p.split("[", 1)[0] for p in path]
    for end in range(len(path), 0, -1):
        if tuple(path[:end]) in provenance:
            return provenance[tuple(path[:end])]
    return None


def _dotted_location(loc: Sequence[Any]) -> list[str]:
    """Turn a pydantic error location into config keys: list indices attach, union tags drop out.

    Example:
        >>> _dotted_location(("source", "<csv>", "events", "rules", 0, "when"))
        ['source', 'events', 'rules[0]', 'when']
    """
    parts: list[str] = []
    for element in loc:
        if isinstance(element, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{element}]"
        elif not (element.startswith(("<", "function-")) or "[" in element):
            parts.append(element)
    return parts


def _raise_validation_error(exc: ValidationError, provenance: Provenance) -> None:
    errors = exc.errors()
    first = errors[0]
    parts = _dotted_location(first["loc"])
    key = ".".join(parts) or "<root>"
    problem = "unknown key (check the spelling)" if first["type"] == "extra_forbidden" else first["msg"]
    if first["type"] == "missing":
        problem = "required key is missing"
    if (
        "input" in first
        and first["type"] not in ("missing", "extra_forbidden")
        and not isinstance(first["input"], dict)
    ):
        problem += f", got {first['input']!r}"
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more error(s))"
    raise ConfigError(key, problem, _origin(provenance, parts)) from exc


def load_config(
    conf_files: Sequence[str | Path] = (),
    overrides: Sequence[str] = (),
    *,
    lake_root: str | None = None,
    conf_dir: str | Path | None = None,
    include_local: bool = True,
) -> RecaugConfig:
    """Build the validated config: base.yaml, local.yaml, each --conf file, then --set / --lake.

    Args:
        conf_files: Extra YAML files, merged in order after the defaults.
        overrides: ``dotted.key=value`` strings (values typed like YAML).
        lake_root: ``--lake``; the same as ``--set lake.root=...``.
        conf_dir: Directory holding base.yaml and local.yaml (default: the packaged conf/).
        include_local: Merge local.yaml (the embedded default) after base.yaml.

    Returns:
        The frozen, validated configuration.

    Raises:
        ConfigError: naming the dotted key and the file it came from.
    """
    directory: Path | Traversable = Path(conf_dir) if conf_dir else default_conf_dir()
    layers = [read_layer(directory / "base.yaml")]
    if include_local and (directory / "local.yaml").is_file():
        layers.append(read_layer(directory / "local.yaml"))
    layers.extend(read_layer(f) for f in conf_files)
    set_items = list(overrides) + ([f"lake.root={lake_root}"] if lake_root else [])
    if set_items:
        layers.append(override_layer(set_items))
    merged, provenance = merge_layers(layers)
    expanded = expand_env(merged, provenance)
    try:
        cfg = RecaugConfig.model_validate(expanded)
    except ValidationError as exc:
        _raise_validation_error(exc, provenance)
        raise  # unreachable: _raise_validation_error always raises
    from recaug_spark.source_columns import fit_to_source  # it reads this module's models

    return fit_to_source(cfg, provenance)
