"""pseudo_prior's model: SASRec trained on the driver on the reversed training sequences (ASReP), and its
broadcast to the executors (augment/prior.py draws from it there).

Each user's last training item is left out of the reversed sequences: evaluate's SASRec validates on it,
and the items drawn before a history would otherwise carry it into the training rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark import tensors
from recaug_spark.augment.prior import PriorModel
from recaug_spark.config import SasrecConfig
from recaug_spark.recommend.sasrec import sequences as sq
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.score import variant_data
from recaug_spark.recommend.sasrec.train import train

log = logging.getLogger(__name__)

_CACHE = tensors.WorkerCache()


def train_reversed(events: DataFrame, conf: SasrecConfig, *, steps: int, seed: int) -> SasrecArtifact:
    """SASRec (``conf``'s architecture and training, at most ``steps`` optimizer steps) on every user's
    training sequence less its last item, reversed: it predicts the item before a history."""
    index = sq.item_index(events).persist()
    item_ids = tuple(r["item_id"] for r in index.orderBy(sq.ITEM_IX).collect())  # the catalogue, bounded
    history = sq.histories(events, index, conf).select(
        "user_id", F.reverse(sq.drop_last(F.col(sq.ITEMS))).alias(sq.ITEMS), sq.LAST_EVENT
    )
    mine = conf.model_copy(update={"steps": steps, "min_steps": min(conf.min_steps, steps)})
    data = variant_data(history, {}, index, mine, seed=seed, weights={}, items=len(item_ids))
    index.unpersist()
    trained = train(data, mine, seed=seed)
    log.info(
        "augment: pseudo_prior's reversed SASRec: %d sequences, best step %d of %d (validation MRR %.4f)",
        len(data.sequences), trained.best_step, trained.steps_run, trained.best_mrr,
    )  # fmt: skip
    return SasrecArtifact.pack(
        trained.state, version=f"reversed-{seed}", architecture=trained.architecture, item_ids=item_ids,
        info={"training": trained.summary(), "reversed": True},
    )  # fmt: skip


def cached_prior(digest: str, files: Mapping[str, bytes]) -> PriorModel:
    """This worker's model for ``digest``, built from the broadcast ``files`` on first use."""
    return _CACHE.get(digest, lambda: PriorModel.of(SasrecArtifact.from_files(files, where=f"broadcast {digest[:12]}")))


def broadcast(spark: SparkSession, artifact: SasrecArtifact) -> Callable[[], PriorModel]:
    """What an executor calls to get the model (:func:`cached_prior` of the broadcast files)."""
    digest = artifact.digest
    files: Broadcast[Mapping[str, bytes]] = spark.sparkContext.broadcast(artifact.files())
    return lambda: cached_prior(digest, files.value)
