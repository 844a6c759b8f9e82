"""Stage ingest: one source's raw events, items and users -> bronze Delta tables; bad rows -> quarantine.

A batch is the set of input files not ingested before (bronze/ingested_files remembers each file by
path, size and modification time), or the demo shop of the configured spec. Every line is accounted
for, per table::

    read = header lines + quarantined + valid
    valid = written + duplicates in the batch + duplicates already in bronze

Rows are keyed deterministically (event_id from the source and the event's content, item_id, user_id):
events and quarantined lines are appended only when their key is new (Lake.insert_new), items and
users are upserted when their content changed, so ingesting the same data again adds nothing. A file
is recorded in bronze/ingested_files only after its rows are committed: a crash in between re-reads
the file on the next run and the keys absorb the repeat.

The lines are streamed, not cached: one pass writes the valid events (counting every line on the
way with an Observation), a second pass writes the invalid ones to quarantine. Parsing a line again
costs less than caching the parsed lines, and memory stays bounded for any batch size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import (
    CsvSource,
    DemoSource,
    EventMapping,
    IngestConfig,
    ItemMapping,
    ItemsFromEvents,
    RecaugConfig,
    TableMapping,
)
from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.runs import SKIPPED, RunContext, StageResult
from recaug_spark.schema import (
    BRONZE_EVENTS,
    BRONZE_FILES,
    BRONZE_ITEMS,
    BRONZE_QUARANTINE,
    BRONZE_USERS,
    EVENTS,
    INGESTED_FILES,
    QUARANTINE,
)
from recaug_spark.sources import demo
from recaug_spark.sources.files import InputFile, field_names, fingerprint, list_files, read_lines
from recaug_spark.sources.records import (
    EVENTS_SPEC,
    IS_HEADER,
    ITEMS_SPEC,
    RAW_FIELDS,
    RAW_RECORD,
    REASONS,
    SOURCE_FILE,
    USERS_SPEC,
    VALID_UTF8,
    Batch,
    TableSpec,
    default_event_key,
    split_fields,
    to_canonical,
    with_event_id,
)

log = logging.getLogger(__name__)

BAD = "_rc_bad"
ITEM_KEY = "_rc_item_id"
TABLES = {"events": BRONZE_EVENTS, "items": BRONZE_ITEMS, "users": BRONZE_USERS}


@dataclass(frozen=True)
class TableInput:
    """The raw lines of one canonical table in this batch, and how to read them."""

    spec: TableSpec
    mapping: TableMapping
    lines: DataFrame
    fields: tuple[str, ...]
    files: tuple[InputFile, ...]
    origin: str  # dotted config key of the mapping, for error messages


@dataclass
class TableCounts:
    """Where every line of one table went."""

    read: int = 0
    header_lines: int = 0
    quarantined: int = 0
    written: int = 0
    updated: int = 0
    duplicates_in_batch: int = 0
    duplicates_existing: int = 0
    flagged: int = 0

    def prefixed(self, table: str) -> dict[str, int]:
        """Counts as ``<table>_<name>`` keys for gold/pipeline_runs."""
        return {f"{table}_{k}": v for k, v in vars(self).items()}

    def summary(self, table: str) -> str:
        """One log line."""
        duplicates = self.duplicates_in_batch + self.duplicates_existing
        return (
            f"{table}: read {self.read:,} lines ({self.header_lines:,} header), wrote {self.written:,}"
            f"{f', updated {self.updated:,}' if self.updated else ''}, quarantined {self.quarantined:,}, "
            f"skipped {duplicates:,} duplicates ({self.duplicates_in_batch:,} within the batch, "
            f"{self.duplicates_existing:,} already in bronze), flagged {self.flagged:,}"
        )


@dataclass
class BatchPlan:
    """What this run ingests: the batch identity and one input per table with new data."""

    batch_id: str
    inputs: list[TableInput] = field(default_factory=list)
    note: str = ""


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Ingest the new data of ``cfg.source`` into bronze.

    Returns:
        Counts per table (see the module docstring); status ``skipped`` when there is nothing new.
    """
    plan = plan_batch(spark, cfg, lake)
    if not plan.inputs:
        log.warning("ingest: %s", plan.note)
        return StageResult(status=SKIPPED, message=plan.note, output_versions=lake.versions(_written_tables()))
    batch = Batch(source=cfg.source.name, batch_id=plan.batch_id, ingested_at=ctx.started_at, limits=cfg.ingest)
    log.info("ingest %s: batch %s, %d table input(s)", cfg.source.name, batch.batch_id, len(plan.inputs))
    counts: dict[str, int] = {}
    for table_input in plan.inputs:
        if table_input.spec is EVENTS_SPEC:
            result = _ingest_events(lake, table_input, batch, cfg)
        else:
            result = _ingest_entities(lake, table_input, batch, _split(table_input, batch))
        log.info("ingest %s", result.summary(table_input.spec.name))
        counts |= result.prefixed(table_input.spec.name)
    files = [(t.spec.name, f) for t in plan.inputs for f in t.files]
    _record_files(lake, files, batch)
    counts["files"] = len(files)
    return StageResult(counts=counts, output_versions=lake.versions(_written_tables()), message=plan.note)


