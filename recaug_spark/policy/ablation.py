"""The per-op ablation on the policy slice (``policy.ablation``): every model it names trained on the fit
rows alone (``real``) and on the fit rows plus each op of ``augment.ops`` alone (``real+<op>``, at
``evaluate.augmented_weight``), each scored on the policy slice's users and compared with ``real`` per
segment, paired over users: the validation half of the ablation whose test half is evaluate's
``evaluate.ablation``. Every model goes through evaluate's own path (recommend/variants.py
fit_and_score): the same training, fallback and metrics, on another period. Nothing is chosen from it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

from recaug_spark.config import RecaugConfig
from recaug_spark.policy.decide import ABLATION, Evidence
from recaug_spark.prep.stats import union_by_name
from recaug_spark.recommend import evaluate as ev
from recaug_spark.recommend.protocol import FitContext, TrainingSet
from recaug_spark.recommend.variants import fit_and_score, model_version, ranking_depth
from recaug_spark.session import ml_storage_level, storage_level

log = logging.getLogger(__name__)

METRIC = "ndcg@10"
REAL_COLUMNS = ("event_id", "user_id", "item_id", "event_type", "ts", "session_id")


def ablate(
    spark: SparkSession,
    cfg: RecaugConfig,
    *,
    fit: DataFrame,
    relevant: DataFrame,
    augmented: DataFrame,
    labels: Sequence[str],
    root: str,
    run_id: str,
) -> list[Evidence]:
    """NDCG@10 differences with ``real`` of each op alone, per model of ``policy.ablation`` and segment.

    Args:
        fit: the fit rows (policy/slices.py); ``relevant``: the policy slice's relevant sets.
        augmented: augment/apply.py's rows over ``fit``; ``labels``: the ``aug_ops`` labels
            (``<index>:<op>``) of the ops to ablate, one variant each.
        root, run_id: where SASRec saves its artifacts (``<run id>-ablation-<variant>``).
    """
    conf = cfg.evaluate.model_copy(update={"ks": (10,)})
    level, als_level = storage_level(cfg.spark), ml_storage_level(cfg.spark)
    weights = dict(cfg.preprocess.feedback.weights)
    real = fit.select(*REAL_COLUMNS)
    seen = real.select("user_id", "item_id").distinct().persist(level)
    users = relevant.select("user_id").distinct().persist(level)
    catalogue = seen.select("item_id").distinct().count()
    depth = ranking_depth(seen, users, ks=conf.ks, catalogue=catalogue)
    ablations = ev.ablation_names(labels)
    variants = [ev.REAL, *ablations]
    frames = []
    for variant in variants:
        parts = ev.variant_inputs(variant, {"augmented": augmented}, ablations)
        interactions = ev.variant_interactions(real, parts, conf, weights).persist(level)
        data = TrainingSet(variant=variant, real=real, extra=parts, interactions=interactions, seen=seen)
        for model in cfg.policy.ablation:
            context = FitContext(
                spark=spark, conf=conf, seed=cfg.run.seed, depth=depth, storage_level=als_level, root=root,
                version=model_version(f"{run_id}-ablation", variant),
                info={"variant": variant, "period": "policy slice"},
            )  # fmt: skip
            got = fit_and_score(model, data, context=context, users=users, relevant=relevant, level=level)
            frames.append(got.per_user.localCheckpoint(eager=True, storageLevel=level))
            got.recs.unpersist()
        interactions.unpersist()
        log.info("policy ablation: %s trained and scored", variant)
    # Each (variant, model)'s scores are a leaf and its inputs are released as the loop goes: what the
    # heap holds stays one variant's rows, where caching them all ran Beauty's 16 models out of a 4g heap.
    per_user = union_by_name(frames)
    summaries = ev.bootstrap(
        per_user, [METRIC], variants, seed=cfg.run.seed, resamples=conf.bootstrap_resamples,
        confidence=conf.confidence,
    )  # fmt: skip
    rows = []
    for key, (d,) in sorted(summaries.items()):
        variant, model, segment, against = key.split("|")
        if against == ev.REAL and segment != "cold_items":
            rows.append(
                Evidence(model, variant, segment, 0, d.n_users, d.mean_variant, d.mean_baseline, d.difference,
                         d.ci_low, d.ci_high, ABLATION)
            )  # fmt: skip
    return rows
