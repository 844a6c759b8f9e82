"""Ranking in Spark: deterministic top-K lists and per-user full-catalogue metrics, natively.

Lists are built from sorted arrays (``sort_array`` of (rank, item) structs), never from the order of a
``collect_list`` after a shuffle; ties break by score descending, then item id ascending. The metrics
are native SQL over each user's hits (no Python, no per-item lambda), with the definitions of
recommend/metrics.py (the numpy reference they are tested against):

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
_SIZE, _LIST, _HIT, _J = "_n_relevant", "_items", "_hit", "_j"  # list_metrics' working columns


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


def _ideal_dcg(k: int) -> Column:
    """sum_{r <= min(|R|, k)} 1 / log2(r + 1), looked up in a table of the k possible values."""
    table = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    return F.element_at(F.array(*[F.lit(float(v)) for v in table]), F.least(F.col(_SIZE), F.lit(k)))


def paired(recommended: DataFrame, relevant: DataFrame) -> DataFrame:
    """Each row of ``relevant`` with at least one relevant item, beside that user's ``items`` (null when
    the user has no recommendation): what :func:`list_metrics` scores."""
    return relevant.where(F.size(RELEVANT) > 0).join(recommended, "user_id", "left")


def list_metrics(pairs: DataFrame, *, ks: Sequence[int], by: Sequence[str] = ()) -> DataFrame:
    """``(*by, user_id, <metric columns>)``, one row per ``(*by, user_id)`` of ``pairs`` (from :func:`paired`).

    One row per hit, not per recommended item: ``array_intersect(items, relevant)`` keeps the hits in
    rank order, so its 0-based position is j (the hit's index among the hits, for MAP) and
    ``array_position(items, hit)`` its rank r. A user without hits keeps one all-null row (the outer
    explode) and scores 0. Every metric is then a sum over a user's hit rows, in native (code-generated)
    expressions: no lambda runs per recommended item. A list that repeats an item counts it once, at
    its first rank (the numpy reference would count it at each).
    """
    items = F.coalesce(F.col(ITEMS), F.array().cast("array<string>"))
    hits = pairs.select(
        *by, "user_id", F.size(RELEVANT).alias(_SIZE), items.alias(_LIST),
        F.posexplode_outer(F.array_intersect(items, F.col(RELEVANT))).alias(_J, _HIT),
    )  # fmt: skip
    rank = F.array_position(_LIST, F.col(_HIT))  # 1-based; null on a user's no-hit row

    def total(name: str, value: Column, within: Column) -> Column:
        return F.sum(F.when(within, value).otherwise(0.0)).alias(name)

    sums: list[Column] = []
    for k in ks:
        within = rank <= k  # null (so: not counted) on a no-hit row
        sums += [
            total(f"_hits{k}", F.lit(1.0), within),
            total(f"_dcg{k}", 1.0 / F.log2(rank + 1), within),
            total(f"_ap{k}", (F.col(_J) + 1) / rank, within),  # the j-th hit at rank r adds precision@r
        ]
    sums.append(total("mrr", 1.0 / rank, F.col(_J) == 0))  # the first hit, anywhere in the list
    per_user = hits.groupBy(*by, "user_id", _SIZE).agg(*sums)
    columns: list[Column] = []
    for k in ks:
        n_hits = F.col(f"_hits{k}")
        columns += [
            (n_hits / F.lit(float(k))).alias(f"precision@{k}"),
            (n_hits / F.col(_SIZE)).alias(f"recall@{k}"),
            (F.col(f"_dcg{k}") / _ideal_dcg(k)).alias(f"ndcg@{k}"),
            (F.col(f"_ap{k}") / F.least(F.col(_SIZE), F.lit(k))).alias(f"map@{k}"),
            (n_hits > 0).cast("double").alias(f"hit_rate@{k}"),
        ]
    return per_user.select(*by, "user_id", *columns, "mrr")


def per_user_metrics(
    recommended: DataFrame, relevant: DataFrame, *, ks: Sequence[int], by: Sequence[str] = ()
) -> DataFrame:
    """``(*by, user_id, <metric columns>)`` for every row of ``relevant`` ``(*by, user_id, relevant)`` with
    at least one relevant item; ``recommended`` is ``(user_id, items)`` from :func:`top_k` (a user missing
    from it has an empty list). ``by``: extra key columns of ``relevant`` kept (e.g. the segment)."""
    return list_metrics(paired(recommended, relevant), ks=ks, by=by)