def _written_tables() -> list[str]:
    return [*TABLES.values(), BRONZE_QUARANTINE, BRONZE_FILES]


# --------------------------------------------------------------------------------------------------
# Planning: which lines make up this batch
# --------------------------------------------------------------------------------------------------


def plan_batch(spark: SparkSession, cfg: RecaugConfig, lake: Lake) -> BatchPlan:
    """Find the new input of every table of the source."""
    if isinstance(cfg.source, DemoSource):
        return _plan_demo(spark, cfg.source, cfg.run.seed, lake, cfg.ingest)
    return _plan_files(spark, cfg.source, lake, cfg.ingest)


def _plan_demo(spark: SparkSession, source: DemoSource, seed: int, lake: Lake, limits: IngestConfig) -> BatchPlan:
    spec = demo.shop_spec(source, seed)
    identity = demo.spec_fingerprint(spec)
    plan = BatchPlan(batch_id=f"{source.name}-{identity}")
    generators = (
        (EVENTS_SPEC, demo.EVENTS_MAPPING, demo.event_lines),
        (ITEMS_SPEC, demo.ITEMS_MAPPING, demo.item_lines),
        (USERS_SPEC, demo.USERS_MAPPING, demo.user_lines),
    )
    done = _ingested(lake, source.name)
    for spec_, mapping, lines in generators:
        marker = InputFile(f"demo://{identity}/{spec_.name}", spec.events, 0)
        if marker in done.get(spec_.name, set()) and not limits.reprocess_files:
            continue
        assert mapping.format.columns is not None
        plan.inputs.append(
            TableInput(spec_, mapping, lines(spark, spec), mapping.format.columns, (marker,), f"demo.{spec_.name}")
        )
    if not plan.inputs:
        plan.note = f"the demo shop {identity} is already ingested; nothing to do"
    return plan


def _plan_files(spark: SparkSession, source: CsvSource, lake: Lake, limits: IngestConfig) -> BatchPlan:
    done = _ingested(lake, source.name)
    tables: list[tuple[TableSpec, TableMapping, tuple[str, ...], str]] = [
        (EVENTS_SPEC, source.events, source.events.path, "source.events")
    ]
    if source.items is not None and not isinstance(source.items, ItemsFromEvents):
        tables.append((ITEMS_SPEC, source.items, source.items.path, "source.items"))
    if source.users is not None:
        tables.append((USERS_SPEC, source.users, source.users.path, "source.users"))

    notes: list[str] = []
    selected: list[tuple[TableSpec, TableMapping, list[InputFile], str]] = []
    for spec, mapping, patterns, origin in tables:
        found = list_files(spark, patterns)
        new = found if limits.reprocess_files else [f for f in found if f not in done.get(spec.name, set())]
        empty = [f for f in new if f.size == 0]  # a batch delivered empty: nothing to read, not an error
        if empty:
            notes.append(f"{len(empty)} empty file(s) of {origin} skipped")
            new = [f for f in new if f.size > 0]
        if not found:
            notes.append(f"no input files match {origin}.path {list(patterns)}")
        elif not new:
            notes.append(f"all {len(found) - len(empty)} non-empty file(s) of {origin} were ingested before")
        else:
            selected.append((spec, mapping, new, origin))
    batch_files = [f for _, _, files, _ in selected for f in files]
    plan = BatchPlan(batch_id=f"{source.name}-{fingerprint(batch_files)}", note="; ".join(notes))
    for spec, mapping, files, origin in selected:
        fields = field_names(spark, files, mapping.format)
        plan.inputs.append(TableInput(spec, mapping, read_lines(spark, files), fields, tuple(files), origin))
    return plan


