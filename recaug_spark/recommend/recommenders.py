"""The model registry: the packaged recommenders (recommend/protocol.py's protocol) by their name in
``evaluate.models``, ``register`` for a model from outside (a test's toy model, a user's own; the config
then accepts its name), and the popularity fallback that makes every model answer every user.

Popularity, item-kNN and ALS score in Spark (recommend/models.py) and their lists are cut by
recommend/ranking.py; SASRec trains in torch on the driver and ranks on the executors
(recommend/sasrec/score.py). :func:`answer_everyone` gives each asked user a model left without a list
(a user without training history, for SASRec or ALS; a user whose items have no neighbours, for
item-kNN) the popularity list of the same training rows, seen items left out, and counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recaug_spark.config.types import MODEL_NAMES
from recaug_spark.recommend import models, ranking
from recaug_spark.recommend.protocol import FitContext, ModelSpec, Recommender, TrainingSet
from recaug_spark.recommend.sasrec import score as sasrec
from recaug_spark.recommend.sasrec import sequences as sq
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact

log = logging.getLogger(__name__)


class _SparkModel:
    """A model whose scores are a Spark plan over the variant's interactions: ``scores`` says which."""

    def __init__(self, scores: Callable[[TrainingSet, DataFrame, FitContext], DataFrame]) -> None:
        self._scores = scores
        self._fitted: tuple[TrainingSet, FitContext] | None = None

    def fit(self, data: TrainingSet, *, context: FitContext) -> None:
        self._fitted = (data, context)

    def rank(self, users: DataFrame, *, k: int) -> DataFrame:
        if self._fitted is None:
            raise RuntimeError("rank() before fit()")
        data, context = self._fitted
        return ranking.top_k(self._scores(data, users, context), k=k, seen=data.seen)

    def trained(self) -> Mapping[str, object]:
        return {}


def popularity() -> Recommender:
    """The most popular items by total strength, the same for everyone."""
    return _SparkModel(lambda d, users, c: models.popularity(d.interactions, users, depth=c.depth))


def itemknn() -> Recommender:
    """Item-kNN: cosine similarity of items over their users."""
    return _SparkModel(lambda d, users, c: models.itemknn(d.interactions, users, c.conf.itemknn))


def als() -> Recommender:
    """Spark ML ALS with implicit feedback."""
    return _SparkModel(
        lambda d, users, c: models.als(
            d.interactions, users, c.conf.als, depth=c.depth, seed=c.seed, storage_level=c.storage_level
        )
    )


class Sasrec:
    """SASRec: trained on the driver when fitted, saved to ``models/seqrec/<version>/``, scored on the
    executors; the variant real+contrastive adds CL4SRec's loss."""

    def __init__(self) -> None:
        self._fitted: tuple[SasrecArtifact, DataFrame, FitContext] | None = None
        self._summary: dict[str, object] = {}

    def fit(self, data: TrainingSet, *, context: FitContext) -> None:
        conf = context.conf.sasrec
        weights = {"augmented": context.conf.augmented_weight, "synthetic": context.conf.synthetic_weight}
        trained, item_ids, history = sasrec.fit(
            data.real, data.extra, conf, seed=context.seed, weights=weights,
            contrastive=data.variant == "real+contrastive", pretrain=data.pretrain,
        )  # fmt: skip
        artifact = SasrecArtifact.pack(
            trained.state, version=context.version, architecture=trained.architecture, item_ids=item_ids,
            info={"training": trained.summary(), **context.info},
        )  # fmt: skip
        where = sasrec.save(context.spark, context.root, artifact)
        log.info(
            "sasrec %s: best step %d of %d (validation MRR %.4f, NDCG@10 %.4f), saved to %s", context.version,
            trained.best_step, trained.steps_run, trained.best_mrr, trained.best_ndcg, where,
        )  # fmt: skip
        self._fitted = (artifact, history, context)
        self._summary = trained.summary()

    def rank(self, users: DataFrame, *, k: int) -> DataFrame:
        if self._fitted is None:
            raise RuntimeError("rank() before fit()")
        artifact, history, context = self._fitted
        conf = context.conf.sasrec
        inputs = sq.scoring_inputs(history, users, conf)
        return sasrec.score(context.spark, artifact, inputs, k=k, batch=conf.score_batch)

    def trained(self) -> Mapping[str, object]:
        return self._summary


_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (ModelSpec("popularity", popularity), ModelSpec("itemknn", itemknn), ModelSpec("als", als),
                 ModelSpec("sasrec", Sasrec, sequential=True))
}  # fmt: skip
MODELS: Mapping[str, ModelSpec] = MappingProxyType(_MODELS)
if set(_MODELS) != MODEL_NAMES:  # the config's list of packaged names and this registry are one list
    raise RuntimeError(f"config MODEL_NAMES {sorted(MODEL_NAMES)} != packaged models {sorted(_MODELS)}")


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model: from then on the config accepts its name and evaluate trains it."""
    if spec.name in _MODELS:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    _MODELS[spec.name] = spec
    MODEL_NAMES.add(spec.name)
    return spec


@contextmanager
def registered(*specs: ModelSpec) -> Iterator[tuple[ModelSpec, ...]]:
    """Register ``specs`` for the ``with`` block, then remove them (a test's toy model stays its own)."""
    for spec in specs:
        register(spec)
    try:
        yield specs
    finally:
        for spec in specs:
            _MODELS.pop(spec.name, None)
            MODEL_NAMES.discard(spec.name)


def answer_everyone(
    lists: DataFrame, users: DataFrame, data: TrainingSet, *, k: int, depth: int
) -> tuple[DataFrame, DataFrame]:
    """``lists`` with every asked user the model left without a list (or with an empty one) given the
    popularity list of ``data`` (seen items left out); and those users, ``(user_id)``.

    ``lists`` should be persisted by the caller: it is read for the answered users and for the result.
    """
    answered = lists.where(F.size(ranking.ITEMS) > 0)
    missing = users.select("user_id").join(answered.select("user_id"), "user_id", "left_anti")
    popular = ranking.top_k(models.popularity(data.interactions, missing, depth=depth), k=k, seen=data.seen)
    return answered.unionByName(popular), missing
