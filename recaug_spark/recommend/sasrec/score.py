"""SASRec in the evaluation: train a variant's model on the driver, save it, score on the executors
(recommend/recommenders.py composes them behind the registry's protocol).

:func:`fit` builds the variant's sequences in Spark (recommend/sasrec/sequences.py), collects
the training tensors (bounded: one row of at most ``max_len + 1`` ints per training window), trains
(recommend/sasrec/train.py), writes the artifact to ``models/seqrec/<version>/`` and broadcasts its
bytes. Each executor rebuilds the model once per Python worker (keyed by the weights' digest) and ranks
its users' next item over the full catalogue in batches of ``score_batch`` (``mapInArrow``), masking the
user's training items and keeping the top K with ties by item id. The output ``(user_id, items)`` goes
through the same ranking metrics as every other model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark import distributed, storage, tensors
from recaug_spark.augment import ops as registry
from recaug_spark.augment import recipes, similar
from recaug_spark.config import SasrecConfig
from recaug_spark.recommend.sasrec import sequences as sq
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.topk import Scorer, right_aligned
from recaug_spark.recommend.sasrec.train import TrainedSasrec, TrainingData, pretrain_steps, train
from recaug_spark.recommend.sasrec.views import ViewMaker

log = logging.getLogger(__name__)

MODELS = "models/seqrec"
LISTS = T.StructType(
    [T.StructField("user_id", T.StringType(), False), T.StructField("items", T.ArrayType(T.StringType()), False)]
)
_LISTS_ARROW = pa.schema([("user_id", pa.string()), ("items", pa.list_(pa.string()))])
_CACHE = tensors.WorkerCache()


def cached_scorer(digest: str, files: Mapping[str, bytes]) -> Scorer:
    """This worker's scorer for ``digest``, built from the broadcast ``files`` on first use."""
    return _CACHE.get(digest, lambda: Scorer.of(SasrecArtifact.from_files(files, where=f"broadcast {digest[:12]}")))


def training_data(sequences: DataFrame, validation: DataFrame, *, items: int, max_len: int) -> TrainingData:
    """The collected tensors: training windows with their weights and the validation slice (one small row
    each), rows in lexicographic order, so training does not depend on the order Spark's partitions
    arrive in."""
    train_rows = sequences.select(sq.ITEMS, sq.WEIGHT).toArrow()
    valid_rows = validation.select(sq.ITEMS, sq.TARGET).toArrow()
    seqs = right_aligned(train_rows.column(sq.ITEMS), max_len + 1)
    order = _row_order(seqs)
    weights = train_rows.column(sq.WEIGHT).to_numpy().astype(np.float64)[order]
    valid = np.column_stack(
        [right_aligned(valid_rows.column(sq.ITEMS), max_len), valid_rows.column(sq.TARGET).to_numpy()]
    ).astype(np.int64)
    valid = valid[_row_order(valid)]
    return TrainingData(
        sequences=seqs[order], valid_inputs=valid[:, :-1], valid_targets=valid[:, -1].copy(), items=items,
        weights=None if bool((weights == 1.0).all()) else weights,
    )  # fmt: skip


def variant_data(
    history: DataFrame,
    extra: Mapping[str, DataFrame],
    index: DataFrame,
    conf: SasrecConfig,
    *,
    seed: int,
    weights: Mapping[str, float],
    items: int,
) -> TrainingData:
    """A variant's collected training windows (real ``history`` + ``extra``) and validation slice."""
    validation = sq.validation_slice(history, conf, seed=seed).persist()
    sequences = sq.training_sequences(history, validation, extra, index, conf, weights=weights)
    data = training_data(sequences, validation, items=items, max_len=conf.max_len)
    validation.unpersist()
    return data


def _row_order(matrix: np.ndarray) -> np.ndarray:
    """The permutation that sorts ``matrix``'s rows lexicographically."""
    order: np.ndarray = np.lexsort(matrix.T[::-1]) if len(matrix) else np.arange(0)
    return order