def _ingested(lake: Lake, source: str) -> dict[str, set[InputFile]]:
    """Files already ingested, per table."""
    if not lake.exists(BRONZE_FILES):
        return {}
    rows = (
        lake.read(BRONZE_FILES)
        .where(F.col("source") == source)
        .select("table_name", "path", "size", "modification_time")
        .collect()
    )
    done: dict[str, set[InputFile]] = {}
    for r in rows:
        done.setdefault(r.table_name, set()).add(InputFile(r.path, r.size, r.modification_time))
    return done


def _record_files(lake: Lake, files: Sequence[tuple[str, InputFile]], batch: Batch) -> None:
    if not files:
        return
    rows = lake.spark.createDataFrame(
        [
            (batch.source, table, f.path, f.size, f.modification_time, batch.batch_id, batch.ingested_at)
            for table, f in files
        ],
        INGESTED_FILES,
    )
    lake.insert_new(
        BRONZE_FILES,
        rows,
        keys=("source", "table_name", "path", "size", "modification_time"),
        schema=INGESTED_FILES,
    )


# --------------------------------------------------------------------------------------------------
# Writing one table
# --------------------------------------------------------------------------------------------------


def _split(table_input: TableInput, batch: Batch, *, keep_raw: bool = False) -> DataFrame:
    """Split and map the raw lines of ``table_input``; adds ``_rc_bad``."""
    assert table_input.mapping.format is not None  # file and demo mappings always have one
    split = table_input.lines.transform(split_fields(table_input.mapping.format, table_input.fields))
    mapped = split.transform(
        to_canonical(
            table_input.mapping,
            table_input.spec,
            table_input.fields,
            batch,
            keep_raw=keep_raw,
            origin=table_input.origin,
        )
    )
    return mapped.withColumn(BAD, F.col(REASONS) != "")


def _audit_values(batch: Batch) -> dict[str, object]:
    return {"source": batch.source, "batch_id": batch.batch_id, "ingested_at": batch.ingested_at}


def _audit_columns(batch: Batch) -> list[Column]:
    return [F.lit(v).alias(k) for k, v in _audit_values(batch).items()]


def _observe_lines(mapped: DataFrame, name: str) -> tuple[DataFrame, Observation]:
    """Count read, header, bad and flagged lines while a write consumes ``mapped`` (no extra pass)."""
    header = F.col(IS_HEADER) if IS_HEADER in mapped.columns else F.lit(False)
    flagged = (F.size("quality_flags") > 0) if "quality_flags" in mapped.columns else F.lit(False)
    observation = Observation(f"lines:{name}")
    observed = mapped.observe(
        observation,
        F.count(F.lit(1)).alias("read"),
        F.count_if(header).alias("header"),
        F.count_if(F.col(BAD) & ~header).alias("bad"),
        F.count_if(~F.col(BAD) & ~header & flagged).alias("flagged"),
    )
    return observed, observation


def _line_counts(observation: Observation) -> TableCounts:
    stats = observation.get
    return TableCounts(
        read=stats["read"], header_lines=stats["header"], quarantined=stats["bad"], flagged=stats["flagged"]
    )


