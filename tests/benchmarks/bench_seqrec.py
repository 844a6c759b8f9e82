"""Benchmark seqrec: SASRec's training loop and its distributed scoring against bare torch.

Data: the demo shop's events (``events_of_chunk``, 200,000 events; 20,000 with ``--quick``), one
sequence per user in time order (consecutive repeats collapsed, the last 51 items), items numbered by
id. Both sides get the same tensors, the same network (recommend/sasrec/model.py), the same seed and
batch size:

* training: sequences/s of ``recommend.sasrec.train.train`` (its default loss, length-bucketed batches,
  one validation pass) vs a bare loop a torch user would write over the same tensors (shuffle, forward
  the whole padded batch, full-softmax cross-entropy over every non-padded position, Adam step), for
  the same number of passes over the data. ``train_ratio`` = package / bare, target 0.8.
* scoring: users/s of ``recommend.sasrec.score.score`` on local[2] (the model broadcast, two Python
  workers, ``mapInArrow``, written to Spark's ``noop`` sink) vs one bare process ranking the same users
  with the same kernel (``Scorer.top``) on all cores. ``score_ratio`` = Spark / bare, target 0.7.

``ratio`` is the smaller of the two; ``passed`` when both meet their targets.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
import torch.nn.functional as F

from recaug_spark.config import SasrecConfig
from recaug_spark.recommend.sasrec import score
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.model import PAD, Architecture, SASRec
from recaug_spark.recommend.sasrec.topk import Scorer, right_aligned
from recaug_spark.recommend.sasrec.train import TrainingData, train
from recaug_spark.sources.synthetic_shop import ShopSpec, events_of_chunk

TRAIN_TARGET, SCORE_TARGET = 0.8, 0.7
EPOCHS = 3


def shop_sequences(events: int) -> tuple[list[list[int]], int]:
    """Per-user item index lists (1-based, time order, repeats collapsed) and the catalogue size."""
    spec = ShopSpec(
        events=events, users=max(500, events // 20), items=max(1_000, events // 40), categories=40,
        start_date=date(2026, 9, 1), days=60, cold_user_share=0.1, cold_item_share=0.05, bot_share=0.0,
        dirty_share=0.0, duplicate_share=0.0, chunk_events=events, seed=11,
    )  # fmt: skip
    ev = events_of_chunk(spec, 0)
    return item_lists(pd.DataFrame({"user": ev.user, "item": ev.item, "ts": ev.ts_ms}))


def item_lists(frame: pd.DataFrame) -> tuple[list[list[int]], int]:
    """Per-user item index lists of (user, item, ts) rows, as evaluate builds them: time order,
    consecutive repeats collapsed, items numbered 1..N by id; and N."""
    frame = frame.sort_values(["user", "ts"])
    frame = frame[frame.item.ne(frame.item.shift()) | frame.user.ne(frame.user.shift())]
    codes, uniques = pd.factorize(frame.item, sort=True)
    frame = frame.assign(ix=codes + 1)
    lists = [g.to_list() for _, g in frame.groupby("user").ix]
    return lists, len(uniques)


def training_rows(lists: list[list[int]], max_len: int) -> np.ndarray:
    """Right-aligned (n, max_len + 1) training rows of the lists with at least one input and target."""
    rows = right_aligned(pa.array(lists), max_len + 1)
    return rows[(rows != PAD).sum(1) >= 2]


def training_data(events: int, *, max_len: int = 50) -> tuple[TrainingData, list[list[int]]]:
    """The shop's training tensors (each user's history without its last item; that item validates,
    for the first 5,000 users) and the users' full lists."""
    lists, items = shop_sequences(events)
    data = TrainingData(
        sequences=training_rows([x[:-1] for x in lists], max_len),
        valid_inputs=right_aligned(pa.array([x[:-1] for x in lists[:5_000]]), max_len),
        valid_targets=np.array([x[-1] for x in lists[:5_000]], dtype=np.int64),
        items=items,
    )
    return data, lists


