"""Stage maintain: OPTIMIZE (compaction, optionally Z-ORDER by user_id) and VACUUM of the lake's tables.

Appends of small batches leave many small files; OPTIMIZE rewrites them into few large ones (a new
table version with the same rows), and VACUUM deletes the files no version within the retention
period needs any more. Retention shorter than 7 days is refused unless ``maintain.allow_short_retention``
is set: a reader still on an older snapshot, a time-travel query or an incremental stage comparing
with the version its last run read (incremental.py) would lose its files. A stage that then finds its
old version unreadable falls back to a full recompute, so a short retention costs time, never rows.

Delta's own retention check is switched off only around a VACUUM the config explicitly allowed, then
restored (Lake.vacuum).
"""

from __future__ import annotations

import logging

from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import Job
from recaug_spark.runs import StageResult
from recaug_spark.schema import LAKE_TABLES

log = logging.getLogger(__name__)


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
        counts[f"{table}.files_vacuumed"] = lake.vacuum(
            table, retention_hours=conf.retention_hours, listing_parallelism=listing
        )
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
