"""The variant x model evaluation: recommenders trained on real vs augmented data, scored per segment.

For every variant of ``evaluate.variants`` (real, real+augmented, real+synthetic, real+both, the
sequential models' real+contrastive, and real+policy: each model with the augmentation stage policy chose
for it, the real model's lists where it chose none), plus with ``evaluate.ablation`` one real+<op> per op of the augment
run, and every model of ``evaluate.models`` (the registry, recommend/recommenders.py: popularity, item-kNN,
ALS in Spark; SASRec in torch, trained on the driver and scored on the executors), trains on the
training split (the leakage rule, prep/split.py) and ranks the full catalogue for every test user
(seen items left out; a user the model leaves without a list gets the popularity list of the same
training rows, counted per variant and model in the report's meta), then
scores the lists against the users' test items (recommend/ranking.py) per segment (all, warm, cold,
short-history users, cold items). Means come with a Poisson-bootstrap interval over users; every
other variant is compared with ``real`` on the same users (difference, interval, relative lift,
p-value). The result is one row per (variant, model, segment, metric, k) for gold/eval_metrics, plus
catalogue coverage, and the report's metadata; SASRec's models go to models/seqrec/<run id>-<variant>/.
A variant whose input table has no run is left out and named in the report.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from recaug_spark.augment.apply import augment
from recaug_spark.augment.table import read_training_rows
from recaug_spark.config import AugmentConfig, AugmentOp, EvaluateConfig, RecaugConfig
from recaug_spark.lake import Lake
from recaug_spark.policy.decide import ABLATION
from recaug_spark.prep import split
from recaug_spark.prep.stats import union_by_name
from recaug_spark.recommend import evaluate as ev
from recaug_spark.recommend import ranking, recommenders
from recaug_spark.recommend.protocol import FitContext, TrainingSet
from recaug_spark.recommend.recommenders import answer_everyone
from recaug_spark.runs import last_succeeded
from recaug_spark.schema import (
    AUGMENT_RUN,
    GENERATE_RUN,
    GOLD_AUGMENTED,
    GOLD_POLICY,
    GOLD_SYNTHETIC,
    SILVER_EVENTS,
    SILVER_SPLIT,
)
from recaug_spark.session import ml_storage_level, storage_level

log = logging.getLogger(__name__)

EXTRA = {
    "augmented": (GOLD_AUGMENTED, AUGMENT_RUN, "augment_run"),
    "synthetic": (GOLD_SYNTHETIC, GENERATE_RUN, "generate_run"),
}


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: the gold/eval_metrics rows, the report's metadata, the variants evaluated, those
    skipped (no run of their input) and the number of test users left without relevant items."""

    rows: list[Row]
    meta: dict[str, Any]
    variants: list[str]
    skipped: list[str]
    excluded: int


