"""Ingest one table of a batch into bronze: events keyed and inserted when new, items and users upserted
(entities.py), bad lines quarantined (quarantine.py).

Rows are keyed deterministically (event_id from the source and the event's content, item_id, user_id):
events and quarantined lines are appended only when their key is new (Lake.insert_new), items and
users are upserted when their content changed, so ingesting the same data again adds nothing.

The lines are streamed, not cached: one pass writes the valid events (counting every line on the
way with an Observation), a second pass writes the invalid ones to quarantine. Parsing a line again
costs less than caching the parsed lines, and memory stays bounded for any batch size.
"""

from __future__ import annotations

import logging

from pyspark.sql import functions as F

from recaug_spark.config import CsvSource, EventMapping, ItemsFromEvents, RecaugConfig
from recaug_spark.lake import Lake
from recaug_spark.schema import BRONZE_EVENTS, EVENTS
from recaug_spark.sources.batches import TableInput
from recaug_spark.sources.entities import derived_items, ingest_entities
from recaug_spark.sources.lines import (
    TableCounts,
    audit_values,
    canonical_columns,
    line_counts,
    map_lines,
    observe_lines,
    valid_lines,
)
from recaug_spark.sources.quarantine import quarantine_lines
from recaug_spark.sources.records import EVENTS_SPEC, Batch, default_event_key, with_event_id

log = logging.getLogger(__name__)


def ingest_table(lake: Lake, table_input: TableInput, batch: Batch, cfg: RecaugConfig) -> TableCounts:
    """Ingest the lines of one table of the batch (events, or items and users); where every line went."""
    if table_input.spec is EVENTS_SPEC:
        return ingest_events(lake, table_input, batch, cfg)
    return ingest_entities(lake, table_input, batch, map_lines(table_input, batch))


def ingest_events(lake: Lake, table_input: TableInput, batch: Batch, cfg: RecaugConfig) -> TableCounts:
    """Stream the lines twice: valid events into bronze/events (deduplicated, new keys only), then the
    invalid ones into quarantine. Parsing is cheaper than caching the parsed lines, and the counts are
    observed while the writes run."""
    mapping = table_input.mapping
    assert isinstance(mapping, EventMapping)
    items_from_events = isinstance(cfg.source, CsvSource) and isinstance(cfg.source.items, ItemsFromEvents)
    mapped = (
        map_lines(table_input, batch, keep_raw=items_from_events)
        .withColumn("event_date", F.to_date("ts"))
        .transform(with_event_id(batch.source, default_event_key(mapping)))
    )
    observed, lines = observe_lines(mapped, "events")
    valid = valid_lines(observed).select(*canonical_columns(EVENTS))
    written = lake.insert_new(
        BRONZE_EVENTS,
        valid,
        keys=("event_id",),
        schema=EVENTS,
        partition_by=("event_date",),
        constants=audit_values(batch),
    )
    counts = line_counts(lines)
    counts.written = written.inserted
    counts.duplicates_in_batch = counts.read - counts.header_lines - counts.quarantined - written.distinct
    counts.duplicates_existing = written.distinct - written.inserted
    quarantine_lines(lake, mapped, batch, EVENTS_SPEC.name, counts)
    if items_from_events:
        assert isinstance(cfg.source, CsvSource) and isinstance(cfg.source.items, ItemsFromEvents)
        items = derived_items(valid_lines(mapped), cfg.source.items, table_input, batch)
        derived = ingest_entities(lake, items.input, batch, items.mapped, dedup="mode")
        log.info("ingest %s", derived.summary("items (from event rows)"))
    return counts
