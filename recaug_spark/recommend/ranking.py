"""Ranking in Spark: deterministic top-K lists and per-user full-catalogue metrics, natively.

Lists are built from sorted arrays (``sort_array`` of (rank, item) structs), never from the order of a
``collect_list`` after a shuffle; ties break by score descending, then item id ascending. The metrics
are SQL higher-order functions over each user's list and relevant set (no Python), with the
definitions of recommend/metrics.py (the numpy reference they are tested against):

* precision@k = hits in the top k / k;  recall@k = hits in the top k / |R|
* ndcg@k = sum_{r <= k} hit_r / log2(r + 1)  /  sum_{r <= min(|R|, k)} 1 / log2(r + 1)
* map@k = sum_{r <= k} hit_r * precision@r / min(|R|, k)   (truncated at k)
* hit_rate@k = 1 if a hit in the top k;  mrr = 1 / rank of the first hit in the whole list, else 0

Users without relevant items are not scored (the caller counts them); a user without recommendations
scores 0 on every metric.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

ITEMS = "items"  # array<string>, rank order
RELEVANT = "relevant"  # array<string>, distinct


def top_k(scores: DataFrame, *, k: int, seen: DataFrame | None = None) -> DataFrame:
    """``(user_id, items)``: each user's ``k`` best items of ``(user_id, item_id, score)``, those in
    ``seen`` ``(user_id, item_id)`` left out; ties by item id ascending."""
    if seen is not None:
        scores = scores.join(seen.select("user_id", "item_id"), ["user_id", "item_id"], "left_anti")
    order = Window.partitionBy("user_id").orderBy(F.desc("score"), F.asc("item_id"))
    ranked = scores.withColumn("_rank", F.row_number().over(order)).where(F.col("_rank") <= k)
    listed = ranked.groupBy("user_id").agg(F.sort_array(F.collect_list(F.struct("_rank", "item_id"))).alias("_r"))
    return listed.select("user_id", F.transform("_r", lambda s: s["item_id"]).alias(ITEMS))


def metric_names(ks: Sequence[int]) -> list[str]:
    """Column names of :func:`per_user_metrics`, in order."""
    return [f"{m}@{k}" for k in ks for m in ("precision", "recall", "ndcg", "map", "hit_rate")] + ["mrr"]


def _up_to(k: int) -> Column:
    """1-based ranks of the hits within the top ``k`` (ascending)."""
    return F.filter("_hit_ranks", lambda r: r <= k)


def _sum(values: Column) -> Column:
    return F.aggregate(values, F.lit(0.0), lambda acc, x: acc + x)


def _ideal_dcg(k: int) -> Column:
    """sum_{r <= min(|R|, k)} 1 / log2(r + 1), looked up in a table of the k possible values."""
    table = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    return F.element_at(F.array(*[F.lit(float(v)) for v in table]), F.least(F.size(RELEVANT), F.lit(k)))


def _ndcg(k: int) -> Column:
    return _sum(F.transform(_up_to(k), lambda r: 1.0 / F.log2(r + 1))) / _ideal_dcg(k)


def _map(k: int) -> Column:
    """The j-th hit (1-based), at rank r, adds precision@r = j / r."""
    return _sum(F.transform(_up_to(k), lambda r, j: (j + 1) / r)) / F.least(F.size(RELEVANT), F.lit(k))


def per_user_metrics(
    recommended: DataFrame, relevant: DataFrame, *, ks: Sequence[int], by: Sequence[str] = ()
) -> DataFrame:
    """``(*by, user_id, <metric columns>)`` for every row of ``relevant`` ``(*by, user_id, relevant)`` with
    at least one relevant item; ``recommended`` is ``(user_id, items)`` from :func:`top_k` (a user missing
    from it has an empty list). ``by``: extra key columns of ``relevant`` kept (e.g. the segment)."""
    joined = relevant.where(F.size(RELEVANT) > 0).join(recommended, "user_id", "left")
    items = F.coalesce(F.col(ITEMS), F.array().cast("array<string>"))
    # The 1-based ranks of the hits, once per user: every metric below reads this short array.
    ranks = F.transform(items, lambda x, i: F.when(F.array_contains(RELEVANT, x), i + 1).otherwise(0))
    with_hits = joined.withColumn("_hit_ranks", F.filter(ranks, lambda r: r > 0))
    columns: list[Column] = []
    for k in ks:
        hits = F.size(_up_to(k))
        columns += [
            (hits / F.lit(float(k))).alias(f"precision@{k}"),
            (hits / F.size(RELEVANT)).alias(f"recall@{k}"),
            _ndcg(k).alias(f"ndcg@{k}"),
            _map(k).alias(f"map@{k}"),
            (hits > 0).cast("double").alias(f"hit_rate@{k}"),
        ]
    first = F.element_at("_hit_ranks", 1)
    columns.append(F.when(F.size("_hit_ranks") > 0, 1.0 / first).otherwise(0.0).alias("mrr"))
    return with_hits.select(*by, "user_id", *columns)
