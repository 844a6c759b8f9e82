"""The augmentation Spark layer equals the pure kernels on the same rows, on any partitioning."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from pyspark.sql import DataFrame, SparkSession

from recaug_spark.augment import numeric, similar
from recaug_spark.augment import spark as aug

SEED = 11


def priced(spark: SparkSession, n: int = 600) -> DataFrame:
    rng = np.random.default_rng(0)
    prices = np.round(rng.lognormal(3, 1, n), 2)
    rows = [(f"e{i:05d}", None if i % 17 == 0 else float(prices[i]), float(i % 7)) for i in range(n)]
    return spark.createDataFrame(rows, "event_id string, price double, quantity double")


def noise_kernel(values: list[np.ndarray], draws) -> list[np.ndarray]:
    return [numeric.gaussian_noise(values[0], draws, sigma=2.0)]


def rotation_kernel(values: list[np.ndarray], draws) -> list[np.ndarray]:
    return list(numeric.rotation(values[0], values[1], draws, low=-1.0, high=1.0))


def augmented(df: DataFrame, kernel, columns: list[str], *, copies: int = 3, p: float = 0.7) -> DataFrame:
    op = aug.column_op(kernel, columns, seed=SEED, label="0:op", p=p)
    return aug.expand_copies(aug.with_key(df, "event_id"), copies).select(
        "event_id", aug.KEY, aug.COPY, *columns, op.alias("r")
    )


@pytest.mark.parametrize(("kernel", "columns"), [(noise_kernel, ["price"]), (rotation_kernel, ["price", "quantity"])])
def test_the_spark_path_equals_the_pure_kernel(spark: SparkSession, kernel, columns: list[str]) -> None:
    got = augmented(priced(spark), kernel, columns).toPandas()
    values = [got[c].to_numpy(dtype=float, na_value=np.nan) for c in columns]
    applied, outputs = aug.apply_kernel(
        kernel, values, aug.keys_of(got[aug.KEY]), got[aug.COPY].to_numpy(), seed=SEED, label="0:op", p=0.7
    )
    np.testing.assert_array_equal(got.r.map(lambda r: r["applied"]).to_numpy(dtype=bool), applied)
    for i, output in enumerate(outputs):
        np.testing.assert_array_equal(
            got.r.map(lambda r, i=i: r[f"out{i}"]).to_numpy(dtype=float, na_value=np.nan), output
        )
    assert 0.6 < applied.mean() < 0.8  # the gate draws p = 0.7


def test_results_do_not_depend_on_partitioning_or_batch_size(spark: SparkSession) -> None:
    base = priced(spark)
    one = augmented(base.repartition(1), noise_kernel, ["price"])
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "37")
    try:
        four = augmented(base.repartition(4, "price"), noise_kernel, ["price"])
        left = sorted(one.select("event_id", aug.COPY, "r").collect())
        right = sorted(four.select("event_id", aug.COPY, "r").collect())
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    assert left == right and len(left) == 600 * 3


def test_cooccurrence_top_k_by_hand(spark: SparkSession) -> None:
    t0 = datetime(2024, 1, 1)
    sessions = {"s1": "abc", "s2": "ab", "s3": "bd"}
    rows = [
        (f"{s}{i}", "u1", item, t0 + timedelta(minutes=i), s)
        for s, items in sessions.items()
        for i, item in enumerate(items)
    ]
    events = spark.createDataFrame(
        rows, "event_id string, user_id string, item_id string, ts timestamp, session_id string"
    )
    table = similar.top_k(events, k=2)
    got = {(r.item_id, r.rank): (r.similar_item, r.score) for r in table.collect()}
    assert got == {
        ("a", 1): ("b", 2), ("a", 2): ("c", 1),
        ("b", 1): ("a", 2), ("b", 2): ("c", 1),  # c and d tie at 1: by id
        ("c", 1): ("a", 1), ("c", 2): ("b", 1),
        ("d", 1): ("b", 1),
    }  # fmt: skip
    lookup = similar.collect(table)
    assert lookup.similar_to("a") == {"b", "c"} and lookup.similar_to("z") == set()


def test_sessions_without_ids_split_on_gaps(spark: SparkSession) -> None:
    t0 = datetime(2024, 1, 1)
    minutes = [0, 10, 20, 90, 95]  # a 70-minute gap starts a second session
    rows = [(f"e{i}", "u1", f"i{i}", t0 + timedelta(minutes=m), None) for i, m in enumerate(minutes)]
    events = spark.createDataFrame(
        rows, "event_id string, user_id string, item_id string, ts timestamp, session_id string"
    )
    labels = [r.session for r in similar.sessions(events).orderBy("ts").collect()]
    assert labels[:3] == [labels[0]] * 3 and labels[3] == labels[4] != labels[0]
