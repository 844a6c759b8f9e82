"""Benchmark augment: the generic column-op pandas UDF against the bare numpy kernels, on local[2].

Numeric ops over the same rows (10^7; 10^6 with ``--quick``), written once to Parquet (a 64-bit key,
``price``, ``quantity``), each timed three ways in one process:

* ``udf``: Spark reads the rows and runs the op through ``augment.spark.column_op`` (keyed draws,
  Arrow batches of ``spark.arrow_batch_size`` rows; p = 1, so no gate) into the no-op sink: rows/s on
  2 cores;
* ``numpy``: ``augment.frames.apply_kernel`` (the very function inside the UDF) on the same rows held
  as numpy arrays, in batches of the same size, in this single process: rows/s on 1 core;
* ``row_udf`` (gaussian_noise only): a row-at-a-time Python UDF computing the same values with plain
  Python integers (SplitMix64 and Box-Muller per row), on a sample of the rows; its values are checked
  against the pandas UDF's on that sample (4 partitions: both cores work).

``ratio`` = total udf throughput / (2 x total numpy throughput) over all ops (2 = the cores Spark has),
target >= 0.5; the per-op ratios are reported too, and so is ``identity_udf_rows_per_s``: a pandas UDF
returning its input on the same rows, i.e. Spark's own Arrow round trip (JVM rows -> Arrow -> Python
-> Arrow -> JVM rows) with no work at all. No column-op UDF can beat it, so ``ratio_ceiling`` =
identity / (2 x numpy) bounds the ratio any wrapper could reach on this machine, and
``udf_vs_identity`` says how close the column-op wrapper (keyed draws, kernel) comes to it.
``by_arrow_batch`` gives gaussian_noise, the identity UDF and the numpy kernel with Arrow batches of
10^4, 10^5 and 10^6 rows (the numpy kernel in batches of the same size; the configured size is the row
measured above, the others are timed again), to show whether the batch size moves that bound. The
benchmark also fails when the pandas UDF is less than 10x faster than the row UDF. Sequence ops run over demo
histories (the demo shop ingested, then each user's events grouped by the generic ``applyInPandas``
wrapper): sequences/s per op.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment import frames, recipes, similar
from recaug_spark.augment import spark as aug
from recaug_spark.augment.recipes import Fitted
from recaug_spark.augment.rng import stream_id
from recaug_spark.config import AugmentConfig, load_config
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.schema import BRONZE_EVENTS
from recaug_spark.session import build_session

TARGET = 0.5
MIN_SPEEDUP = 10.0
SEED = 42
SETTINGS = ("spark.master=local[2]", "spark.ui_enabled=false", "spark.driver_memory=6g", "spark.shuffle_partitions=8")
NUMERIC_OPS = [
    {"op": "gaussian_noise", "column": "price", "sigma": 0.5, "relative": False},
    {"op": "salt_and_pepper", "column": "price", "share": 0.1},
    {"op": "random_scaling", "column": "price", "low": 0.8, "high": 1.2},
    {"op": "rotation", "columns": ["price", "quantity"], "low": -0.3, "high": 0.3},
    {"op": "jitter", "column": "price", "r": 0.5},
    {"op": "feature_mask", "column": "price", "share": 0.2},
]
SEQUENCE_OPS = [
    {"op": "crop", "eta": 0.6},
    {"op": "mask", "gamma": 0.2},
    {"op": "reorder", "beta": 0.3},
    {"op": "substitute", "ratio": 0.3},
    {"op": "insert", "ratio": 0.3},
    {"op": "time_shift", "within": "day"},
]


def _rows(spark: SparkSession, n: int, path: Path) -> None:
    """n rows: a key (xxhash64 of the id), a log-normal price, a small integer quantity."""
    base = spark.range(n).select(
        F.xxhash64("id").alias(frames.KEY),
        F.lit(0).alias(frames.COPY),
        F.round(F.exp(F.randn(7) + 3), 2).alias("price"),
        F.floor(F.rand(8) * 5 + 1).cast("double").alias("quantity"),
    )
    base.write.mode("overwrite").parquet(str(path))


def _timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = action()
    return time.perf_counter() - started, out


def _sink(df: DataFrame) -> None:
    """Compute every row of ``df`` and write it nowhere (Spark's no-op sink)."""
    df.write.format("noop").mode("overwrite").save()


def _fitted(frame: dict[str, np.ndarray]) -> Fitted:
    quantiles = {("price", q): float(np.quantile(frame["price"], q)) for q in (0.99, 0.01)}
    return Fitted(quantiles=quantiles)


def _numpy_throughput(kernel: frames.ColumnKernel, arrays: list[np.ndarray], keys: np.ndarray, batch: int) -> float:
    copies = np.zeros(batch, dtype=np.int32)
    n = len(keys)

    def run() -> None:
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            frames.apply_kernel(kernel, [a[start:stop] for a in arrays], keys[start:stop], copies[: stop - start],
                                seed=SEED, label="0:op")  # fmt: skip

    seconds, _ = min((_timed(run) for _ in range(2)), key=lambda t: t[0])
    return n / seconds


def _udf_throughput(df: DataFrame, kernel: frames.ColumnKernel, columns: list[str]) -> float:
    op = aug.column_op(kernel, columns, seed=SEED, label="0:op")

    seconds, _ = min((_timed(lambda: _sink(df.select(op.alias("r")))) for _ in range(2)), key=lambda t: t[0])
    return df.count() / seconds


# -- the row-at-a-time reference: the keyed generator in plain Python integers -------------------------

_MASK = (1 << 64) - 1
_GOLDEN, _M1, _M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(x: int) -> int:
    x ^= x >> 30
    x = (x * _M1) & _MASK
    x ^= x >> 27
    x = (x * _M2) & _MASK
    return x ^ (x >> 31)


def _uniform(stream: int, key: int, index: int) -> float:
    salted = key ^ _mix((stream + index * _GOLDEN) & _MASK)
    return (_mix((_mix(salted) + stream) & _MASK) >> 11) / float(2**53)


def _row_noise_udf(sigma: float) -> Any:
    noise_stream = int(stream_id(SEED, "0:op", 0))

    def noisy(key: int, price: float | None) -> float | None:
        unsigned = key & _MASK
        if price is None:
            return price
        u1 = 1.0 - _uniform(noise_stream, unsigned, 0)
        u2 = _uniform(noise_stream, unsigned, 1)
        return price + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    # useArrow=False: the classic pickled row-at-a-time UDF (Spark 4 may otherwise batch it over Arrow).
    return F.udf(noisy, T.DoubleType(), useArrow=False)


def _speedup(
    spark: SparkSession, df: DataFrame, kernel: frames.ColumnKernel, *, sample: int, sigma: float, path: Path
) -> dict[str, float]:
    """Rows/s of the row-at-a-time UDF on ``sample`` rows, after checking it computes the same values."""
    df.limit(sample).repartition(4).write.mode("overwrite").parquet(str(path))  # both cores at work
    rows = spark.read.parquet(str(path))
    udf = _row_noise_udf(sigma)
    seconds, _ = _timed(lambda: _sink(rows.select(udf(frames.KEY, "price").alias("p"))))
    op = aug.column_op(kernel, ["price"], seed=SEED, label="0:op")
    by_row = rows.select(frames.KEY, udf(frames.KEY, "price").alias("row")).toPandas()
    vectorized = rows.select(frames.KEY, op.alias("vec")).toPandas()
    both = by_row.merge(vectorized, on=frames.KEY)
    assert len(both) == len(by_row) and np.allclose(both.row, both.vec, rtol=1e-12, equal_nan=True), (
        "the row UDF disagrees with the pandas UDF"
    )
    return {"row_udf_rows": sample, "row_udf_rows_per_s": sample / seconds}


def _identity_throughput(df: DataFrame) -> float:
    """Rows/s of a pandas UDF that returns its input: Spark's own Arrow round trip, no work at all."""

    def identity(key: pd.Series, price: pd.Series) -> pd.Series:
        return price

    udf = F.pandas_udf(identity, T.DoubleType())  # type: ignore[call-overload]
    seconds, _ = min((_timed(lambda: _sink(df.select(udf(frames.KEY, "price")))) for _ in range(2)), key=lambda t: t[0])
    return df.count() / seconds


def _batch_row(udf_tp: float, identity_tp: float, numpy_tp: float) -> dict[str, float]:
    return {"udf_rows_per_s": round(udf_tp), "identity_udf_rows_per_s": round(identity_tp),
            "numpy_rows_per_s": round(numpy_tp), "ratio": round(udf_tp / (2 * numpy_tp), 3),
            "ratio_ceiling": round(identity_tp / (2 * numpy_tp), 3)}  # fmt: skip


def _by_arrow_batch(
    spark: SparkSession,
    df: DataFrame,
    kernel: frames.ColumnKernel,
    arrays: list[np.ndarray],
    keys: np.ndarray,
    *,
    measured: tuple[int, dict[str, float]],
) -> dict[str, dict[str, float]]:
    """gaussian_noise (UDF and numpy) and the identity UDF per Arrow batch size; the ceiling each implies.
    ``measured``: the configured batch size and its row, already timed (not timed again)."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    configured, row = measured
    before = spark.conf.get(key)
    out = {str(configured): row}
    try:
        for batch in (b for b in (10_000, 100_000, 1_000_000) if b != configured):
            spark.conf.set(key, str(batch))
            numpy_tp = _numpy_throughput(kernel, arrays, keys, batch)
            out[str(batch)] = _batch_row(_udf_throughput(df, kernel, ["price"]), _identity_throughput(df), numpy_tp)
    finally:
        spark.conf.set(key, before)
    return dict(sorted(out.items(), key=lambda item: int(item[0])))


def _sequences(spark: SparkSession, work: Path, events: int) -> dict[str, Any]:
    """Sequences/s of each sequence op over the demo shop's histories (bronze events)."""
    cfg = load_config([], [*SETTINGS, f"source.events={events}"], lake_root=str(work / "demo-lake"))
    execute("ingest", cfg, spark)
    columns = [c for c in frames.SEQUENCE_COLUMNS if not c.startswith("_")]
    events_df = Lake(spark, cfg.lake.root).read(BRONZE_EVENTS).select(*columns).cache()
    users = events_df.select("user_id").distinct().count()
    table = similar.top_k(events_df, k=10)
    similar_items = spark.sparkContext.broadcast(similar.collect(table))
    keyed = aug.keyed_sequences(events_df, gap_minutes=30.0).cache()
    keyed.count()
    conf = AugmentConfig.model_validate({"ops": SEQUENCE_OPS})
    out = {}
    for index, spec in enumerate(conf.ops):
        recipe = frames.SequenceRecipe(seed=SEED, label=recipes.label(index, spec), p=1.0, copies=1,
                                       max_history=200, eligible=recipes.eligible(spec, 3))  # fmt: skip
        edit = recipes.frame_edit(spec, lambda: similar_items.value)
        seconds, _ = _timed(lambda e=edit, r=recipe: _sink(aug.sequence_op(keyed, e, r)))
        out[spec.op] = round(users / seconds)
    keyed.unpersist()
    events_df.unpersist()
    return {"sequence_users": users, "sequences_per_s": out}


def run(*, quick: bool) -> dict[str, Any]:
    """Run the timings; return the DESIGN.md result record."""
    n = 1_000_000 if quick else 10_000_000
    work = Path(tempfile.mkdtemp(prefix="bench-augment-"))
    try:
        cfg = load_config([], list(SETTINGS), lake_root=str(work / "lake"))
        spark = build_session(cfg.spark, app_name="bench-augment")
        batch = cfg.spark.arrow_batch_size
        path = work / "rows"
        _rows(spark, n, path)
        table = pq.read_table(str(path))
        keys = frames.keys_of(table.column(frames.KEY).to_numpy())
        arrays = {c: table.column(c).to_numpy() for c in ("price", "quantity")}
        df = spark.read.parquet(str(path))
        fitted = _fitted(arrays)
        per_op: dict[str, dict[str, float]] = {}
        numpy_seconds = udf_seconds = 0.0
        for spec in AugmentConfig.model_validate({"ops": NUMERIC_OPS}).ops:
            kernel = recipes.column_kernel(spec, fitted)
            columns = list(recipes.columns(spec))
            numpy_tp = _numpy_throughput(kernel, [arrays[c] for c in columns], keys, batch)
            udf_tp = _udf_throughput(df, kernel, columns)
            numpy_seconds += n / numpy_tp
            udf_seconds += n / udf_tp
            per_op[spec.op] = {"udf_rows_per_s": round(udf_tp), "numpy_rows_per_s": round(numpy_tp),
                               "ratio": round(udf_tp / (2 * numpy_tp), 3)}  # fmt: skip
        noise = AugmentConfig.model_validate({"ops": NUMERIC_OPS[:1]}).ops[0]
        sample = 50_000 if quick else 500_000
        kernel = recipes.column_kernel(noise, fitted)
        row = _speedup(spark, df, kernel, sample=sample, sigma=0.5, path=work / "sample")
        identity_tp = _identity_throughput(df)
        noise_tp = per_op["gaussian_noise"]
        measured = (batch, _batch_row(noise_tp["udf_rows_per_s"], identity_tp, noise_tp["numpy_rows_per_s"]))
        by_batch = _by_arrow_batch(spark, df, kernel, [arrays["price"]], keys, measured=measured)
        speedup = per_op["gaussian_noise"]["udf_rows_per_s"] / row["row_udf_rows_per_s"]
        sequences = _sequences(spark, work, 100_000 if quick else 1_000_000)
        udf_total, numpy_total = len(NUMERIC_OPS) * n / udf_seconds, len(NUMERIC_OPS) * n / numpy_seconds
        ratio = udf_total / (2 * numpy_total)
        return {
            "ratio": round(ratio, 3),
            "target": TARGET,
            "passed": ratio >= TARGET and speedup >= MIN_SPEEDUP,
            "rows": n,
            "arrow_batch_size": batch,
            "udf_rows_per_s": round(udf_total),
            "numpy_rows_per_s": round(numpy_total),
            "identity_udf_rows_per_s": round(identity_tp),
            "ratio_ceiling": round(identity_tp / (2 * numpy_total), 3),
            "udf_vs_identity": round(udf_total / identity_tp, 3),
            "per_op": per_op,
            "by_arrow_batch": by_batch,
            **{k: round(v) if isinstance(v, float) else v for k, v in row.items()},
            "speedup_over_row_udf": round(speedup, 1),
            "min_speedup": MIN_SPEEDUP,
            **sequences,
            "master": spark.sparkContext.master,
            "summary": (
                f"udf {udf_total:,.0f} rows/s vs numpy {numpy_total:,.0f} rows/s (1 core), identity UDF "
                f"{identity_tp:,.0f} rows/s; "
                f"{speedup:.0f}x the row UDF; sequences/s {sequences['sequences_per_s']}"
            ),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
