"""Stage evaluate: recommenders trained on real vs augmented data -> gold/eval_metrics + a report.

The evaluation is recommend/variants.py (every variant x model, scored per segment and compared with
real); the report (reports/<run id>/: metrics.json, report.md, charts) is report/evaluation.py, put
into the lake by report/publish.py.
"""

from __future__ import annotations

import logging

from recaug_spark.pipeline import Job
from recaug_spark.recommend.variants import evaluate
from recaug_spark.report.publish import evaluation_report
from recaug_spark.runs import StageResult
from recaug_spark.schema import EVAL_METRICS, GOLD_EVAL

log = logging.getLogger(__name__)


def run(job: Job) -> StageResult:
    """Train, rank and score every (variant, model); compare with real; write the table and the report."""
    spark, cfg, lake, ctx = job.spark, job.cfg, job.lake, job.ctx
    result = evaluate(spark, cfg, lake, run_id=ctx.run_id, inputs=dict(job.inputs))
    table = spark.createDataFrame(result.rows, EVAL_METRICS)
    lake.ensure(GOLD_EVAL, EVAL_METRICS, partition_by=("run_id",))
    written = lake.replace_where(GOLD_EVAL, table, f"run_id = '{ctx.run_id}'")  # run ids are validated
    report = evaluation_report(lake, ctx.run_id, [r.asDict() for r in result.rows], result.meta)
    variants, skipped = result.variants, result.skipped
    return StageResult(
        counts={"rows_written": written, "variants": len(variants), "test_users_excluded": result.excluded},
        message=f"{len(variants)} variant(s) x {len(cfg.evaluate.models)} model(s); report {report}"
        + (f"; skipped {', '.join(skipped)}" if skipped else ""),
    )
