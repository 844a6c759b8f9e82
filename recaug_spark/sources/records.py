"""Delimited records -> canonical rows, each with the reasons it is invalid (empty when valid).

One mechanism serves every source: a frame of raw lines (``_rc_raw_record``, ``_rc_source_file``) is
split into fields by a :class:`~recaug_spark.config.DelimitedFormat`, mapped to canonical columns by a
:class:`~recaug_spark.config.TableMapping` and validated. Nothing is dropped here: a row that fails any
check keeps all its reasons in ``_rc_reasons`` and the stage sends it to quarantine with its raw text.

All steps are DataFrame -> DataFrame transforms built by factories, so a stage reads as a chain of
``.transform(...)`` calls. Casting uses ``try_*`` functions: Spark's ANSI mode stays on and a bad value
becomes a reason, never an exception.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import (
    EVENT_COLUMNS,
    EVENT_TYPES,
    RESERVED_PREFIX,
    ColumnSpec,
    ConstSpec,
    DelimitedFormat,
    EventMapping,
    ExprSpec,
    IngestConfig,
    TableMapping,
    TimestampSpec,
)
from recaug_spark.errors import ConfigError, InputError
from recaug_spark.schema import EVENTS, ITEMS, USERS

Transform = Callable[[DataFrame], DataFrame]

RAW_RECORD = f"{RESERVED_PREFIX}raw_record"
SOURCE_FILE = f"{RESERVED_PREFIX}source_file"
N_FIELDS = f"{RESERVED_PREFIX}n_fields"
VALID_UTF8 = f"{RESERVED_PREFIX}valid_utf8"
LONGEST_FIELD = f"{RESERVED_PREFIX}longest_field"
IS_HEADER = f"{RESERVED_PREFIX}is_header"
REASONS = f"{RESERVED_PREFIX}reasons"
REASON_SEPARATOR = "; "
_PARSED = f"{RESERVED_PREFIX}parsed"
_PLAIN = f"{RESERVED_PREFIX}plain"
_QUOTED_COUNT = f"{RESERVED_PREFIX}quoted_count"
RAW_FIELDS = "raw"  # struct of every raw field, visible to rules as raw.<field>

_EPOCH_SCALE = {"s": 1_000_000, "ms": 1_000, "us": 1}
_MAX_QUOTED_VALUE = 40  # characters of an offending value repeated in a reason


@dataclass(frozen=True)
class TableSpec:
    """What validation needs to know about one canonical table."""

    name: str
    schema: T.StructType
    key: str
    string_columns: tuple[str, ...]
    double_columns: tuple[str, ...]
    required: tuple[str, ...]
    non_negative: tuple[str, ...]


EVENTS_SPEC = TableSpec(
    name="events",
    schema=EVENTS,
    key="event_id",
    string_columns=("user_id", "item_id", "session_id"),
    double_columns=("quantity", "price"),
    required=("user_id", "item_id", "event_type", "ts"),
    non_negative=("quantity", "price"),
)
ITEMS_SPEC = TableSpec(
    name="items",
    schema=ITEMS,
    key="item_id",
    string_columns=("item_id", "category", "brand", "department"),
    double_columns=("price",),
    required=("item_id",),
    non_negative=("price",),
)
USERS_SPEC = TableSpec(
    name="users",
    schema=USERS,
    key="user_id",
    string_columns=("user_id", "segment"),
    double_columns=(),
    required=("user_id",),
    non_negative=(),
)


@dataclass(frozen=True)
class Batch:
    """The identity and limits shared by every row of one ingest batch (``ingested_at`` is tz-aware)."""

    source: str
    batch_id: str
    ingested_at: datetime
    limits: IngestConfig


# --------------------------------------------------------------------------------------------------
# Splitting lines into fields
# --------------------------------------------------------------------------------------------------


def parse_header(line: str, fmt: DelimitedFormat) -> tuple[str, ...]:
    """Field names from a header line, parsed with the file's own delimiter and quote.

    Example:
        >>> parse_header('user;"item id";ts', DelimitedFormat(delimiter=";", header=True))
        ('user', 'item id', 'ts')
    """
    if len(fmt.delimiter) == 1:
        row = next(csv.reader([line], delimiter=fmt.delimiter, quotechar=fmt.quote), [])
    else:
        row = line.split(fmt.delimiter)
    names = tuple(name.strip().lstrip("\ufeff") for name in row)
    if not names or any(not n for n in names):
        raise InputError(f"header line {line[:200]!r} has an empty field name")
    if len(set(names)) != len(names):
        raise InputError(f"header line {line[:200]!r} repeats a field name")
    return names


def _ddl(fields: Sequence[str]) -> str:
    return ", ".join("`{}` STRING".format(f.replace("`", "``")) for f in fields)


def _quoted_count(line: Column, fmt: DelimitedFormat) -> Column:
    """Fields in a line that contains quotes: delimiters outside quoted spans, plus one."""
    quote = re.escape(fmt.quote)
    unquoted = F.regexp_replace(line, f"{quote}[^{quote}]*{quote}", "")
    delimiters = (F.length(unquoted) - F.length(F.replace(unquoted, F.lit(fmt.delimiter), F.lit("")))) / len(
        fmt.delimiter
    )
    return (delimiters + 1).cast("int")


def _split_pattern(delimiter: str) -> str:
    r"""A Java regex matching ``delimiter`` literally (single characters stay on String.split's fast path).

    Example:
        >>> _split_pattern(","), _split_pattern("|"), _split_pattern("::")
        (',', '\\|', '\\Q::\\E')
    """
    if len(delimiter) == 1:
        return "\\" + delimiter if delimiter in ".$|()[]{}^?*+\\" else delimiter
    return f"\\Q{delimiter}\\E"


def split_fields(fmt: DelimitedFormat, fields: Sequence[str]) -> Transform:
    """Add one string column per field (trimmed, empty = null) and the line-level checks.

    A line without a quote character (nearly all of them) is split on the delimiter, which also counts
    its fields exactly; a line with quotes goes through the CSV parser (quotes protect delimiters) and
    a quote-aware count. Adds ``_rc_n_fields``, ``_rc_valid_utf8``, ``_rc_longest_field`` and
    ``_rc_is_header`` (the line repeats the field names, as a header does at the top of each file).
    """
    options = {
        "sep": fmt.delimiter,
        "quote": fmt.quote,
        "escape": fmt.escape,
        "mode": "PERMISSIVE",
        "ignoreLeadingWhiteSpace": "true",
        "ignoreTrailingWhiteSpace": "true",
    }

    def apply(df: DataFrame) -> DataFrame:
        line = F.col(RAW_RECORD)
        has_quote = F.instr(line, fmt.quote) > 0
        # Separate projections: each expensive expression is computed once per line (Spark does not
        # merge projections that would repeat one).
        parsed = df.select(
            RAW_RECORD,
            SOURCE_FILE,
            F.when(has_quote, F.from_csv(line, _ddl(fields), options)).alias(_PARSED),
            F.when(~has_quote, F.split(line, _split_pattern(fmt.delimiter), -1)).alias(_PLAIN),
            F.when(has_quote, _quoted_count(line, fmt)).alias(_QUOTED_COUNT),
        )
        plain, quoted = F.col(_PLAIN), F.col(_PARSED)
        cleaned = parsed.select(
            RAW_RECORD,
            SOURCE_FILE,
            *[
                F.nullif(
                    F.trim(F.when(plain.isNull(), quoted.getField(f)).otherwise(F.get(plain, i))), F.lit("")
                ).alias(f)
                for i, f in enumerate(fields)
            ],
            F.coalesce(F.size(plain), F.col(_QUOTED_COUNT)).alias(N_FIELDS),
        )
        values = [F.col(f"`{f}`") for f in fields]
        header_names = F.array(*[F.lit(f.lower()) for f in fields])
        is_header = (
            (F.array(*[F.lower(F.coalesce(v, F.lit(""))) for v in values]) == header_names)
            if fmt.header
            else F.lit(False)
        )
        return cleaned.select(
            "*",
            F.expr(f"is_valid_utf8({RAW_RECORD})").alias(VALID_UTF8),
            F.greatest(*[F.coalesce(F.length(v), F.lit(0)) for v in values], F.lit(0)).alias(LONGEST_FIELD),
            is_header.alias(IS_HEADER),
        )

    return apply


# --------------------------------------------------------------------------------------------------
# Mapping fields to canonical columns
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mapped:
    """A canonical column's value and, when it comes straight from one field, that field's text."""

    value: Column
    raw_text: Column | None


def _source_column(spec: ColumnSpec) -> _Mapped:
    if isinstance(spec, ExprSpec):
        return _Mapped(F.expr(spec.expr), None)
    if isinstance(spec, ConstSpec):
        return _Mapped(F.lit(spec.const), None)
    column = F.col(f"`{spec}`")
    return _Mapped(column, column)


def as_string(column: Column) -> Column:
    """Trimmed string, empty as null."""
    return F.nullif(F.trim(column.cast("string")), F.lit(""))


def as_double(column: Column) -> Column:
    """A finite double, or null when the value does not parse (or is NaN / infinite)."""
    value = column.cast("string").try_cast("double")
    return F.when(~F.isnan(value) & ~value.isin(float("inf"), float("-inf")), value)


def as_timestamp(column: Column, spec: TimestampSpec) -> Column:
    """Parse epoch numbers (``unit``), a datetime ``format``, or ISO-8601 text into a timestamp."""
    text = as_string(column)
    if spec.unit:
        micros = (text.try_cast("double") * _EPOCH_SCALE[spec.unit]).try_cast("bigint")
        return F.timestamp_micros(micros)
    if spec.format:
        return F.try_to_timestamp(text, F.lit(spec.format))
    return text.try_cast("timestamp")


def as_event_type(column: Column, mapping: Mapping[str, str] | None) -> Column:
    """Map raw event types (case-insensitive) to canonical ones; unknown values become null."""
    pairs = mapping if mapping is not None else {t: t for t in EVENT_TYPES}
    lookup = F.create_map(*[F.lit(x) for k, v in sorted(pairs.items()) for x in (k.strip().lower(), v)])
    return F.try_element_at(lookup, F.lower(as_string(column)))


def _quoted(text: Column) -> Column:
    return F.concat(F.lit("'"), F.substring(text, 1, _MAX_QUOTED_VALUE), F.lit("'"))


def to_canonical(
    mapping: TableMapping,
    table: TableSpec,
    fields: Sequence[str],
    batch: Batch,
    *,
    check_line: bool = True,
    keep_raw: bool = False,
    origin: str = "source",
) -> Transform:
    """Map split fields to the canonical columns of ``table`` and collect every reason a row is invalid.

    Two projections: the first types the values, the second writes the reasons from those typed
    columns, so each value is parsed once (Spark keeps projections apart rather than repeat an
    expensive expression). Reasons are joined into one string with ``concat_ws``, which skips the
    checks that passed without a per-row lambda.

    Args:
        mapping: The table's mapping (columns, attrs, rules; for events also timestamp and types).
        table: The canonical table spec.
        fields: The raw field names, in file order.
        batch: Batch identity and validation limits.
        check_line: Check field count, UTF-8 and field length (off for rows derived from other rows).
        keep_raw: Keep the ``raw`` struct in the output (it is always there while rules are evaluated).
        origin: Dotted config prefix of ``mapping``, so a bad expression names its key.

    Returns:
        A transform whose output has the table's canonical columns, ``attrs``, ``_rc_reasons`` (the
        reasons joined by "; ", empty when valid), for events ``quality_flags``, the raw record and
        source file, and with ``keep_raw`` the ``raw`` struct of every field.
    """
    limits = batch.limits

    def apply(df: DataFrame) -> DataFrame:
        try:
            return build(df)
        except AnalysisException as exc:  # a bad {expr: ...}: name its key
            bad = _failing_column(df, mapping)
            key = f"{origin}.columns.{bad}" if bad else f"{origin}.columns"
            raise ConfigError(key, f"invalid SQL expression: {_first_line(exc)}") from exc

    def build(df: DataFrame) -> DataFrame:
        mapped = {name: _source_column(spec) for name, spec in mapping.columns.items()}
        values: dict[str, Column] = {}
        for name in table.string_columns:
            values[name] = as_string(mapped[name].value) if name in mapped else F.lit(None).cast("string")
        for name in table.double_columns:
            values[name] = as_double(mapped[name].value) if name in mapped else F.lit(None).cast("double")
        if isinstance(mapping, EventMapping):
            values["event_type"] = as_event_type(mapped["event_type"].value, mapping.event_types)
            values["ts"] = as_timestamp(mapped["ts"].value, mapping.timestamp)
        texts = {name: m.raw_text for name, m in mapped.items() if m.raw_text is not None}
        needs_raw = keep_raw or bool(mapping.rules)
        line_checks = [N_FIELDS, VALID_UTF8, LONGEST_FIELD] if check_line else []
        line_columns = [c for c in (RAW_RECORD, SOURCE_FILE, IS_HEADER) if c in df.columns]
        typed = df.select(
            *line_columns,
            *line_checks,
            *[v.alias(k) for k, v in values.items()],
            *[t.alias(_text(k)) for k, t in texts.items()],
            _string_map(mapping.attrs).alias("attrs"),
            *([F.struct(*[F.col(f"`{f}`").alias(f) for f in fields]).alias(RAW_FIELDS)] if needs_raw else []),
        )

        reasons: list[Column] = []
        if check_line:
            reasons += [
                F.when(~F.col(VALID_UTF8), F.lit("invalid UTF-8")),
                F.when(
                    F.col(N_FIELDS) != len(fields),
                    F.concat(F.lit(f"wrong field count: expected {len(fields)}, got "), F.col(N_FIELDS).cast("string")),
                ),
                F.when(
                    F.col(LONGEST_FIELD) > limits.max_field_length,
                    F.concat(
                        F.lit(f"field longer than {limits.max_field_length} characters ("),
                        F.col(LONGEST_FIELD).cast("string"),
                        F.lit(")"),
                    ),
                ),
            ]
        for name in table.required:
            if name in texts:
                reasons.append(F.when(F.col(_text(name)).isNull(), F.lit(f"missing {name}")))
            else:
                reasons.append(F.when(F.col(name).isNull(), F.lit(f"missing or invalid {name}")))
        for name in texts:
            if name in values and name not in table.string_columns:
                label = "unknown" if name == "event_type" else "unparsable"
                reasons.append(
                    F.when(
                        F.col(_text(name)).isNotNull() & F.col(name).isNull(),
                        F.concat(F.lit(f"{label} {name} "), _quoted(F.col(_text(name)))),
                    )
                )
        for name in table.non_negative:
            reasons.append(F.when(F.col(name) < 0, F.lit(f"negative {name}")))
        if isinstance(mapping, EventMapping):
            now = batch.ingested_at + timedelta(hours=limits.future_tolerance_hours)
            reasons += [
                F.when(F.col("ts") > F.lit(now), F.lit("ts in the future")),
                F.when(
                    F.col("ts") < F.lit(datetime.combine(limits.min_timestamp, time(), tzinfo=UTC)),
                    F.lit(f"ts before {limits.min_timestamp}"),
                ),
            ]
        dropped = {N_FIELDS, LONGEST_FIELD}  # VALID_UTF8 stays: quarantine keeps exact bytes of bad text
        checked = typed.select(
            *[c for c in typed.columns if c not in dropped and not c.startswith(_TEXT_PREFIX)],
            F.concat_ws(REASON_SEPARATOR, *reasons).alias(REASONS),
        )
        checked = checked.transform(_apply_rules(mapping, origin))
        return checked if keep_raw or not needs_raw else checked.drop(RAW_FIELDS)

    return apply


_TEXT_PREFIX = f"{RESERVED_PREFIX}text_"


def _text(name: str) -> str:
    return f"{_TEXT_PREFIX}{name}"


def _string_map(fields: Sequence[str]) -> Column:
    """``map<string,string>`` of the named raw fields (a null field is a null value); null when none."""
    if not fields:
        return F.lit(None).cast(T.MapType(T.StringType(), T.StringType()))
    return F.map_from_arrays(F.array(*[F.lit(f) for f in fields]), F.array(*[F.col(f"`{f}`") for f in fields]))


def _apply_rules(mapping: TableMapping, origin: str) -> Transform:
    """Evaluate the mapping's rules: quarantine rules add a reason, flag rules add to quality_flags."""

    def apply(df: DataFrame) -> DataFrame:
        quarantine: list[Column] = []
        flags: list[Column] = []
        for index, rule in enumerate(mapping.rules):
            try:
                matched = F.coalesce(F.expr(rule.when), F.lit(False))
                df.select(matched)  # analyse now, so a bad expression names its config key
            except AnalysisException as exc:
                raise ConfigError(
                    f"{origin}.rules[{index}].when", f"invalid SQL expression: {_first_line(exc)}"
                ) from exc
            if rule.action == "quarantine":
                quarantine.append(F.when(matched, F.lit(f"rule {rule.name}")))
            else:
                flags.append(F.when(matched, F.lit(rule.name)))
        out = df
        if quarantine:
            out = out.withColumn(
                REASONS, F.concat_ws(REASON_SEPARATOR, F.nullif(F.col(REASONS), F.lit("")), *quarantine)
            )
        if "event_type" in df.columns:
            no_flags = F.array().cast("array<string>")
            if flags:
                joined = F.concat_ws(",", *flags)
                out = out.withColumn("quality_flags", F.when(joined == "", no_flags).otherwise(F.split(joined, ",")))
            else:
                out = out.withColumn("quality_flags", no_flags)
        return out

    return apply


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _failing_column(df: DataFrame, mapping: TableMapping) -> str | None:
    for name, spec in mapping.columns.items():
        if isinstance(spec, ExprSpec):
            try:
                df.select(F.expr(spec.expr))
            except AnalysisException:
                return name
    return None


