"""The demo shop's SASRec sequences for the benchmarks that train on generated data (seqrec-device,
demo-floor): one item list per user in time order, consecutive repeats collapsed, items numbered by id.

Generated in numpy (``events_of_chunk``), so a machine needs no data beside the checkout.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from recaug_spark.recommend.sasrec.model import PAD
from recaug_spark.recommend.sasrec.topk import right_aligned
from recaug_spark.recommend.sasrec.train import TrainingData
from recaug_spark.sources.synthetic_shop import ShopSpec, events_of_chunk


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
