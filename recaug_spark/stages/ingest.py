"""Stage ingest: one source's raw events, items and users -> bronze Delta tables; bad rows -> quarantine.

The work is in sources/: batches.py (what is new: files not ingested before, or the demo shop),
ingest.py (one table, every line accounted for), entities.py (items and users, one row per key) and
quarantine.py (invalid lines with their raw content).
"""

from __future__ import annotations

import logging

from recaug_spark.pipeline import Job
from recaug_spark.runs import SKIPPED, StageResult
from recaug_spark.sources.batches import plan_batch, record_files
from recaug_spark.sources.ingest import ingest_table
from recaug_spark.sources.records import Batch

log = logging.getLogger(__name__)


def run(job: Job) -> StageResult:
    """Ingest the new data of ``cfg.source`` into bronze.

    Returns:
        Counts per table (see sources/lines.py); status ``skipped`` when there is nothing new.
    """
    cfg, lake = job.cfg, job.lake
    plan = plan_batch(job.spark, cfg, lake)
    if not plan.inputs:
        log.warning("ingest: %s", plan.note)
        return StageResult(status=SKIPPED, message=plan.note)
    batch = Batch(source=cfg.source.name, batch_id=plan.batch_id, ingested_at=job.ctx.started_at, limits=cfg.ingest)
    log.info("ingest %s: batch %s, %d table input(s)", cfg.source.name, batch.batch_id, len(plan.inputs))
    counts: dict[str, int] = {}
    for table_input in plan.inputs:
        result = ingest_table(lake, table_input, batch, cfg)
        log.info("ingest %s", result.summary(table_input.spec.name))
        counts |= result.prefixed(table_input.spec.name)
    files = [(t.spec.name, f) for t in plan.inputs for f in t.files]
    record_files(lake, files, batch)
    counts["files"] = len(files)
    return StageResult(counts=counts, message=plan.note)
