"""Item similarity for substitute and insert: co-occurrence in the training rows, top-k per item.

Two bases. Sessions (``window`` None): two items are similar when they occur in the same session (the
event's session_id, or else a user's run of events with gaps under ``gap_minutes``); the score is the
number of sessions they share, each session contributing at most ``max_items`` distinct items (its first
ones), so one huge session cannot produce a quadratic number of pairs. Neighbours (``window`` = w): two
items are similar when they occur at most w events apart in a user's time-ordered history; the score is
the number of users in whose history they do. Neighbours is the basis for logs whose timestamps do not
mark sessions (Beauty's are one day per review: no session holds two items). Ties are broken by item
id, so the table is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.augment.sequence import SimilarItems
from recaug_spark.errors import ConfigError


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


def top_k(
    events: DataFrame, *, k: int, window: int | None = None, max_items: int = 50, gap_minutes: float = 30.0
) -> DataFrame:
    """(item_id, similar_item, score, rank) for the ``k`` most co-occurring items of each item: in
    sessions when ``window`` is None, else within ``window`` events of each other in a user's history."""
    pairs = _session_pairs(events, max_items, gap_minutes) if window is None else _neighbour_pairs(events, window)
    scores = (
        pairs.where(F.col("item_id") != F.col("similar_item"))
        .groupBy("item_id", "similar_item")
        .agg(F.count(F.lit(1)).alias("score"))
    )
    order = Window.partitionBy("item_id").orderBy(F.desc("score"), "similar_item")
    return scores.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= k)


def _session_pairs(events: DataFrame, max_items: int, gap_minutes: float) -> DataFrame:
    """(item_id, similar_item) once per session holding both (ordered pairs, both directions)."""
    firsts = sessions(events, gap_minutes=gap_minutes).groupBy("session", "item_id").agg(F.min("ts").alias("first"))
    ranked = firsts.withColumn(
        "n", F.row_number().over(Window.partitionBy("session").orderBy("first", "item_id"))
    ).where(F.col("n") <= max_items)
    left = ranked.select("session", F.col("item_id"))
    right = ranked.select("session", F.col("item_id").alias("similar_item"))
    return left.join(right, "session").select("item_id", "similar_item")


def _neighbour_pairs(events: DataFrame, window: int) -> DataFrame:
    """(item_id, similar_item) once per user whose history holds them at most ``window`` events apart
    (ordered pairs, both directions): ``window`` lead columns per event, linear in the events."""
    by_user = Window.partitionBy("user_id").orderBy("ts", "event_id")
    ahead = events.select(
        "user_id", "item_id", *(F.lead("item_id", d).over(by_user).alias(f"_ahead{d}") for d in range(1, window + 1))
    )
    pairs = ahead.select(
        "user_id",
        F.explode(F.array(*(F.col(f"_ahead{d}") for d in range(1, window + 1)))).alias("similar_item"),
        "item_id",
    ).where(F.col("similar_item").isNotNull())
    both = pairs.unionByName(pairs.select("user_id", F.col("similar_item").alias("item_id"),
                                          F.col("item_id").alias("similar_item")))  # fmt: skip
    return both.distinct().select("item_id", "similar_item")


def collect(table: DataFrame) -> SimilarItems:
    """The table as a :class:`SimilarItems` on the driver (items x k rows: bounded by ``k``)."""
    rows = table.groupBy("item_id").agg(
        F.transform(F.sort_array(F.collect_list(F.struct("rank", "similar_item"))), lambda s: s["similar_item"]).alias(
            "similar"
        )
    )
    return SimilarItems({r.item_id: r.similar for r in rows.toLocalIterator()})


def none_found(key: str, needing: Sequence[str], *, window: int | None) -> ConfigError:
    """The error of an empty table (ops ``needing`` it would copy sequences unchanged): the cause, and the
    setting ``key`` that fixes it."""
    cause = (
        "no training session holds two items (a session is a session_id, or a user's run of events less than "
        "the session gap apart)"
        if window is None
        else "no user has two training events"
    )
    return ConfigError(
        key,
        f"no item has a similar item, so {', '.join(needing)} would copy sequences unchanged: {cause}. Set {key} "
        "(e.g. 3: items at most 3 events apart in a user's history are similar) or drop those ops",
    )
