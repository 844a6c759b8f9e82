"""Stage policy: which augmentation, if any, lifts which users of each model -> gold/augment_policy.

The search is recaug_spark/policy/run.py, on a slice of the training period only. With
``policy.mode: fixed``, without the variant real+policy in ``evaluate.variants``, or with no model to
search, the stage does nothing.
"""

from __future__ import annotations

import logging

from recaug_spark.config import RecaugConfig
from recaug_spark.pipeline import Job
from recaug_spark.policy.run import search_policy
from recaug_spark.recommend.evaluate import POLICY
from recaug_spark.report.publish import policy_report
from recaug_spark.runs import StageResult
from recaug_spark.schema import AUGMENT_POLICY, GOLD_POLICY

log = logging.getLogger(__name__)


def idle(cfg: RecaugConfig) -> str | None:
    """Why there is nothing to do: ``policy.mode: fixed``, no op, or neither a search (it needs a
    real+policy variant to apply it, a search costing up to ``policy.budget`` trainings, and a model to
    search) nor an ablation (``policy.ablation``)."""
    if cfg.policy.mode == "fixed":
        return "policy.mode is fixed: no search"
    if not cfg.augment.ops:
        return "augment.ops is empty: nothing to search"
    if cfg.policy.ablation:
        return None
    if POLICY not in cfg.evaluate.variants:
        return f"evaluate.variants has no {POLICY}: no search"
    if not cfg.policy_models:
        return "no model of evaluate.models can be searched (so far: SASRec): no search"
    return None


def run(job: Job) -> StageResult:
    """Search each model's policy; write its evidence and decision for this run."""
    spark, cfg, lake, ctx = job.spark, job.cfg, job.lake, job.ctx
    policy = search_policy(spark, cfg, lake, run_id=ctx.run_id)
    lake.ensure(GOLD_POLICY, AUGMENT_POLICY, partition_by=("run_id",))
    written = lake.replace_where(
        GOLD_POLICY, spark.createDataFrame(policy.rows, AUGMENT_POLICY), f"run_id = '{ctx.run_id}'"
    )  # run ids are validated
    report = policy_report(lake, ctx.run_id, [r.asDict() for r in policy.rows], policy.meta)
    decisions = "; ".join(f"{d.model}: {d.reason}" for d in policy.decisions)
    return StageResult(
        counts={"rows_written": written, "candidates": policy.meta["candidates"]},
        message=f"{decisions}; report {report}",
    )
