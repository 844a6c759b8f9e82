"""The evaluate benchmark's anchor: our means equal pyspark's RankingEvaluator where the definitions agree,
and differ where its DEFINITIONS say they do."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from recaug_spark.recommend import ranking
from tests.benchmarks import bench_evaluate as bench


def _frames(spark: SparkSession, rows: list[tuple[str, list[int], list[int]]]) -> tuple[DataFrame, DataFrame]:
    """(ours: user_id, items, relevant as ids; the peer's: prediction, label as doubles) of the same lists."""
    ours = spark.createDataFrame(
        [(u, [f"i{i}" for i in items], [f"i{i}" for i in relevant]) for u, items, relevant in rows],
        "user_id string, items array<string>, relevant array<string>",
    )
    peer = spark.createDataFrame(
        [([float(i) for i in items], [float(i) for i in relevant]) for _, items, relevant in rows],
        "prediction array<double>, label array<double>",
    )
    return ours, peer


def test_our_means_equal_the_stock_evaluator_on_the_benchmark_file(spark: SparkSession, tmp_path: Path) -> None:
    recommended, offsets, relevant = bench.predictions(300, 200)
    path = tmp_path / "predictions.parquet"
    bench.write_predictions(path, recommended, offsets, relevant)
    scanned = spark.read.parquet(str(path))
    ours = bench.ours_means(scanned.select(*bench.OURS_COLUMNS))
    peer = bench.peer_means(scanned.select(*bench.PEER_COLUMNS))
    assert sorted(peer) == sorted(f"{m}@{k}" for m in bench.PEER_METRICS for k in bench.KS)
    assert all(ours[n] == pytest.approx(v, rel=0, abs=bench.TOLERANCE) for n, v in peer.items()), (ours, peer)


def test_where_the_definitions_differ(spark: SparkSession) -> None:
    """Spark averages a user without relevant items in as 0 (we leave them out), and counts a repeated item
    at each of its ranks (we count it once)."""
    ours, peer = _frames(spark, [("u0", [1, 2, 3], [1, 3]), ("u1", [4], [])])
    kept = bench.ours_means(ranking.paired(ours.select("user_id", "items"), ours.select("user_id", "relevant")))
    assert all(v == pytest.approx(kept[n] / 2) for n, v in bench.peer_means(peer).items())
    ours, peer = _frames(spark, [("u0", [1, 2, 1], [1])])
    once, each = bench.ours_means(ours), bench.peer_means(peer)
    assert (once["precision@5"], each["precision@5"]) == pytest.approx((1 / 5, 2 / 5))
    assert (once["recall@5"], each["recall@5"]) == pytest.approx((1.0, 2.0))  # Spark's recall exceeds 1
