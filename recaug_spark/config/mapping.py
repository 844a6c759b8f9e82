"""The csv-mapping language: how the fields of a delimited record become canonical events, items or users."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from recaug_spark.config.constants import (
    EVENT_COLUMNS,
    ITEM_COLUMNS,
    RESERVED_PREFIX,
    USER_COLUMNS,
    EventType,
)
from recaug_spark.config.types import Frozen, Identifier, PathStr


class DelimitedFormat(Frozen):
    """Layout of a delimited text file."""

    delimiter: str = Field(",", min_length=1, description="Field separator (one or more characters).")
    quote: str = Field('"', min_length=1, max_length=1, description="Quote character around a field.")
    escape: str = Field("\\", min_length=1, max_length=1, description="Escape character inside a quoted field.")
    header: bool = Field(False, description="The first line of each file names the fields.")
    columns: tuple[str, ...] | None = Field(
        None,
        description="Field names in file order: required without a header, checked against it with one. Names "
        f"starting with `{RESERVED_PREFIX}` are reserved.",
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

    expr: str = Field(
        ...,
        min_length=1,
        description="Spark SQL over the raw fields, all strings (e.g. try_cast(cents AS DOUBLE) / 100).",
    )


class ConstSpec(Frozen):
    """A constant value for every row."""

    const: str | int | float | bool = Field(..., description="The value every row gets.")


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
# Tags are written <like-this> so error locations can drop them (see loader._dotted_location).
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

    unit: Literal["s", "ms", "us"] | None = Field(
        None, description="Epoch unit of ts: seconds, milliseconds or microseconds since 1970-01-01 UTC."
    )
    format: str | None = Field(
        None, description="Spark datetime pattern of ts, e.g. yyyy-MM-dd HH:mm:ss (not with unit)."
    )

    @model_validator(mode="after")
    def _one_of(self) -> TimestampSpec:
        if self.unit and self.format:
            raise ValueError("give either 'unit' or 'format', not both")
        return self


class RuleSpec(Frozen):
    """A source-specific row rule: rows where ``when`` is true are quarantined or flagged.

    ``when`` is a Spark SQL boolean over the canonical columns (after parsing).
    """

    name: Identifier = Field(
        ..., description="Rule name: the quarantine reason (rule <name>) or the event's quality flag."
    )
    when: str = Field(..., min_length=1, description="Spark SQL boolean over the canonical columns and raw.<field>.")
    action: Literal["quarantine", "flag"] = Field(
        ..., description="quarantine: the row goes to bronze/quarantine; flag: it is kept, with the flag."
    )


def check_mapping_keys(columns: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str]) -> None:
    """Raise ValueError when ``columns`` names a column outside ``allowed`` or lacks one of ``required``.

    Example:
        >>> check_mapping_keys({"item_id": "sku"}, ITEM_COLUMNS, ("item_id",))
    """
    unknown = sorted(set(columns) - set(allowed))
    if unknown:
        raise ValueError(f"unknown canonical column(s) {unknown}; expected some of {list(allowed)}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"missing mapping for required column(s) {missing}")


def check_field_refs(fmt: DelimitedFormat | None, refs: Sequence[str]) -> None:
    """Raise ValueError when a referenced raw field is not in ``fmt.columns`` (when the format lists them).

    Example:
        >>> check_field_refs(DelimitedFormat(columns=("u", "i")), ["u"])
    """
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

    format: DelimitedFormat | None = Field(None, description="Text layout of the records.")
    columns: dict[str, ColumnSpec] = Field(
        ..., description="Canonical column -> where its value comes from (a field, {expr: ...} or {const: ...})."
    )
    attrs: tuple[str, ...] = Field((), description="Raw fields kept, as strings, in the row's attrs map.")
    rules: tuple[RuleSpec, ...] = Field((), description="Row rules, applied in order after parsing.")

    def field_refs(self) -> list[str]:
        """Raw field names referenced directly (by name) in the mapping and attrs."""
        return [s for s in self.columns.values() if isinstance(s, str)] + list(self.attrs)


class EventMapping(TableMapping):
    """Event records; ``event_types`` maps raw values to canonical types (absent = canonical names)."""

    timestamp: TimestampSpec = Field(TimestampSpec(), description="How the ts field is encoded.")
    event_types: dict[str, EventType] | None = Field(
        None, description="Raw event type -> view, cart, fav or purchase; null = the raw values are canonical."
    )
    key_columns: tuple[str, ...] | None = Field(
        None,
        description="Canonical columns (and attrs) that identify an event, hashed into event_id; null = every "
        "mapped column and attrs.",
    )

    @model_validator(mode="after")
    def _check(self) -> EventMapping:
        check_mapping_keys(self.columns, EVENT_COLUMNS, ("user_id", "item_id", "event_type", "ts"))
        check_field_refs(self.format, self.field_refs())
        if self.key_columns is not None:
            bad = sorted(set(self.key_columns) - set(EVENT_COLUMNS) - {"attrs"})
            if bad:
                raise ValueError(f"key_columns {bad} are not canonical event columns")
        return self


class ItemMapping(TableMapping):
    """Item catalogue records."""

    @model_validator(mode="after")
    def _check(self) -> ItemMapping:
        check_mapping_keys(self.columns, ITEM_COLUMNS, ("item_id",))
        check_field_refs(self.format, self.field_refs())
        return self


class UserMapping(TableMapping):
    """User profile records; every field in ``attrs`` becomes a profile attribute."""

    @model_validator(mode="after")
    def _check(self) -> UserMapping:
        check_mapping_keys(self.columns, USER_COLUMNS, ("user_id",))
        check_field_refs(self.format, self.field_refs())
        return self


class FileInput(Frozen):
    """Where a table's records are read from, and their layout."""

    path: tuple[PathStr, ...] = Field(
        ...,
        min_length=1,
        description="Files, directories or globs (one, or a list); ${VAR:-default} expands, relative paths are "
        "made absolute.",
    )
    format: DelimitedFormat = Field(..., description="Text layout of the files.")

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

    from_events: dict[str, ColumnSpec] = Field(
        ...,
        description="Item column (category, brand, department, price) -> a field, {expr: ...} or {const: ...} "
        "of the event records; each item takes its most frequent value in the batch.",
    )

    @model_validator(mode="after")
    def _check(self) -> ItemsFromEvents:
        check_mapping_keys(self.from_events, tuple(c for c in ITEM_COLUMNS if c != "item_id"), ())
        return self