def bare_train(data: TrainingData, conf: SasrecConfig, *, seed: int, epochs: int) -> float:
    """Sequences/s of the plain loop: no validation, no trimming, no bookkeeping."""
    torch.manual_seed(seed)
    model = SASRec(_arch(data, conf))
    optimizer = torch.optim.Adam(model.parameters(), lr=conf.lr)
    generator = torch.Generator().manual_seed(seed)
    sequences = torch.from_numpy(data.sequences)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for rows in torch.randperm(len(sequences), generator=generator).split(conf.batch_size):
            seqs = sequences[rows]
            inputs, targets = seqs[:, :-1], seqs[:, 1:]
            logits = model.logits(model(inputs))
            targets = torch.where(inputs == PAD, PAD, targets)
            loss = F.cross_entropy(logits.reshape(-1, data.items), (targets - 1).reshape(-1), ignore_index=-1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return len(sequences) * epochs / (time.perf_counter() - started)


def _arch(data: TrainingData, conf: SasrecConfig) -> Architecture:
    return Architecture(
        items=data.items, max_len=conf.max_len, hidden=conf.hidden, inner=conf.inner, layers=conf.layers,
        heads=conf.heads, dropout=conf.dropout,
    )  # fmt: skip


def run(*, quick: bool) -> dict[str, Any]:
    """Time both comparisons; return the DESIGN.md result record."""
    from recaug_spark.config import load_config
    from recaug_spark.session import build_session

    conf = SasrecConfig(device="cpu")
    data, lists = training_data(20_000 if quick else 200_000, max_len=conf.max_len)
    steps = EPOCHS * -(-len(data.sequences) // conf.batch_size)
    conf = conf.model_copy(update={"steps": steps, "eval_every": steps})
    items = data.items
    started = time.perf_counter()
    trained = train(data, conf, seed=0)
    package_rate = len(data.sequences) * EPOCHS / (time.perf_counter() - started)
    bare_rate = bare_train(data, conf, seed=0, epochs=EPOCHS)

    artifact = SasrecArtifact.pack(
        trained.state, version="bench", architecture=trained.architecture,
        item_ids=tuple(f"{i:07d}" for i in range(items)), info={},
    )  # fmt: skip
    seqs = right_aligned(pa.array(lists), conf.max_len)
    seen = [sorted(set(x)) for x in lists]
    seen_matrix = right_aligned(pa.array(seen), max(len(s) for s in seen))
    k = 20
    scorer = Scorer.of(artifact)
    tick = time.perf_counter()
    for start in range(0, len(seqs), conf.score_batch):
        scorer.top(seqs[start : start + conf.score_batch], seen_matrix[start : start + conf.score_batch], k)
    bare_users = len(seqs) / (time.perf_counter() - tick)

    cfg = load_config([], ["spark.master=local[2]", "spark.ui_enabled=false"])
    spark = build_session(cfg.spark, app_name="bench-seqrec")
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in range(len(lists))], "items": [x[-conf.max_len :] for x in lists],
                          "seen": seen})  # fmt: skip
    inputs = spark.createDataFrame(frame, "user_id string, items array<int>, seen array<int>").repartition(4).cache()
    inputs.count()
    timings = []
    for _ in range(2):  # the first pass also starts the Python workers and builds their model cache
        tick = time.perf_counter()
        score.score(spark, artifact, inputs, k=k, batch=conf.score_batch).write.format("noop").mode("overwrite").save()
        timings.append(time.perf_counter() - tick)
    spark_users = len(lists) / min(timings)
    spark.stop()

    train_ratio, score_ratio = package_rate / bare_rate, spark_users / bare_users
    return {
        "ratio": round(min(train_ratio, score_ratio), 3),
        "target": f"train >= {TRAIN_TARGET}, score >= {SCORE_TARGET}",
        "passed": train_ratio >= TRAIN_TARGET and score_ratio >= SCORE_TARGET,
        "train_ratio": round(train_ratio, 3), "score_ratio": round(score_ratio, 3),
        "sequences": len(data.sequences), "items": items, "users_scored": len(lists), "epochs": EPOCHS,
        "package_sequences_per_s": round(package_rate, 1), "bare_sequences_per_s": round(bare_rate, 1),
        "spark_users_per_s": round(spark_users, 1), "bare_users_per_s": round(bare_users, 1),
        "spark_seconds": [round(t, 2) for t in timings], "torch_threads": torch.get_num_threads(),
        "summary": f"train {train_ratio:.2f} ({package_rate:.0f} vs {bare_rate:.0f} seq/s), "
        f"score {score_ratio:.2f} ({spark_users:.0f} vs {bare_users:.0f} users/s)",
    }  # fmt: skip
