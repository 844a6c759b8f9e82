"""pseudo_prior through augment/apply.py: the reversed SASRec learns what comes before a history, and
the op's rows put those items before each short history, in time order, never for a long one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from pyspark.sql import SparkSession

from recaug_spark.augment.apply import augment
from recaug_spark.config import AugmentConfig, SasrecConfig

T0 = datetime(2024, 3, 1)
# 60 users walk a chain of 10 items from their own start (the last step left out of the reversed
# model's training); 20 short users hold two consecutive items of it.
LONG = [(f"u{u:02d}", f"i{(u % 10 + t) % 10}", t) for u in range(60) for t in range(8)]
SHORT = [(f"s{s:02d}", f"i{(s % 10 + t) % 10}", t) for s in range(20) for t in range(2)]
CHAIN = SasrecConfig(max_len=6, hidden=16, inner=16, layers=1, heads=1, dropout=0.0, steps=400, eval_every=20,
                     patience=10, min_steps=0, batch_size=32, device="cpu", threads=1)  # fmt: skip


def test_pseudo_prior_draws_the_chain_before_each_short_history(spark: SparkSession) -> None:
    train = spark.createDataFrame(
        [(f"e{i:04d}", u, item, "purchase", T0 + timedelta(hours=h), None, 1.0, 1.0)
         for i, (u, item, h) in enumerate(LONG + SHORT)],
        "event_id string, user_id string, item_id string, event_type string, ts timestamp, session_id string, "
        "price double, quantity double",
    )  # fmt: skip
    conf = AugmentConfig.model_validate(
        {"ops": [{"op": "pseudo_prior", "k": 3, "max_length": 2, "top_p": 0.2, "temperature": 0.5, "steps": 400}]}
    )
    rows = augment(spark, train, conf, seed=5, sasrec=CHAIN).toPandas()
    assert set(rows.user_id) == {f"s{s:02d}" for s in range(20)}  # long histories get nothing
    right = 0
    for user, unordered in rows.groupby("user_id"):
        mine = unordered.sort_values(["ts", "event_id"])
        start = int(user[1:]) % 10
        real = [f"i{start}", f"i{(start + 1) % 10}"]
        assert mine.item_id.tolist()[3:] == real
        assert (mine.source_event_id.iloc[:4] == mine.source_event_id.iloc[3]).all()  # drawn from the first event
        assert mine.ts.is_monotonic_increasing and mine.ts.iloc[3] - mine.ts.iloc[0] == pd.Timedelta(microseconds=3)
        assert (mine.price == 1.0).all()  # a drawn item takes its median training price
        right += mine.item_id.tolist()[:3] == [f"i{(start - j) % 10}" for j in (3, 2, 1)]
    assert right >= 16, rows.sort_values(["user_id", "ts"]).to_string()
