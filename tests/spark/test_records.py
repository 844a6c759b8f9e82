"""The record parser on small hand-made lines: fields, types, reasons, rules, keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import Row, SparkSession

from recaug_spark.config import (
    DelimitedFormat,
    EventMapping,
    ExprSpec,
    IngestConfig,
    ItemMapping,
    RuleSpec,
    TimestampSpec,
)
from recaug_spark.errors import ConfigError
from recaug_spark.sources.records import (
    EVENTS_SPEC,
    ITEMS_SPEC,
    RAW_RECORD,
    REASONS,
    SOURCE_FILE,
    Batch,
    default_event_key,
    split_fields,
    to_canonical,
    with_event_id,
)


def reasons(row: Row) -> list[str]:
    """The reasons of a parsed row, as a list (the column joins them with "; ")."""
    return row[REASONS].split("; ") if row[REASONS] else []


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BATCH = Batch(source="t", batch_id="t-1", ingested_at=NOW, limits=IngestConfig(max_field_length=20))
FIELDS = ("u", "i", "kind", "when", "qty", "amount")
FORMAT = DelimitedFormat(header=True, columns=FIELDS)
MAPPING = EventMapping(
    format=FORMAT,
    columns={
        "user_id": "u",
        "item_id": "i",
        "event_type": "kind",
        "ts": "when",
        "quantity": "qty",
        "price": "amount",
    },
    timestamp=TimestampSpec(unit="s"),
    event_types={"pv": "view", "Buy": "purchase"},
)


def parse(
    spark: SparkSession,
    lines: list[bytes | str],
    mapping: EventMapping = MAPPING,
    fmt: DelimitedFormat = FORMAT,
) -> list[Row]:
    raw = [(line.encode() if isinstance(line, str) else line,) for line in lines]
    df = spark.createDataFrame(raw, "b binary").selectExpr(
        f"cast(b as string) as {RAW_RECORD}", f"'f.csv' as {SOURCE_FILE}"
    )
    split = df.transform(split_fields(fmt, FIELDS))
    return split.transform(to_canonical(mapping, EVENTS_SPEC, FIELDS, BATCH)).collect()


def test_a_valid_line_maps_to_typed_canonical_columns(spark: SparkSession) -> None:
    (row,) = parse(spark, ["7, 42 ,PV,1511544070,2,3.5"])
    assert (row.user_id, row.item_id, row.event_type) == ("7", "42", "view")
    assert row.ts == datetime(2017, 11, 24, 17, 21, 10)  # session time zone is UTC
    assert (row.quantity, row.price) == (2.0, 3.5)
    assert reasons(row) == []


def test_event_types_match_case_insensitively_and_unknown_is_a_reason(spark: SparkSession) -> None:
    rows = parse(spark, ["1,2,buy,1511544070,,", "1,2,click,1511544070,,"])
    assert rows[0].event_type == "purchase" and reasons(rows[0]) == []
    assert rows[1].event_type is None and reasons(rows[1]) == ["unknown event_type 'click'"]


PROBLEMS = [
    ("1,2,pv,1511544070", ["wrong field count: expected 6, got 4"]),
    ("1,2,pv", ["wrong field count: expected 6, got 3", "missing ts"]),
    ('"1,5",2,pv', ["wrong field count: expected 6, got 3", "missing ts"]),
    ('"1,5",2,pv,1511544070,,,"x,y"', ["wrong field count: expected 6, got 7"]),
    ("1,2,pv,1511544070,1,2,3", ["wrong field count: expected 6, got 7"]),
    (",2,pv,1511544070,,", ["missing user_id"]),
    ("1,2,pv,yesterday,,", ["unparsable ts 'yesterday'"]),
    ("1,2,pv,1511544070,-1,", ["negative quantity"]),
    ("1,2,pv,1511544070,1,-0.5", ["negative price"]),
    ("1,2,pv,1511544070,x,NaN", ["unparsable quantity 'x'", "unparsable price 'NaN'"]),
    ("1,2,pv,4102444800,,", ["ts in the future"]),
    ("1,2,pv,100,,", ["ts before 1990-01-01"]),
    ("1,2,pv,1511544070,,123456789012345678901", ["field longer than 20 characters (21)"]),
]


@pytest.fixture(scope="module")
def problem_rows(spark: SparkSession) -> dict[str, Row]:
    """Every line of PROBLEMS parsed, each to exactly one row: {line: its row}.

    One parse of all the lines (the parser works line by line: a line's row does not depend on the
    others), instead of one Spark job per line.
    """
    lines = [line for line, _ in PROBLEMS]
    rows = parse(spark, lines)
    assert [r[RAW_RECORD] for r in rows] == lines  # one row per line, in order
    return dict(zip(lines, rows, strict=True))


@pytest.mark.parametrize(("line", "expected"), PROBLEMS)
def test_every_problem_becomes_a_reason(problem_rows: dict[str, Row], line: str, expected: list[str]) -> None:
    assert reasons(problem_rows[line]) == expected


def test_quotes_protect_delimiters_and_header_lines_are_marked(spark: SparkSession) -> None:
    rows = parse(spark, ["u,i,kind,when,qty,amount", '"1,5",2,pv,1511544070,,"3.25"'])
    assert rows[0]._rc_is_header and not rows[1]._rc_is_header
    assert rows[1].user_id == "1,5" and rows[1].price == 3.25 and reasons(rows[1]) == []


@pytest.mark.parametrize("delimiter", ["\t", "|", "::", ";"])
def test_any_delimiter_splits_plain_and_quoted_lines(spark: SparkSession, delimiter: str) -> None:
    fmt = DelimitedFormat(delimiter=delimiter, header=False, columns=FIELDS)
    mapping = MAPPING.model_copy(update={"format": fmt})
    plain = delimiter.join(["7", "42", "pv", "1511544070", "2", "3.5"])
    quoted = delimiter.join(['"7' + delimiter + '1"', "42", "pv", "1511544070", "", ""])
    rows = parse(spark, [plain, quoted, delimiter.join(["7", "42"])], mapping, fmt)
    assert (rows[0].user_id, rows[0].price, reasons(rows[0])) == ("7", 3.5, [])
    assert (rows[1].user_id, reasons(rows[1])) == (f"7{delimiter}1", [])
    assert reasons(rows[2])[0] == "wrong field count: expected 6, got 2"


def test_invalid_utf8_is_a_reason(spark: SparkSession) -> None:
    (row,) = parse(spark, [b"1,\xff\xfe,pv,1511544070,,"])
    assert reasons(row) == ["invalid UTF-8"]


def test_timestamp_units_and_formats(spark: SparkSession) -> None:
    expected = datetime(2017, 11, 24, 17, 21, 10, 250000)
    for spec, text in [
        (TimestampSpec(unit="ms"), "1511544070250"),
        (TimestampSpec(unit="s"), "1511544070.25"),
        (TimestampSpec(format="yyyy/MM/dd HH:mm:ss.SSS"), "2017/11/24 17:21:10.250"),
        (TimestampSpec(), "2017-11-24T17:21:10.25Z"),
        (TimestampSpec(), "2017-11-24T18:21:10.25+01:00"),
    ]:
        mapping = MAPPING.model_copy(update={"timestamp": spec})
        (row,) = parse(spark, [f"1,2,pv,{text},,"], mapping)
        assert row.ts == expected, spec


def test_rules_quarantine_or_flag(spark: SparkSession) -> None:
    mapping = MAPPING.model_copy(
        update={
            "rules": (
                RuleSpec(name="zero_qty", when="quantity = 0", action="quarantine"),
                RuleSpec(name="pricey", when="price > 100 AND raw.u = '9'", action="flag"),
            )
        }
    )
    rows = parse(spark, ["1,2,pv,1511544070,0,5", "9,2,pv,1511544070,1,500", "8,2,pv,1511544070,1,500"], mapping)
    assert reasons(rows[0]) == ["rule zero_qty"] and rows[0].quality_flags == []
    assert reasons(rows[1]) == [] and rows[1].quality_flags == ["pricey"]
    assert reasons(rows[2]) == [] and rows[2].quality_flags == []


def test_bad_rule_and_bad_expression_name_their_config_key(spark: SparkSession) -> None:
    bad_rule = MAPPING.model_copy(update={"rules": (RuleSpec(name="x", when="no_such_column > 1", action="flag"),)})
    with pytest.raises(ConfigError) as err:
        parse(spark, ["1,2,pv,1511544070,,"], bad_rule)
    assert err.value.key == "source.rules[0].when"
    bad_expr = MAPPING.model_copy(
        update={"columns": {**MAPPING.columns, "price": ExprSpec(expr="try_cast(nope AS DOUBLE)")}}
    )
    with pytest.raises(ConfigError) as err:
        parse(spark, ["1,2,pv,1511544070,,"], bad_expr)
    assert err.value.key == "source.columns.price"


def test_event_id_is_deterministic_and_content_based(spark: SparkSession) -> None:
    lines = ["1,2,pv,1511544070,,", "1,2,pv,1511544070,,", "1,2,pv,1511544071,,"]
    raw = spark.createDataFrame([(x,) for x in lines], f"{RAW_RECORD} string").selectExpr("*", f"'f' as {SOURCE_FILE}")
    mapped = raw.transform(split_fields(FORMAT, FIELDS)).transform(to_canonical(MAPPING, EVENTS_SPEC, FIELDS, BATCH))
    ids = [r.event_id for r in mapped.transform(with_event_id("t", default_event_key(MAPPING))).collect()]
    assert ids[0] == ids[1] != ids[2]
    assert len(ids[0]) == 32
    other = [r.event_id for r in mapped.transform(with_event_id("other", default_event_key(MAPPING))).collect()]
    assert other[0] != ids[0]  # the source is part of the key


def test_item_mapping_without_events_columns(spark: SparkSession) -> None:
    fields = ("sku", "cat", "p")
    mapping = ItemMapping(
        format=DelimitedFormat(columns=fields),
        columns={"item_id": "sku", "category": "cat", "price": "p"},
        attrs=("cat",),
    )
    raw = spark.createDataFrame([("a,x,1.5",), (",y,2",)], f"{RAW_RECORD} string").selectExpr(
        "*", f"'f' as {SOURCE_FILE}"
    )
    rows = (
        raw.transform(split_fields(mapping.format, fields))
        .transform(to_canonical(mapping, ITEMS_SPEC, fields, BATCH))
        .collect()
    )
    assert (rows[0].item_id, rows[0].category, rows[0].price, rows[0].attrs) == ("a", "x", 1.5, {"cat": "x"})
    assert reasons(rows[1]) == ["missing item_id"]