def evaluate(spark: SparkSession, cfg: RecaugConfig, lake: Lake, *, run_id: str, inputs: dict[str, int]) -> Evaluation:
    """Train, rank and score every (variant, model) and compare each variant with real.

    Args:
        spark: the session (SASRec trains on its driver).
        cfg: the whole config (``evaluate``, feedback weights, run seed, storage levels).
        lake: the lake holding silver/events, silver/split and the augmented and synthetic runs.
        run_id: this run's id (metric rows, SASRec artifact versions, the report).
        inputs: the Delta versions read, recorded in the report and the SASRec artifacts.

    Returns:
        The metric rows (means with intervals, differences against real, coverage) and the report's meta.

    Example:
        ``evaluate(spark, cfg, lake, run_id=ctx.run_id, inputs=lake.versions(INPUTS)).rows``
    """
    conf = cfg.evaluate
    weights = dict(cfg.preprocess.feedback.weights)
    splits = lake.read(SILVER_SPLIT)
    real = split.training_rows(lake.read(SILVER_EVENTS), splits).select(
        "event_id", "user_id", "item_id", "event_type", "ts", "session_id"
    )
    test = splits.where(F.col("split") == split.TEST)
    extra, used_runs, skipped = _extra_inputs(lake, cfg)
    choices, policy_meta = _policy_choices(lake, cfg)
    if ev.POLICY in conf.variants and choices is None:
        skipped.append(ev.POLICY)
    variants: list[str] = [
        v for v in conf.variants if all(n in extra for n in ev.NEEDS[v]) and (v != ev.POLICY or choices is not None)
    ]
    variants.sort(key=lambda v: v != ev.REAL)  # real first: real+policy reuses real's lists where it chose none
    frames: list[DataFrame] = []
    coverage_rows: list[dict[str, Any]] = []
    level, als_level = storage_level(cfg.spark), ml_storage_level(cfg.spark)
    try:
        seen = real.select("user_id", "item_id").distinct().persist(level)
        relevant = ev.relevant_sets(
            test, seen, exclude_seen=conf.exclude_seen, short_max=conf.short_history_max
        ).persist(level)
        excluded = ev.test_users_without_relevant(test, relevant)
        if conf.max_users is not None:
            relevant = ev.sample_users(relevant, conf.max_users, seed=cfg.run.seed)
            relevant = relevant.persist(level)
        users = relevant.select("user_id").distinct()
        scored_users = users.count()
        catalogue = seen.select("item_id").distinct().count()
        depth = ranking_depth(seen, users, ks=conf.ks, catalogue=catalogue)
        ablations = ev.ablation_variants(extra["augmented"]) if conf.ablation and "augmented" in extra else {}
        variants += list(ablations)
        fallback: dict[str, int] = {}
        training: dict[str, Mapping[str, object]] = {}
        real_scored: dict[str, DataFrame] = {}
        for variant in variants:
            parts = ev.variant_inputs(variant, extra, ablations) if variant != ev.POLICY else {}
            train = ev.variant_interactions(real, parts, conf, weights).persist(level)
            data = TrainingSet(variant=variant, real=real, extra=parts, interactions=train, seen=seen)
            for model in conf.models:
                spec = recommenders.MODELS[model]
                if variant in ev.SEQUENTIAL_ONLY and not spec.sequential:
                    continue
                if variant in ablations and conf.ablation_models is not None and model not in conf.ablation_models:
                    continue
                mine = conf
                if variant == ev.POLICY:
                    choice = (choices or {}).get(model)
                    if choice is None:  # no augmentation: the real model, its lists and metrics as they are
                        frames.append(real_scored[model].withColumn("variant", F.lit(variant)))
                        own = [c for c in coverage_rows if c["variant"] == ev.REAL and c["model"] == model]
                        coverage_rows += [{**c, "variant": variant} for c in own]
                        fallback[f"{variant}/{model}"] = fallback[f"{ev.REAL}/{model}"]
                        continue
                    data, mine = _policy_data(spark, lake, cfg, choice, real=real, splits=splits, seen=seen)
                context = FitContext(
                    spark=spark, conf=mine, seed=cfg.run.seed, depth=depth, storage_level=als_level, root=lake.root,
                    version=model_version(run_id, variant),
                    info={"variant": variant, "inputs": inputs, "runs_used": used_runs},
                )  # fmt: skip
                got = fit_and_score(model, data, context=context, users=users, relevant=relevant, level=level)
                if got.trained:
                    training[f"{variant}/{model}"] = got.trained
                fallback[f"{variant}/{model}"] = got.fallback
                frames.append(got.per_user)
                if variant == ev.REAL:
                    real_scored[model] = frames[-1]
                coverage_rows += _coverage(got.recs, relevant, conf.ks, catalogue, variant=variant, model=model)
            log.info("evaluate: %s trained and ranked", variant)
        # A leaf, not the union of every (variant, model)'s plan: the bootstrap joins it with itself once
        # per comparison and Spark renders each query's whole plan on the driver, a string that grows with
        # variants x models x comparisons (the demo's 5 x 4 ran a 4 GiB driver out of heap).
        # localCheckpoint keeps the rows in the executors' block stores and cuts the lineage.
        per_user = union_by_name(frames).localCheckpoint(eager=True, storageLevel=level)
        names = ranking.metric_names(conf.ks)
        summaries = ev.bootstrap(
            per_user, names, variants, seed=cfg.run.seed, resamples=conf.bootstrap_resamples,
            confidence=conf.confidence, models=conf.models,
        )  # fmt: skip
    finally:
        spark.catalog.clearCache()
    rows = _rows(run_id, summaries, names, coverage_rows)
    between_models = _model_differences(summaries, names)
    meta: dict[str, Any] = {
        "run_id": run_id, "variants": variants, "skipped_variants": skipped, "models": list(conf.models),
        "ks": list(conf.ks), "inputs": inputs,
        "runs_used": used_runs, "test_users_without_relevant_items": excluded, "catalogue_items": catalogue,
        "users_scored": scored_users, "max_users": conf.max_users, "popularity_fallback_users": fallback,
        "training": training, "model_differences": between_models,
        "exclude_seen": conf.exclude_seen,
        "weights": {"augmented": conf.augmented_weight, "synthetic": conf.synthetic_weight},
        "bootstrap": {"resamples": conf.bootstrap_resamples, "confidence": conf.confidence, "method": "poisson"},
        "policy": policy_meta,
    }  # fmt: skip
    return Evaluation(rows=rows, meta=meta, variants=variants, skipped=skipped, excluded=excluded)


