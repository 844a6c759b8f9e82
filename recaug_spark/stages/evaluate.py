"""Stage evaluate: recommenders trained on real vs augmented data -> gold/eval_metrics + a report.

The evaluation is recommend/variants.py (every variant x model, scored per segment and compared with
real); the report (reports/<run id>/: metrics.json, report.md, charts) is report/evaluation.py, put
into the lake by report/publish.py.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from recaug_spark import storage
from recaug_spark.config import RecaugConfig
from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.recommend.variants import evaluate
from recaug_spark.report.publish import evaluation_report
from recaug_spark.runs import SKIPPED, RunContext, StageResult, unchanged_since_success
from recaug_spark.schema import EVAL_METRICS, GOLD_AUGMENTED, GOLD_EVAL, GOLD_SYNTHETIC, SILVER_EVENTS, SILVER_SPLIT

log = logging.getLogger(__name__)

INPUTS = (SILVER_EVENTS, SILVER_SPLIT, GOLD_AUGMENTED, GOLD_SYNTHETIC)


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Train, rank and score every (variant, model); compare with real; write the table and the report."""
    for table in (SILVER_EVENTS, SILVER_SPLIT):
        if not lake.exists(table):
            raise InputError(f"{lake.path(table)} does not exist; run `recaug preprocess` and `recaug split` first")
    inputs = lake.versions(INPUTS)
    previous = unchanged_since_success(lake, "evaluate", inputs=inputs, config_hash=ctx.config_hash)
    if previous is not None and lake.has_rows(GOLD_EVAL, "run_id", previous.run_id):
        report = storage.join(lake.root, "reports", previous.run_id, "report.md")
        return StageResult(
            status=SKIPPED,
            message=f"inputs and config unchanged since run {previous.run_id}: its metrics stand; report {report}",
            input_versions=inputs,
            output_versions=lake.versions([GOLD_EVAL]),
        )
    result = evaluate(spark, cfg, lake, run_id=ctx.run_id, inputs=inputs)
    table = spark.createDataFrame(result.rows, EVAL_METRICS)
    lake.ensure(GOLD_EVAL, EVAL_METRICS, partition_by=("run_id",))
    written = lake.replace_where(GOLD_EVAL, table, f"run_id = '{ctx.run_id}'")  # run ids are validated
    report = evaluation_report(lake, ctx.run_id, [r.asDict() for r in result.rows], result.meta)
    variants, skipped = result.variants, result.skipped
    return StageResult(
        counts={"rows_written": written, "variants": len(variants), "test_users_excluded": result.excluded},
        input_versions=result.meta["inputs"],
        output_versions=lake.versions([GOLD_EVAL]),
        message=f"{len(variants)} variant(s) x {len(cfg.evaluate.models)} model(s); report {report}"
        + (f"; skipped {', '.join(skipped)}" if skipped else ""),
    )
