"""Benchmark normalize: static statistics by Window functions vs groupBy + join, on local[2].

The workload of the issue, on demo events (ingested once, not timed): z-score of price by category,
z-score of price by user, and a 7-day rolling z-score of price by user (a range window over past
fit rows, the same in every variant). Three strategies for the two static z-scores:

* ``join`` (the default, what preprocess runs): fit the statistics with ``groupBy`` and join them
  back (adaptive query execution broadcasts the small side when it is small enough);
* ``broadcast``: the same with an explicit broadcast hint on the statistics;
* ``window``: ``avg``/``stddev_pop`` over ``Window.partitionBy(key)`` (a sort per key, no join).

Each variant reads the same Parquet input and writes to Spark's ``noop`` sink, so every row is
computed and nothing else is measured. ``ratio`` = best variant time / default variant time; target
1.0 (the default is the fastest, within 3% timing noise).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import DemoSource, NormalizeSpec, load_config
from recaug_spark.pipeline import execute
from recaug_spark.prep import normalize
from recaug_spark.prep.normalize import FIT
from recaug_spark.session import build_session

TARGET = 1.0
NOISE = 0.03  # timings within 3% are a tie
REPEATS = 2
SETTINGS = ("spark.master=local[2]", "spark.ui_enabled=false", "spark.driver_memory=8g", "spark.shuffle_partitions=16")
STATIC = (
    NormalizeSpec(column="price", method="zscore", partition_by=("category",)),
    NormalizeSpec(column="price", method="zscore", partition_by=("user_id",)),
)
ROLLING = NormalizeSpec(column="price", method="zscore", partition_by=("user_id",), window_days=7)


def _prepare(spark: SparkSession, work: Path, events: int) -> tuple[str, int]:
    """Ingest the demo shop and write the benchmark input: user, category, ts, price, fit flag."""
    cfg = load_config([], [*SETTINGS, f"source.events={events}"], lake_root=str(work / "lake"))
    execute("ingest", cfg, spark)
    assert isinstance(cfg.source, DemoSource)
    cutoff = cfg.source.start_date + timedelta(days=int(cfg.source.days * 0.8))
    bronze = spark.read.format("delta").load(f"{cfg.lake.root}/bronze/events")
    items = spark.read.format("delta").load(f"{cfg.lake.root}/bronze/items").select("item_id", "category")
    rows = bronze.join(items, "item_id", "left").select(
        "user_id", "category", "ts", "price", (F.col("event_date") < F.lit(cutoff)).alias(FIT)
    )
    path = str(work / "input")
    rows.write.parquet(path)
    return path, spark.read.parquet(path).count()


def _join(df: DataFrame, *, hint: bool) -> DataFrame:
    for spec in STATIC:
        fitted = normalize.fit_static(df, spec)
        if hint and fitted.by_key is not None:
            fitted = normalize.StaticStats(spec, F.broadcast(fitted.by_key), fitted.overall)
        df = df.transform(normalize.apply_static(fitted, zero_spread="zero"))
    return df


def _window(df: DataFrame) -> DataFrame:
    for spec in STATIC:
        df = df.transform(normalize.apply_static_by_window(spec, zero_spread="zero"))
    return df


VARIANTS: dict[str, Callable[[DataFrame], DataFrame]] = {
    "join": lambda df: _join(df, hint=False),
    "broadcast": lambda df: _join(df, hint=True),
    "window": _window,
}
DEFAULT = "join"


def run(*, quick: bool) -> dict[str, Any]:
    """Time every variant (best of REPEATS, interleaved, order rotated); return the DESIGN.md result record."""
    events = 500_000 if quick else 10_000_000
    repeats = REPEATS
    work = Path(tempfile.mkdtemp(prefix="bench-normalize-"))
    try:
        cfg = load_config([], list(SETTINGS), lake_root=str(work / "lake"))
        spark = build_session(cfg.spark, app_name="bench-normalize")
        path, rows = _prepare(spark, work, events)
        seconds: dict[str, float] = {}
        names = list(VARIANTS)
        for repeat in range(repeats):  # the order rotates, so no variant always runs first (cold JIT)
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                variant = VARIANTS[name]
                started = time.perf_counter()
                out = variant(spark.read.parquet(path)).transform(normalize.apply_rolling(ROLLING, zero_spread="zero"))
                out.write.format("noop").mode("overwrite").save()
                seconds[name] = min(seconds.get(name, float("inf")), time.perf_counter() - started)
        best = min(seconds, key=seconds.__getitem__)
        ratio = seconds[best] / seconds[DEFAULT]
        return {
            "ratio": round(ratio, 3),
            "target": TARGET,
            "passed": ratio >= TARGET - NOISE,
            "events": rows,
            "default": DEFAULT,
            "best": best,
            **{f"{name}_seconds": round(s, 1) for name, s in seconds.items()},
            **{f"{name}_events_per_s": round(rows / s) for name, s in seconds.items()},
            "master": spark.sparkContext.master,
            "repeats": repeats,
            "summary": ", ".join(f"{name} {rows / s:,.0f} ev/s" for name, s in seconds.items()),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
