"""Batch planning: the input of one ingest run per table (files not ingested before, or the demo shop).

A batch is the set of input files not ingested before (bronze/ingested_files remembers each file by
path, size and modification time), or the demo shop of the configured spec. A file is recorded in
bronze/ingested_files (:func:`record_files`) only after its rows are committed: a crash in between
re-reads the file on the next run and the row keys absorb the repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import (
    CsvSource,
    DemoSource,
    EventFiles,
    IngestConfig,
    ItemFiles,
    ItemsFromEvents,
    RecaugConfig,
    TableMapping,
    UserFiles,
)
from recaug_spark.lake import Lake
from recaug_spark.schema import BRONZE_EVENTS, BRONZE_FILES, BRONZE_ITEMS, BRONZE_USERS, INGESTED_FILES
from recaug_spark.sources import demo
from recaug_spark.sources.files import InputFile, field_names, fingerprint, list_files, read_lines
from recaug_spark.sources.records import EVENTS_SPEC, ITEMS_SPEC, USERS_SPEC, Batch, TableSpec

TABLES = {"events": BRONZE_EVENTS, "items": BRONZE_ITEMS, "users": BRONZE_USERS}  # canonical table -> bronze


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
class BatchPlan:
    """What this run ingests: the batch identity and one input per table with new data."""

    batch_id: str
    inputs: list[TableInput] = field(default_factory=list)
    note: str = ""


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
        assert mapping.format is not None and mapping.format.columns is not None
        plan.inputs.append(
            TableInput(spec_, mapping, lines(spark, spec), mapping.format.columns, (marker,), f"demo.{spec_.name}")
        )
    if not plan.inputs:
        plan.note = f"the demo shop {identity} is already ingested; nothing to do"
    return plan


def _plan_files(spark: SparkSession, source: CsvSource, lake: Lake, limits: IngestConfig) -> BatchPlan:
    done = _ingested(lake, source.name)
    tables: list[tuple[TableSpec, EventFiles | ItemFiles | UserFiles, tuple[str, ...], str]] = [
        (EVENTS_SPEC, source.events, source.events.path, "source.events")
    ]
    if source.items is not None and not isinstance(source.items, ItemsFromEvents):
        tables.append((ITEMS_SPEC, source.items, source.items.path, "source.items"))
    if source.users is not None:
        tables.append((USERS_SPEC, source.users, source.users.path, "source.users"))

    notes: list[str] = []
    selected: list[tuple[TableSpec, EventFiles | ItemFiles | UserFiles, list[InputFile], str]] = []
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


def record_files(lake: Lake, files: Sequence[tuple[str, InputFile]], batch: Batch) -> None:
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
