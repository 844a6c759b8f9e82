"""Benchmark evaluate: full-catalogue ranking metrics in Spark vs the numpy reference, same predictions.

10^5 users x 10^4 items: each user has a top-20 list (items drawn by Zipf popularity, no repeats) and
1-10 relevant items (the same popularity), written once to Parquet (not timed). Spark: read the Parquet
files, per-user metrics for K = 5, 10, 20 (recommend/ranking.py, native SQL sums over each user's hits) and their
means, on local[2]. numpy: recommend/metrics.py's per_user_metrics on the same arrays and their means,
one process. ``ratio`` = numpy seconds / Spark seconds (target 0.5); the means must agree to 1e-9.
Both times are the best of three after a warm-up. ``spark_floor_seconds``: the same read and pairing
(ranking.paired) with no metric at all (each user's two list sizes summed), the least any Spark
computation of these metrics from these files must spend; ``ratio_ceiling`` = numpy seconds / that floor.
In memory: the pairs cached first (as numpy holds its arrays), then ranking.list_metrics alone:
``spark_in_memory_seconds``, ``ratio_in_memory``, and ``in_memory_floor_seconds`` (a count of the cached
pairs, the least any job over them costs).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import functions as F

from recaug_spark.config import load_config
from recaug_spark.recommend import metrics as ref
from recaug_spark.recommend import ranking
from recaug_spark.session import build_session

TARGET = 0.5
KS = (5, 10, 20)
SETTINGS = ("spark.master=local[2]", "spark.ui_enabled=false", "spark.driver_memory=6g", "spark.shuffle_partitions=8")


def predictions(users: int, items: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recommended (users, 20), relevant offsets, relevant items): Zipf-popular items, no repeats per user."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1)
    p = weights / weights.sum()
    recommended = np.empty((users, 20), dtype=np.int64)
    block = 1000
    for start in range(0, users, block):  # Gumbel top-k per block: 20 distinct items by popularity
        n = min(block, users - start)
        g = np.log(p)[None, :] - np.log(-np.log(rng.random((n, items))))
        recommended[start : start + n] = np.argsort(-g, axis=1)[:, :20]
    sizes = rng.integers(1, 11, users)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    relevant = np.empty(offsets[-1], dtype=np.int64)
    for start in range(0, users, block):
        n = min(block, users - start)
        g = np.log(p)[None, :] - np.log(-np.log(rng.random((n, items))))
        top = np.sort(np.argsort(-g, axis=1)[:, :10], axis=1)
        for size in range(1, 11):  # vectorized per relevant-set size
            rows = np.flatnonzero(sizes[start : start + n] == size)
            for j in range(size):
                relevant[offsets[start + rows] + j] = top[rows, j]
    return recommended, offsets, relevant


def run(*, quick: bool) -> dict[str, Any]:
    """Time both on the same predictions; return the DESIGN.md result record."""
    users, items = (20_000, 10_000) if quick else (100_000, 10_000)
    recommended, offsets, relevant = predictions(users, items)
    work = Path(tempfile.mkdtemp(prefix="bench-evaluate-"))
    try:
        ids = np.char.add("i", np.arange(items).astype(str)).astype(object)
        user_ids = np.char.add("u", np.arange(users).astype(str)).astype(object)
        list_offsets = pa.array(np.arange(0, recommended.size + 1, recommended.shape[1], dtype=np.int32))
        lists = pa.ListArray.from_arrays(list_offsets, pa.array(ids[recommended.ravel()], type=pa.string()))
        truth = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(ids[relevant], type=pa.string()))
        pq.write_table(pa.table({"user_id": user_ids, "items": lists}), work / "recs.parquet")
        pq.write_table(pa.table({"user_id": user_ids, "relevant": truth}), work / "truth.parquet")
        spark = build_session(load_config([], list(SETTINGS)).spark, app_name="bench-evaluate")
        names = ranking.metric_names(KS)

        def inputs() -> tuple[Any, Any]:
            return spark.read.parquet(str(work / "recs.parquet")), spark.read.parquet(str(work / "truth.parquet"))

        def means(pairs: Any) -> dict[str, float]:
            per_user = ranking.list_metrics(pairs, ks=KS)
            row = per_user.agg(*[F.avg(F.col(f"`{n}`")).alias(n) for n in names]).first()
            return {n: float(row[n]) for n in names}

        def spark_floor() -> int:
            joined = ranking.paired(*inputs())
            return int(joined.agg(F.sum(F.size("relevant") + F.size("items"))).first()[0])

        def best_of_three(action: Any) -> tuple[float, Any]:
            action()  # warm-up (JIT, file listing)
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                out = action()
                timings.append(time.perf_counter() - started)
            return min(timings), out

        def numpy_means() -> dict[str, float]:
            per_user = ref.per_user_metrics(recommended, offsets, relevant, ks=KS)
            return {n: float(per_user[n].mean()) for n in names}

        spark_seconds, spark_result = best_of_three(lambda: means(ranking.paired(*inputs())))
        floor_seconds, _ = best_of_three(spark_floor)
        cached = ranking.paired(*inputs()).cache()
        memory_floor_seconds, _ = best_of_three(cached.count)
        memory_seconds, memory_result = best_of_three(lambda: means(cached))
        cached.unpersist()
        numpy_seconds, numpy_result = best_of_three(numpy_means)
        worst = max(abs(result[n] - numpy_result[n]) for result in (spark_result, memory_result) for n in names)
        ratio = numpy_seconds / spark_seconds
        return {
            "ratio": round(ratio, 3),
            "target": TARGET,
            "passed": ratio >= TARGET and worst <= 1e-9,
            "users": users,
            "items": items,
            "spark_seconds": round(spark_seconds, 2),
            "numpy_seconds": round(numpy_seconds, 2),
            "spark_floor_seconds": round(floor_seconds, 2),
            "ratio_ceiling": round(numpy_seconds / floor_seconds, 3),
            "spark_in_memory_seconds": round(memory_seconds, 2),
            "in_memory_floor_seconds": round(memory_floor_seconds, 2),
            "ratio_in_memory": round(numpy_seconds / memory_seconds, 3),
            "max_abs_difference": worst,
            "ndcg@10": round(numpy_result["ndcg@10"], 6),
            "master": spark.sparkContext.master,
            "summary": f"spark {spark_seconds:.2f} s (read + join alone {floor_seconds:.2f} s; cached pairs "
            f"{memory_seconds:.2f} s, their count {memory_floor_seconds:.2f} s) vs numpy {numpy_seconds:.2f} s, "
            f"max |diff| {worst:.1e}",
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
