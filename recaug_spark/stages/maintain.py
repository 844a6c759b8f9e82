"""Stage maintain: OPTIMIZE (compaction, optionally Z-ORDER by user_id) and VACUUM of the lake's tables.

Appends of small batches leave many small files; OPTIMIZE rewrites them into few large ones (a new
table version with the same rows), and VACUUM deletes the files no version within the retention
period needs any more. Retention shorter than 7 days is refused unless ``maintain.allow_short_retention``
is set: a reader still on an older snapshot, a time-travel query or an incremental stage comparing
with the version its last run read (incremental.py) would lose its files. A stage that then finds its
old version unreadable falls back to a full recompute, so a short retention costs time, never rows.

Delta's own retention check (``spark.databricks.delta.retentionDurationCheck.enabled``) is switched off
only around a VACUUM the config explicitly allowed, then restored.
"""

from __future__ import annotations

import logging

from recaug_spark.config import SAFE_RETENTION_HOURS
from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import Job
from recaug_spark.runs import StageResult
from recaug_spark.schema import LAKE_TABLES
from recaug_spark.session import session_settings

log = logging.getLogger(__name__)

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"
LISTING = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def run(job: Job) -> StageResult:
    """Compact and vacuum every configured table that exists; counts per table."""
    spark, lake, conf = job.spark, job.lake, job.cfg.maintain
    unknown = sorted(set(conf.tables or ()) - set(LAKE_TABLES))
    if unknown:
        raise ConfigError("maintain.tables", f"unknown table(s) {unknown}; the lake's tables are {list(LAKE_TABLES)}")
    tables = [t for t in (conf.tables or LAKE_TABLES) if lake.exists(t)]
    listing = conf.listing_parallelism or 4 * spark.sparkContext.defaultParallelism
    counts: dict[str, int] = {}
    for table in tables:
        if conf.optimize:
            counts.update(_optimize(lake, table, zorder=conf.zorder_by_user and _has_user_id(lake, table)))
        counts[f"{table}.files_vacuumed"] = _vacuum(lake, table, conf.retention_hours, listing)
    compacted = sum(v for k, v in counts.items() if k.endswith(".files_compacted"))
    vacuumed = sum(v for k, v in counts.items() if k.endswith(".files_vacuumed"))
    message = (
        f"{len(tables)} table(s): {compacted} small file(s) compacted, {vacuumed} file(s) older than "
        f"{conf.retention_hours:g} h vacuumed"
    )
    return StageResult(counts=counts, output_versions=lake.versions(tables), message=message)


def _has_user_id(lake: Lake, table: str) -> bool:
    return "user_id" in lake.read(table).columns


def _optimize(lake: Lake, table: str, *, zorder: bool) -> dict[str, int]:
    """OPTIMIZE one table; the files it replaced and wrote (Delta's operation metrics)."""
    values = lake.optimize(table, zorder_by=("user_id",) if zorder else ())
    removed, added = int(values.get("numFilesRemoved", 0)), int(values.get("numFilesAdded", 0))
    log.info(
        "%s: OPTIMIZE%s replaced %d file(s) with %d", table, " ZORDER BY user_id" if zorder else "", removed, added
    )
    return {f"{table}.files_compacted": removed, f"{table}.files_written": added}


def _vacuum(lake: Lake, table: str, retention_hours: float, listing_parallelism: int) -> int:
    """VACUUM one table; the number of files deleted (from the VACUUM END commit's metrics).

    Delta honours a retention argument only when it is 0; any other retention is the table's
    ``delta.deletedFileRetentionDuration``, so that property is set to the configured one first (a
    metadata commit, only when it differs). VACUUM lists files in
    ``spark.sql.sources.parallelPartitionDiscovery.parallelism`` tasks (10,000 by default: 30 s for a
    tiny table in local mode), so that is set to a size that fits the cluster while it runs.
    """
    if retention_hours > 0:
        wanted = f"interval {retention_hours:g} hours"
        if lake.properties(table).get(RETENTION_PROPERTY) != wanted:
            lake.set_property(table, RETENTION_PROPERTY, wanted)
    settings = {LISTING: str(listing_parallelism)}
    if retention_hours < SAFE_RETENTION_HOURS:  # only reachable with maintain.allow_short_retention
        settings[RETENTION_CHECK] = "false"
    with session_settings(lake.spark, settings):
        return lake.vacuum(table, retention_hours=0.0 if retention_hours == 0 else None)