# --------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------


def _key_text(column: Column, data_type: T.DataType) -> Column:
    """A cheap, exact text form of a key column (nulls distinct from empty strings)."""
    if isinstance(data_type, T.TimestampType):
        column = F.unix_micros(column)
    elif isinstance(data_type, T.MapType):  # attrs: its keys are fixed by the mapping, so values suffice
        column = F.array_join(F.map_values(column), "\u001e", "\u0000")
    return F.coalesce(column.cast("string"), F.lit("\u0000"))


def with_event_id(source: str, key_columns: Sequence[str]) -> Transform:
    """Add ``event_id``: 32 hex characters of SHA-256 over the source and the key columns.

    The same event read twice (the same line, or the same file re-ingested) gets the same id, which is
    what makes ingest idempotent.
    """

    def apply(df: DataFrame) -> DataFrame:
        types = {f.name: f.dataType for f in df.schema.fields}
        parts = [F.lit(source), *[_key_text(F.col(name), types[name]) for name in key_columns]]
        return df.withColumn("event_id", F.substring(F.sha2(F.concat_ws("\u001f", *parts), 256), 1, 32))

    return apply


def default_event_key(mapping: EventMapping) -> tuple[str, ...]:
    """All mapped canonical event columns, then attrs: two rows with the same key are the same event."""
    if mapping.key_columns is not None:
        return mapping.key_columns
    mapped = tuple(c for c in EVENT_COLUMNS if c in mapping.columns)
    return (*mapped, "attrs") if mapping.attrs else mapped
