"""One table's lines in a batch: split and mapped to canonical rows with a bad-line flag, and counted
while a write consumes them.

Every line is accounted for, per table (:class:`TableCounts`)::

    read = header lines + quarantined + valid
    valid = written + duplicates in the batch + duplicates already in bronze
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.sources.batches import TableInput
from recaug_spark.sources.records import IS_HEADER, REASONS, Batch, split_fields, to_canonical

BAD = "_rc_bad"


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


def map_lines(table_input: TableInput, batch: Batch, *, keep_raw: bool = False) -> DataFrame:
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


def audit_values(batch: Batch) -> dict[str, object]:
    return {"source": batch.source, "batch_id": batch.batch_id, "ingested_at": batch.ingested_at}


def audit_columns(batch: Batch) -> list[Column]:
    return [F.lit(v).alias(k) for k, v in audit_values(batch).items()]


def observe_lines(mapped: DataFrame, name: str) -> tuple[DataFrame, Observation]:
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


def line_counts(observation: Observation) -> TableCounts:
    stats = observation.get
    return TableCounts(
        read=stats["read"], header_lines=stats["header"], quarantined=stats["bad"], flagged=stats["flagged"]
    )


def valid_lines(mapped: DataFrame) -> DataFrame:
    header = F.col(IS_HEADER) if IS_HEADER in mapped.columns else F.lit(False)
    return mapped.where(~F.col(BAD) & ~header)


def canonical_columns(schema: T.StructType) -> list[str]:
    """The schema's columns minus the audit columns the batch fills in."""
    return [c for c in schema.fieldNames() if c not in ("source", "batch_id", "ingested_at")]