def ranking_depth(seen: DataFrame, users: DataFrame, *, ks: tuple[int, ...], catalogue: int) -> int:
    """How many items a Spark model returns per user before the seen ones go: the largest k plus the most
    items any asked user has seen, at most the catalogue."""
    longest = seen.join(users, "user_id", "left_semi").groupBy("user_id").count().agg(F.max("count")).first()
    if longest is None:
        raise RuntimeError("the global aggregate of items seen per user returned no row")
    return min(max(ks) + int(longest[0] or 0), max(catalogue, 1))


@dataclass(frozen=True)
class Scored:
    """One (variant, model) trained and asked: every user's list (persisted), the per-user metrics per
    segment (``variant``, ``model``, ``segment``, ``user_id``, the metrics), the users given the popularity
    fallback, and what the model says about its training (SASRec's curve)."""

    recs: DataFrame
    per_user: DataFrame
    fallback: int
    trained: Mapping[str, object]


def fit_and_score(
    model: str, data: TrainingSet, *, context: FitContext, users: DataFrame, relevant: DataFrame, level: StorageLevel
) -> Scored:
    """Train ``model`` (the registry's) on ``data``, rank the full catalogue for ``users`` (those it cannot
    answer get the popularity list of the same rows) and score the lists against ``relevant``
    (``segment``, ``user_id``, relevant items) at ``context.conf.ks``: the one path from training data to
    per-user metrics, for evaluate's test period and the policy's slice alike."""
    ks = context.conf.ks
    recommender = recommenders.MODELS[model].build()
    recommender.fit(data, context=context)
    lists = recommender.rank(users, k=max(ks)).persist(level)
    recs, missing = answer_everyone(lists, users, data, k=max(ks), depth=context.depth)
    fallback = missing.count()
    recs = recs.persist(level)
    recs.count()  # materialised: the model's own lists are no longer needed
    lists.unpersist()
    scored = ranking.per_user_metrics(recs, relevant.select("segment", "user_id", ranking.RELEVANT), ks=ks,
                                      by=("segment",))  # fmt: skip
    labelled = scored.select(F.lit(data.variant).alias("variant"), F.lit(model).alias("model"), "*")
    return Scored(recs=recs, per_user=labelled, fallback=fallback, trained=recommender.trained())


