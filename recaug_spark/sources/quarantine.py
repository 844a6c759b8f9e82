"""Quarantine rows: a table's invalid lines into bronze/quarantine, with their raw content and reasons."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.schema import BRONZE_QUARANTINE, QUARANTINE
from recaug_spark.sources.lines import BAD, TableCounts, line_counts, observe_lines
from recaug_spark.sources.records import IS_HEADER, RAW_RECORD, REASONS, SOURCE_FILE, VALID_UTF8, Batch


def quarantine_lines(lake: Lake, mapped: DataFrame, batch: Batch, table_name: str, first_pass: TableCounts) -> None:
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
    observed, lines = observe_lines(mapped, f"{table_name}-quarantine")
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
    second_pass = line_counts(lines)
    if (second_pass.read, second_pass.quarantined) != (first_pass.read, first_pass.quarantined):
        raise InputError(
            f"the {table_name} input changed while it was read ({first_pass.read:,} then {second_pass.read:,} "
            f"lines); nothing was recorded as ingested, rerun once the files are complete"
        )