def _valid(mapped: DataFrame) -> DataFrame:
    header = F.col(IS_HEADER) if IS_HEADER in mapped.columns else F.lit(False)
    return mapped.where(~F.col(BAD) & ~header)


def _ingest_events(lake: Lake, table_input: TableInput, batch: Batch, cfg: RecaugConfig) -> TableCounts:
    """Stream the lines twice: valid events into bronze/events (deduplicated, new keys only), then the
    invalid ones into quarantine. Parsing is cheaper than caching the parsed lines, and the counts are
    observed while the writes run."""
    mapping = table_input.mapping
    assert isinstance(mapping, EventMapping)
    items_from_events = isinstance(cfg.source, CsvSource) and isinstance(cfg.source.items, ItemsFromEvents)
    mapped = (
        _split(table_input, batch, keep_raw=items_from_events)
        .withColumn("event_date", F.to_date("ts"))
        .transform(with_event_id(batch.source, default_event_key(mapping)))
    )
    observed, lines = _observe_lines(mapped, "events")
    valid = _valid(observed).select(*_canonical_columns(EVENTS))
    written = lake.insert_new(
        BRONZE_EVENTS,
        valid,
        keys=("event_id",),
        schema=EVENTS,
        partition_by=("event_date",),
        constants=_audit_values(batch),
    )
    counts = _line_counts(lines)
    counts.written = written.inserted
    counts.duplicates_in_batch = counts.read - counts.header_lines - counts.quarantined - written.distinct
    counts.duplicates_existing = written.distinct - written.inserted
    _quarantine(lake, mapped, batch, EVENTS_SPEC.name, counts)
    if items_from_events:
        assert isinstance(cfg.source, CsvSource) and isinstance(cfg.source.items, ItemsFromEvents)
        items = _items_from_events(_valid(mapped), cfg.source.items, table_input, batch)
        derived = _ingest_entities(lake, items.input, batch, items.mapped, dedup="mode")
        log.info("ingest %s", derived.summary("items (from event rows)"))
    return counts


def _canonical_columns(schema: T.StructType) -> list[str]:
    """The schema's columns minus the audit columns the batch fills in."""
    return [c for c in schema.fieldNames() if c not in ("source", "batch_id", "ingested_at")]


@dataclass(frozen=True)
class _DerivedItems:
    input: TableInput
    mapped: DataFrame


def _items_from_events(valid: DataFrame, spec: ItemsFromEvents, events: TableInput, batch: Batch) -> _DerivedItems:
    """Items described by fields of the valid event rows (e.g. Taobao's category_id)."""
    fields = (ITEM_KEY, *events.fields)
    mapping = ItemMapping(columns={"item_id": ITEM_KEY, **spec.from_events})
    lines = valid.select(RAW_RECORD, SOURCE_FILE, F.col("item_id").alias(ITEM_KEY), f"{RAW_FIELDS}.*")
    table_input = TableInput(ITEMS_SPEC, mapping, lines, fields, (), "source.items.from_events")
    mapped = lines.transform(
        to_canonical(mapping, ITEMS_SPEC, fields, batch, check_line=False, origin=table_input.origin)
    )
    return _DerivedItems(table_input, mapped.withColumn(BAD, F.col(REASONS) != ""))