@dataclass(frozen=True)
class Choice:
    """The augmentation stage policy chose for a model: the candidate, the segments it lifted on the
    policy slice, its op specs, the weight of its rows, whose rows (all, short, cold) and the SASRec mode."""

    candidate: str
    segments: tuple[str, ...]
    ops: tuple[AugmentOp, ...]
    weight: float
    target: str
    mode: str

    @classmethod
    def of(cls, row: Row) -> Choice:
        """From a chosen row of gold/augment_policy with its ``segments``."""
        ops = AugmentConfig.model_validate({"ops": json.loads(row["ops"])}).ops
        return cls(row["candidate"], tuple(row["segments"]), ops, float(row["weight"]), row["target"], row["mode"])


def _policy_choices(lake: Lake, cfg: RecaugConfig) -> tuple[dict[str, Choice] | None, dict[str, Any]]:
    """The chosen augmentation per model of the newest successful policy run (None with ``policy.mode:
    fixed`` or no such run: real+policy is then skipped), and what the report says about it; a model the
    policy did not search, or decided no augmentation for, has no choice."""
    last = last_succeeded(lake, "policy")
    if cfg.policy.mode == "fixed" or last is None or not lake.exists(GOLD_POLICY):
        why = "policy.mode is fixed" if cfg.policy.mode == "fixed" else "no policy run"
        return None, {"run": None, "why_skipped": why}
    rows = lake.read(GOLD_POLICY).where((F.col("run_id") == last.run_id) & (F.col("sample") != ABLATION))
    searched = sorted(r[0] for r in rows.select("model").distinct().collect())
    chosen = (
        rows.where(F.col("chosen"))
        .groupBy("model", "candidate", "ops", "weight", "target", "mode")
        .agg(F.sort_array(F.collect_set("segment")).alias("segments"))
        .collect()
    )  # one row per model: bounded
    choices = {r["model"]: Choice.of(r) for r in chosen}
    decisions = {m: (f"{c.candidate} (lifts {', '.join(c.segments)})" if (c := choices.get(m)) else "none")
                 for m in searched}  # fmt: skip
    return choices, {"run": last.run_id, "searched": searched, "decisions": decisions}


def _policy_data(
    spark: SparkSession,
    lake: Lake,
    cfg: RecaugConfig,
    choice: Choice,
    *,
    real: DataFrame,
    splits: DataFrame,
    seen: DataFrame,
) -> tuple[TrainingSet, EvaluateConfig]:
    """real+policy's training data for a model with a choice: the chosen ops over the training rows (the
    target users' rows only), at the chosen weight; pre-training for the chosen share of the steps when
    its mode says so."""
    train = read_training_rows(lake, choice.ops)
    chosen = cfg.augment.model_copy(update={"ops": choice.ops})
    made = augment(spark, train, chosen, seed=cfg.run.seed, sasrec=cfg.evaluate.sasrec)
    if choice.target != "all":
        users = splits.where(split.is_training()).select("user_id", "user_segment", "user_train_events").distinct()
        if choice.target == "cold":
            users = users.where(F.col("user_segment") == split.COLD)
        else:
            short = F.col("user_train_events") <= cfg.evaluate.short_history_max
            users = users.where((F.col("user_segment") == split.WARM) & short)
        made = made.join(users.select("user_id"), "user_id", "left_semi")
    made = made.localCheckpoint(eager=True, storageLevel=storage_level(cfg.spark))
    conf = cfg.evaluate.model_copy(update={"augmented_weight": choice.weight})
    parts = {"augmented": made}
    weights = dict(cfg.preprocess.feedback.weights)
    interactions = ev.variant_interactions(real, parts, conf, weights)
    pretrain = cfg.policy.pretrain_share if choice.mode == "pretrain" else None
    data = TrainingSet(ev.POLICY, real=real, extra=parts, interactions=interactions, seen=seen, pretrain=pretrain)
    return data, conf


def model_version(run_id: str, variant: str) -> str:
    """The SASRec artifact's version: the run and the variant (``20261202T...-real_augmented``)."""
    return f"{run_id}-{variant.replace('+', '_').replace(':', '_')}"


