"""Stage refresh (first form): every stage in order for one config, under one run id.

ingest -> preprocess -> split -> augment -> train-gan -> generate -> evaluate. Each stage keeps its own
skip rules (unchanged inputs and config: nothing recomputed), records its own row in gold/pipeline_runs
under the refresh's run id, and a failure stops the refresh there (the stages before it stand). The
incremental, resumable form (``--from``, ``--only``, new data since the last success) is issue #7.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from recaug_spark import storage
from recaug_spark.config import RecaugConfig
from recaug_spark.lake import Lake
from recaug_spark.runs import RunContext, StageResult

log = logging.getLogger(__name__)

ORDER = ("ingest", "preprocess", "split", "augment", "train-gan", "generate", "evaluate")


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Run every stage of ORDER; the result names each stage's status and where the report is."""
    from recaug_spark.pipeline import execute  # the dispatcher imports stages lazily; so does refresh

    statuses = {}
    for name in ORDER:
        statuses[name] = execute(name, cfg, spark, run_id=ctx.run_id).status
    report = storage.join(lake.root, "reports", ctx.run_id, "report.md")
    summary = ", ".join(f"{name} {status}" for name, status in statuses.items())
    return StageResult(counts={}, message=f"{summary}; evaluation report: {report}")