def _ingest_entities(
    lake: Lake, table_input: TableInput, batch: Batch, mapped: DataFrame, *, dedup: str = "last_line"
) -> TableCounts:
    """Upsert items or users keyed by their id, then quarantine the invalid lines.

    A key seen several times in the batch is resolved deterministically: by its greatest raw line
    (``last_line``), or column by column by the most frequent value, smallest on ties (``mode``, for
    attributes repeated on event rows).
    """
    spec = table_input.spec
    columns = _canonical_columns(spec.schema)
    others = [c for c in columns if c != spec.key]
    if dedup == "mode":
        aggregates = [F.mode(c, deterministic=True).alias(c) for c in others if c != "attrs"]
        aggregates.append(F.first("attrs").alias("attrs"))  # derived items carry no attrs
    else:
        latest = F.max_by(F.struct(*others), F.col(RAW_RECORD))
        aggregates = [latest.getField(c).alias(c) for c in others]
    observed, lines = _observe_lines(mapped, spec.name)
    distinct = Observation(f"distinct:{spec.name}")
    unique = (
        _valid(observed)
        .groupBy(spec.key)
        .agg(*aggregates)
        .select(*columns, *_audit_columns(batch))
        .observe(distinct, F.count(F.lit(1)).alias("rows"))
    )
    merged = lake.upsert(TABLES[spec.name], unique, keys=(spec.key,), schema=spec.schema, compare=others)
    counts = _line_counts(lines)
    n_valid, n_unique = counts.read - counts.header_lines - counts.quarantined, distinct.get["rows"]
    counts.written, counts.updated = merged.inserted, merged.updated
    counts.duplicates_in_batch = n_valid - n_unique
    counts.duplicates_existing = n_unique - merged.inserted - merged.updated
    _quarantine(lake, mapped, batch, spec.name, counts)
    return counts


def _quarantine(lake: Lake, mapped: DataFrame, batch: Batch, table_name: str, first_pass: TableCounts) -> None:
    """Insert the invalid lines into bronze/quarantine with their raw content and reasons.

    The record id hashes the source, table, file, raw line and the occurrence number of that exact
    line in that file, so identical bad lines are all kept, and re-reading a file adds none twice.

    This pass counts the lines again and must see what the first pass saw; an input that changed while
    it was read is an error (rerun: the files are recorded only after a complete batch). Observing also
    keeps Spark from pushing the filter below the parsing, where it would parse every line twice.
    When the first pass found no invalid line, there is nothing to read again.

    Raises:
        InputError: when the two passes saw different lines.
    """
    if first_pass.quarantined == 0:
        return
    observed, lines = _observe_lines(mapped, f"{table_name}-quarantine")
    header = F.col(IS_HEADER) if IS_HEADER in mapped.columns else F.lit(False)
    bad = observed.where(F.col(BAD) & ~header)
    limit = batch.limits.max_raw_length
    raw = F.col(RAW_RECORD)
    cut = F.length(raw) > limit
    valid_utf8 = F.col(VALID_UTF8) if VALID_UTF8 in mapped.columns else F.lit(True)
    occurrence = F.row_number().over(Window.partitionBy(SOURCE_FILE, RAW_RECORD).orderBy(RAW_RECORD))
    record_id = F.sha2(
        F.concat_ws(
            "\u001f",
            F.lit(batch.source),
            F.lit(table_name),
            F.coalesce(F.col(SOURCE_FILE), F.lit("")),
            raw,
            occurrence.cast("string"),
        ),
        256,
    )
    reason = F.col(REASONS)
    rows = bad.select(
        F.substring(record_id, 1, 32).alias("record_id"),
        F.lit(batch.source).alias("source"),
        F.lit(table_name).alias("table_name"),
        F.col(SOURCE_FILE).alias("source_file"),
        F.expr(f"make_valid_utf8(substring({RAW_RECORD}, 1, {limit}))").alias("raw_record"),
        F.when(~valid_utf8 | cut, F.base64(F.substring(raw.cast("binary"), 1, limit))).alias("raw_base64"),
        F.when(cut, F.concat(reason, F.lit(f"; raw record cut to {limit} characters")))
        .otherwise(reason)
        .alias("reason"),
        F.lit(batch.batch_id).alias("batch_id"),
        F.lit(batch.ingested_at).alias("ingested_at"),
    )
    lake.insert_new(BRONZE_QUARANTINE, rows, keys=("record_id",), schema=QUARANTINE)
    second_pass = _line_counts(lines)
    if (second_pass.read, second_pass.quarantined) != (first_pass.read, first_pass.quarantined):
        raise InputError(
            f"the {table_name} input changed while it was read ({first_pass.read:,} then {second_pass.read:,} "
            f"lines); nothing was recorded as ingested, rerun once the files are complete"
        )
