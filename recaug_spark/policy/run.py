"""The policy search of one run, in Spark and on the driver: carve the policy slice from the training
period (policy/slices.py), augment the fit rows once with every op spec of the grid (augment/apply.py),
then for each model of ``policy.models`` train ``real`` and the candidates by successive
halving (policy/search.py; SASRec's arms: policy/sasrec.py) and decide (policy/decide.py).

The result is the evidence of every rung, one row per (model, candidate, segment, steps), the decision
per model in words, and what the search cost against one full training on ``real`` (steps and seconds).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession

from recaug_spark.augment import ops
from recaug_spark.augment.apply import augment
from recaug_spark.augment.table import read_training_rows
from recaug_spark.config import AugmentOp, RecaugConfig
from recaug_spark.lake import Lake
from recaug_spark.policy import candidates, halving, search, slices
from recaug_spark.policy import sasrec as seq
from recaug_spark.policy.ablation import ablate
from recaug_spark.policy.decide import AA, CONFIRMATION, Decision, Evidence, decide, spread_of
from recaug_spark.recommend.evaluate import POLICY, ablation_names
from recaug_spark.recommend.sasrec.train import Trainer
from recaug_spark.session import storage_level

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """One run's search: gold/augment_policy's rows, each model's decision and the search's cost."""

    rows: list[Row]
    decisions: list[Decision]
    meta: dict[str, Any]


def search_policy(spark: SparkSession, cfg: RecaugConfig, lake: Lake, *, run_id: str) -> Policy:
    """Search every model of ``cfg.policy_models`` (when evaluate has the real+policy variant to apply
    it) on the lake's training period, and ablate each op for the models of ``policy.ablation``; nothing of
    the test period is read (silver/split's training rows only)."""
    conf = cfg.policy
    recipe = cfg.augment.ops
    all_specs = candidates.specs(recipe, conf)
    grid = candidates.grid(recipe, conf)
    level = storage_level(cfg.spark)
    train = read_training_rows(lake, all_specs)
    carved = slices.carve(
        train, cfg.split.mode, cold_max=cfg.split.cold_max, short_max=cfg.evaluate.short_history_max,
        valid_days=conf.valid_days, max_users=conf.max_users, seed=cfg.run.seed,
    )  # fmt: skip
    rows: list[Row] = []
    decisions: list[Decision] = []
    meta: dict[str, Any] = {"candidates": len(grid), "specs": [_spec_json(s) for s in all_specs], "models": {}}
    try:
        fit = carved.fit.persist(level)
        relevant = carved.relevant.persist(level)
        every_spec = cfg.augment.model_copy(update={"ops": tuple(all_specs)})
        augmented = augment(spark, fit, every_spec, seed=cfg.run.seed, sasrec=cfg.evaluate.sasrec)
        augmented = augmented.localCheckpoint(eager=True, storageLevel=level)
        for model in cfg.policy_models if POLICY in cfg.evaluate.variants else ():
            found, decision, cost = SEARCHES[model](cfg, fit, relevant, augmented, grid)
            rows += _rows(run_id, found.rows, decision, grid, all_specs)
            decisions.append(decision)
            meta["models"][model] = {"decision": decision.candidate, "segments": list(decision.segments),
                                     "reason": decision.reason, **cost}  # fmt: skip
            log.info("policy %s: %s", model, decision.reason)
        if conf.ablation:
            labels = [f"{i}:{ops.of(spec).name}" for i, spec in enumerate(recipe)]  # the x1 specs come first
            found_rows = ablate(spark, cfg, fit=fit, relevant=relevant, augmented=augmented, labels=labels,
                                root=lake.root, run_id=run_id)  # fmt: skip
            rows += _ablation_rows(run_id, found_rows, labels, all_specs, weight=cfg.evaluate.augmented_weight)
            meta["ablation"] = {"models": list(conf.ablation), "ops": [_spec_json(s) for s in recipe]}
    finally:
        spark.catalog.clearCache()
    return Policy(rows=rows, decisions=decisions, meta=meta)


def _rows(
    run_id: str, found: list[Evidence], decision: Decision, grid: list[candidates.Candidate], specs: list[AugmentOp]
) -> list[Row]:
    """gold/augment_policy's rows of one model: each row of evidence with its candidate's augmentation, and
    whether it is a segment the decision chose (on the confirmation half)."""
    by_name = {c.name: c for c in grid}
    by_name[AA] = candidates.Candidate(AA, 1.0, (), 0.0, "all", "mixed")  # real: no augmented rows
    return [
        _row(run_id, r, by_name[r.candidate], specs,
             chosen=r.sample == CONFIRMATION and r.candidate == decision.candidate and r.segment in decision.segments)
        for r in found
    ]  # fmt: skip


def _ablation_rows(
    run_id: str, found: list[Evidence], labels: Sequence[str], specs: list[AugmentOp], *, weight: float
) -> list[Row]:
    """gold/augment_policy's rows of the ablation: each op alone (its variant ``real+<op>``, its label
    ``<spec index>:<op>``), every user's rows at ``weight``, never chosen."""
    by_variant = {
        name: candidates.Candidate(name, 1.0, (int(label.split(":", 1)[0]),), weight, "all", "mixed")
        for name, label in ablation_names(labels).items()
    }
    return [_row(run_id, r, by_variant[r.candidate], specs, chosen=False) for r in found]


def _row(run_id: str, r: Evidence, c: candidates.Candidate, specs: list[AugmentOp], *, chosen: bool) -> Row:
    """One row of gold/augment_policy: the evidence and the augmentation it measured."""
    return Row(
        run_id=run_id, model=r.model, candidate=r.candidate, segment=r.segment, steps=r.steps, users=r.users,
        value=r.value, real=r.real, difference=r.difference, ci_low=r.ci_low, ci_high=r.ci_high, sample=r.sample,
        chosen=chosen, ops=json.dumps([_spec_json(specs[i]) for i in c.specs]), weight=c.weight, target=c.target,
        mode=c.mode,
    )  # fmt: skip


def _spec_json(spec: AugmentOp) -> dict[str, Any]:
    dumped: dict[str, Any] = spec.model_dump(mode="json")
    return dumped


def _search_sasrec(
    cfg: RecaugConfig, fit: DataFrame, relevant: DataFrame, augmented: DataFrame, grid: list[candidates.Candidate]
) -> tuple[search.Searched, Decision, dict[str, Any]]:
    """SASRec's search: its evidence, decision and cost (steps and seconds, real's and the candidates')."""
    conf, sconf, seed = cfg.policy, cfg.evaluate.sasrec, cfg.run.seed
    started = time.perf_counter()
    sources, index, history = seq.pool(
        fit, augmented, sconf, seed=seed, cold_max=cfg.split.cold_max, short_max=cfg.evaluate.short_history_max
    )
    users = seq.slice_users(relevant, history, index, sconf, seed=seed)
    prepared = time.perf_counter() - started
    real = seq.RealArm(Trainer(sources.real, sconf, seed=seed), users)
    plan = halving.schedule(
        len(grid), real.steps, eta=conf.eta, unit=sconf.eval_every, budget=conf.budget, first=conf.first_rung
    )
    boot = search.Bootstrap(cfg.evaluate.bootstrap_resamples, cfg.evaluate.confidence, seed)
    full = sconf.model_copy(update={"steps": real.steps})  # the replication trains as far as real did
    twins: list[seq.RealArm] = []

    def make(candidate: candidates.Candidate, replica: int) -> search.Arm:
        return seq.arm(candidate, sources, users, full, seed=seed + replica, pretrain=conf.pretrain_share)

    def twin() -> search.Arm:
        twins.append(seq.RealArm(Trainer(sources.real, full, seed=seed + 1), users))
        return twins[-1]

    found = search.run(
        "sasrec", real, grid, make, twin, plan=plan, segments=users.segments, confirm=users.confirm, boot=boot,
        harm=conf.harm,
    )  # fmt: skip
    real_steps = real.steps
    twin_steps = sum(t.steps for t in twins)
    spent = real_steps + twin_steps + found.candidate_steps
    cost = {
        "slice_users": len(users.users), "admitted": plan.admitted, "eta": plan.eta,
        "rungs": [[r.steps, r.candidates] for r in plan.rungs], "real_steps": real_steps,
        "twin_steps": twin_steps, "candidate_steps": found.candidate_steps,
        "steps_ratio": spent / max(real_steps, 1),
        "real_seconds": round(real.seconds, 3), "twin_seconds": round(found.twin_seconds, 3),
        "candidate_seconds": round(found.candidate_seconds, 3),
        "seconds_ratio": (real.seconds + found.twin_seconds + found.candidate_seconds) / max(real.seconds, 1e-9),
        "prepare_seconds": round(prepared, 3),
    }  # fmt: skip
    spread = spread_of(found.top)
    return found, decide("sasrec", found.top, harm=conf.harm, spread=spread), cost


Searcher = Callable[
    [RecaugConfig, DataFrame, DataFrame, DataFrame, list[candidates.Candidate]],
    tuple[search.Searched, Decision, dict[str, Any]],
]
SEARCHES: dict[str, Searcher] = {"sasrec": _search_sasrec}
"""The search of each model ``policy.models`` may name (config/policy.py's SEARCHABLE)."""
