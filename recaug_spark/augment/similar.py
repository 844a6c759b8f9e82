"""Item similarity for substitute and insert: co-occurrence in training sessions, top-k per item.

Two items are similar when they occur in the same session (the event's session_id, or else a user's
run of events with gaps under ``gap_minutes``); the score is the number of sessions they share. Each
session contributes at most ``max_items`` distinct items (its first ones), so one huge session cannot
produce a quadratic number of pairs. Ties are broken by item id, so the table is deterministic.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.augment.sequence import SimilarItems


def with_sessions(events: DataFrame, *, gap_minutes: float = 30.0) -> DataFrame:
    """``events`` with a ``session`` column: session_id when given, else the user's run of events with
    gaps under ``gap_minutes`` (``u:<user>:<n>``)."""
    by_user = Window.partitionBy("user_id").orderBy("ts", "event_id")
    gap = F.unix_micros("ts") - F.lag(F.unix_micros("ts")).over(by_user)
    starts = F.coalesce(gap > F.lit(int(gap_minutes * 60 * 1_000_000)), F.lit(True)).cast("int")
    derived = F.concat_ws(":", F.lit("u"), "user_id", F.sum(starts).over(by_user).cast("string"))
    return events.withColumn("session", F.coalesce(F.col("session_id"), derived))


def sessions(events: DataFrame, *, gap_minutes: float = 30.0) -> DataFrame:
    """(session, item_id, ts) per event (see :func:`with_sessions`)."""
    return with_sessions(events, gap_minutes=gap_minutes).select("session", "item_id", "ts")


def top_k(events: DataFrame, *, k: int, max_items: int = 50, gap_minutes: float = 30.0) -> DataFrame:
    """(item_id, similar_item, score, rank) for the ``k`` most co-occurring items of each item."""
    firsts = sessions(events, gap_minutes=gap_minutes).groupBy("session", "item_id").agg(F.min("ts").alias("first"))
    ranked = firsts.withColumn(
        "n", F.row_number().over(Window.partitionBy("session").orderBy("first", "item_id"))
    ).where(F.col("n") <= max_items)
    left = ranked.select("session", F.col("item_id"))
    right = ranked.select("session", F.col("item_id").alias("similar_item"))
    pairs = left.join(right, "session").where(F.col("item_id") != F.col("similar_item"))
    scores = pairs.groupBy("item_id", "similar_item").agg(F.count(F.lit(1)).alias("score"))
    order = Window.partitionBy("item_id").orderBy(F.desc("score"), "similar_item")
    return scores.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= k)


def collect(table: DataFrame) -> SimilarItems:
    """The table as a :class:`SimilarItems` on the driver (items x k rows: bounded by ``k``)."""
    rows = table.groupBy("item_id").agg(
        F.transform(F.sort_array(F.collect_list(F.struct("rank", "similar_item"))), lambda s: s["similar_item"]).alias(
            "similar"
        )
    )
    return SimilarItems({r.item_id: r.similar for r in rows.toLocalIterator()})