def view_maker(real: DataFrame, index: DataFrame, conf: SasrecConfig, *, items: int, seed: int) -> ViewMaker:
    """CL4SRec's views for ``conf.contrastive``; substitute and insert read the augment stage's similar-items
    table (co-occurrence in training sessions or histories, top ``similar_top_k``), in index space."""
    ops = conf.contrastive.ops
    similar_items: dict[int, list[int]] = {}
    if any(recipes.needs_similar(op) for op in ops):
        table = similar.top_k(real, k=conf.contrastive.similar_top_k, window=conf.contrastive.similar_window)
        pairs = table.join(index, "item_id").join(
            index.select(F.col("item_id").alias("similar_item"), F.col(sq.ITEM_IX).alias("similar_ix")), "similar_item"
        )
        rows = pairs.groupBy(sq.ITEM_IX).agg(
            F.transform(F.sort_array(F.collect_list(F.struct("rank", "similar_ix"))), lambda r: r["similar_ix"]).alias(
                "s"
            )
        )
        similar_items = {r[sq.ITEM_IX]: list(r["s"]) for r in rows.toLocalIterator()}  # items x k, bounded
        if not similar_items:
            needing = [registry.of(op).name for op in ops if recipes.needs_similar(op)]
            window = conf.contrastive.similar_window
            raise similar.none_found("evaluate.sasrec.contrastive.similar_window", needing, window=window)
    masks = any(recipes.token(op) is not None for op in ops)
    return ViewMaker(ops, seed=seed, mask_index=items + 1 if masks else None, similar=similar_items)


def fit(
    real: DataFrame,
    extra: Mapping[str, DataFrame],
    conf: SasrecConfig,
    *,
    seed: int,
    weights: Mapping[str, float],
    contrastive: bool = False,
    pretrain: float | None = None,
) -> tuple[TrainedSasrec, tuple[str, ...], DataFrame]:
    """Train on real (+ ``extra``, its sequences weighted by ``weights[kind]``) events, with CL4SRec's loss
    when ``contrastive``, for the first ``pretrain`` share of the steps only when set (then on real alone):
    the trained model, the item index, the users' histories."""
    index = sq.item_index(real).persist()
    item_ids = tuple(r["item_id"] for r in index.orderBy(sq.ITEM_IX).collect())  # the catalogue, bounded
    history = sq.histories(real, index, conf).persist()
    views = view_maker(real, index, conf, items=len(item_ids), seed=seed) if contrastive else None
    data = variant_data(history, extra, index, conf, seed=seed, weights=weights, items=len(item_ids))
    then = None
    if pretrain is not None:
        alone = variant_data(history, {}, index, conf, seed=seed, weights=weights, items=len(item_ids))
        then = (pretrain_steps(pretrain, conf), alone)
    log.info(
        "sasrec: %d training sequences, %d validation users, %d items", len(data.sequences), len(data.valid_targets),
        len(item_ids),
    )  # fmt: skip
    if conf.distributed.processes > 1:
        log.info("sasrec: data-parallel training in %d processes (TorchDistributor)", conf.distributed.processes)
        payload = {"data": data, "conf": conf, "seed": seed, "views": views.spec() if views else None, "then": then}
        trained = distributed.train_in_processes(
            _train_rank, payload, processes=conf.distributed.processes, local_mode=conf.distributed.local_mode
        )
    else:
        trained = train(data, conf, seed=seed, views=views, then=then)
    index.unpersist()
    return trained, item_ids, history


def _train_rank(payload: dict[str, Any], rank: int, world: int) -> TrainedSasrec:
    """One rank of data-parallel training (recaug_spark/distributed.py)."""
    spec = payload["views"]
    views = ViewMaker(**spec) if spec is not None else None
    return train(
        payload["data"], payload["conf"], seed=payload["seed"], views=views, rank=rank, world=world,
        then=payload["then"],
    )  # fmt: skip


def score(spark: SparkSession, artifact: SasrecArtifact, inputs: DataFrame, *, k: int, batch: int) -> DataFrame:
    """``(user_id, items)``: the top ``k`` of every row of ``inputs`` ``(user_id, items, seen)``."""
    files = spark.sparkContext.broadcast(artifact.files())
    digest = artifact.digest
    width = artifact.architecture.max_len

    def rank(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        scorer = cached_scorer(digest, files.value)
        for record in batches:
            for start in range(0, record.num_rows, batch):
                part = record.slice(start, batch)
                lists = scorer.top(
                    right_aligned(part.column(sq.ITEMS), width),
                    right_aligned(part.column(sq.SEEN), _widest(part.column(sq.SEEN))),
                    k,
                )
                yield pa.RecordBatch.from_arrays(
                    [part.column("user_id"), pa.array(lists, pa.list_(pa.string()))], schema=_LISTS_ARROW
                )

    return inputs.select("user_id", sq.ITEMS, sq.SEEN).mapInArrow(rank, LISTS)


def _widest(lists: pa.Array) -> int:
    lengths = np.diff(lists.offsets.to_numpy())
    return max(1, int(lengths.max())) if len(lengths) else 1


def save(spark: SparkSession, root: str, artifact: SasrecArtifact) -> str:
    """Write the artifact under ``models/seqrec/<version>/`` (metadata last); returns its directory."""
    where = storage.join(root, MODELS, artifact.version)
    for name, data in artifact.files().items():
        storage.write_bytes(spark, storage.join(where, name), data)
    return where