def _extra_inputs(lake: Lake, cfg: RecaugConfig) -> tuple[dict[str, DataFrame], dict[str, str], list[str]]:
    """The augmented and synthetic rows of the chosen (or newest) run, when there is one."""
    found: dict[str, DataFrame] = {}
    runs: dict[str, str] = {}
    for name, (table, column, key) in EXTRA.items():
        if not lake.exists(table):
            continue
        wanted = getattr(cfg.evaluate, key)
        rows = lake.read(table)
        if wanted is None:
            newest = (
                rows.groupBy(column).agg(F.max("ingested_at").alias("at")).orderBy(F.desc("at"), F.desc(column)).first()
            )
            if newest is None:
                continue
            wanted = newest[column]
        runs[name] = wanted
        found[name] = rows.where(F.col(column) == wanted)
        if name == "synthetic":  # the model version behind the synthetic rows, for the report
            first = found[name].select("generator_version").first()
            runs["generator_version"] = first[0] if first else "none"
    skipped: list[str] = [v for v in cfg.evaluate.variants if not all(n in found for n in ev.NEEDS[v])]
    return found, runs, skipped


def _coverage(
    recs: DataFrame, relevant: DataFrame, ks: tuple[int, ...], catalogue: int, *, variant: str, model: str
) -> list[dict[str, Any]]:
    """Catalogue coverage@k per segment: distinct items in the top k of the segment's users / catalogue
    (one job for every k)."""
    mine = relevant.select("segment", "user_id").join(recs, "user_id")
    ranked = mine.select("segment", F.posexplode("items").alias("pos", "item"))
    counted = ranked.groupBy("segment").agg(
        *[F.count_distinct(F.when(F.col("pos") < k, F.col("item"))).alias(f"c{k}") for k in ks]
    )
    return [
        {"variant": variant, "model": model, "segment": r["segment"], "k": k, "value": r[f"c{k}"] / max(catalogue, 1)}
        for r in counted.collect()
        for k in ks
    ]


def _rows(run_id: str, summaries: dict[str, Any], names: list[str], coverage: list[dict[str, Any]]) -> list[Row]:
    out = []
    for key, results in sorted(summaries.items()):
        variant, model, segment, against = key.split("|")
        if against:
            continue
        diffs = summaries.get("|".join([variant, model, segment, ev.REAL])) if variant != ev.REAL else None
        for i, name in enumerate(names):
            metric, _, k = name.partition("@")
            own = results[i]
            diff = diffs[i] if diffs else None
            out.append(
                Row(
                    run_id=run_id, variant=variant, model=model, segment=segment, metric=metric,
                    k=int(k) if k else None, value=own.difference, ci_low=own.ci_low, ci_high=own.ci_high,
                    difference=diff.difference if diff else None, diff_ci_low=diff.ci_low if diff else None,
                    diff_ci_high=diff.ci_high if diff else None, lift=_finite(diff.relative_lift) if diff else None,
                    p_value=diff.p_value if diff else None, n_users=own.n_users,
                )
            )  # fmt: skip
    for c in coverage:
        out.append(
            Row(
                run_id=run_id, variant=c["variant"], model=c["model"], segment=c["segment"], metric="coverage",
                k=c["k"], value=c["value"], ci_low=None, ci_high=None, difference=None, diff_ci_low=None,
                diff_ci_high=None, lift=None, p_value=None, n_users=0,
            )
        )  # fmt: skip
    return out


def _model_differences(summaries: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """The pairs of models compared on ``real`` (first minus second), one record per segment and metric."""
    out = []
    for key, results in sorted(summaries.items()):
        variant, model, segment, against = key.split("|")
        if not against.startswith(ev.VERSUS_MODEL):
            continue
        for name, diff in zip(names, results, strict=True):
            metric, _, k = name.partition("@")
            out.append(
                {"model": model, "against": against.removeprefix(ev.VERSUS_MODEL), "variant": variant,
                 "segment": segment, "metric": metric, "k": int(k) if k else None, "difference": diff.difference,
                 "ci_low": diff.ci_low, "ci_high": diff.ci_high, "p_value": diff.p_value, "n_users": diff.n_users}
            )  # fmt: skip
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
