"""Entity dedup: items and users upserted into bronze, one row per key however often the batch repeats it."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from recaug_spark.config import ItemMapping, ItemsFromEvents
from recaug_spark.lake import Lake
from recaug_spark.sources.batches import TABLES, TableInput
from recaug_spark.sources.lines import (
    BAD,
    TableCounts,
    audit_columns,
    canonical_columns,
    line_counts,
    observe_lines,
    valid_lines,
)
from recaug_spark.sources.quarantine import quarantine_lines
from recaug_spark.sources.records import ITEMS_SPEC, RAW_FIELDS, RAW_RECORD, REASONS, SOURCE_FILE, Batch, to_canonical

ITEM_KEY = "_rc_item_id"


@dataclass(frozen=True)
class DerivedItems:
    """Items described by event rows: their table input and mapped lines (with ``_rc_bad``)."""

    input: TableInput
    mapped: DataFrame


def derived_items(valid: DataFrame, spec: ItemsFromEvents, events: TableInput, batch: Batch) -> DerivedItems:
    """Items described by fields of the valid event rows (e.g. Taobao's category_id)."""
    fields = (ITEM_KEY, *events.fields)
    mapping = ItemMapping(columns={"item_id": ITEM_KEY, **spec.from_events})
    lines = valid.select(RAW_RECORD, SOURCE_FILE, F.col("item_id").alias(ITEM_KEY), f"{RAW_FIELDS}.*")
    table_input = TableInput(ITEMS_SPEC, mapping, lines, fields, (), "source.items.from_events")
    mapped = lines.transform(
        to_canonical(mapping, ITEMS_SPEC, fields, batch, check_line=False, origin=table_input.origin)
    )
    return DerivedItems(table_input, mapped.withColumn(BAD, F.col(REASONS) != ""))


def ingest_entities(
    lake: Lake, table_input: TableInput, batch: Batch, mapped: DataFrame, *, dedup: str = "last_line"
) -> TableCounts:
    """Upsert items or users keyed by their id, then quarantine the invalid lines.

    A key seen several times in the batch is resolved deterministically: by its greatest raw line
    (``last_line``), or column by column by the most frequent value, smallest on ties (``mode``, for
    attributes repeated on event rows).
    """
    spec = table_input.spec
    columns = canonical_columns(spec.schema)
    others = [c for c in columns if c != spec.key]
    if dedup == "mode":
        aggregates = [F.mode(c, deterministic=True).alias(c) for c in others if c != "attrs"]
        aggregates.append(F.first("attrs").alias("attrs"))  # derived items carry no attrs
    else:
        latest = F.max_by(F.struct(*others), F.col(RAW_RECORD))
        aggregates = [latest.getField(c).alias(c) for c in others]
    observed, lines = observe_lines(mapped, spec.name)
    distinct = Observation(f"distinct:{spec.name}")
    unique = (
        valid_lines(observed)
        .groupBy(spec.key)
        .agg(*aggregates)
        .select(*columns, *audit_columns(batch))
        .observe(distinct, F.count(F.lit(1)).alias("rows"))
    )
    merged = lake.upsert(TABLES[spec.name], unique, keys=(spec.key,), schema=spec.schema, compare=others)
    counts = line_counts(lines)
    n_valid, n_unique = counts.read - counts.header_lines - counts.quarantined, distinct.get["rows"]
    counts.written, counts.updated = merged.inserted, merged.updated
    counts.duplicates_in_batch = n_valid - n_unique
    counts.duplicates_existing = n_unique - merged.inserted - merged.updated
    quarantine_lines(lake, mapped, batch, spec.name, counts)
    return counts
