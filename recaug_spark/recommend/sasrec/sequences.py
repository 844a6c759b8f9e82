"""SASRec's inputs, built in Spark: the item index, per-user item sequences, the validation slice.

* Items are numbered ``1 .. N`` (0 is the padding) by recommend/index.py (a distributed numbering).
  The catalogue is the items of the real training events (the evaluation's catalogue); rows of other
  items (a mask token) are dropped.
* A sequence is one key's events in time order, as item indices, with an item that repeats the one
  before it dropped (``collapse_repeats``: a view then a cart of one item is one step). Events of one
  timestamp (a basket: 43% of Complete Journey's training transitions) are in descending order of the
  item's real training events, ties by item id: a basket reads from its staples to its most specific
  item, which so ends the basket (and, for the last basket, is what the scoring input ends with and
  what a validating user holds back). The event id, a hash, breaks only the ties of one item at one
  time, which ``collapse_repeats`` merges anyway.
* Validation: at most ``validation_users`` users (a keyed hash sample of those whose last item is new
  to them) hold back their last training item as the validation target; only they train without it.
* Every window of a sequence is trained: a sequence of n items gives the windows of ``max_len + 1``
  items ending at item n, n - max_len, n - 2 max_len, ..., so every item from the second on is the
  target of exactly one window (the first window of a short sequence is the whole sequence).
* Real users train on their history (less the validation target); the scoring input is the whole
  history's last ``max_len`` items, and every item of the history is left out of the user's list.
* Direct augmentation: every copy of gold/augmented_events (user, ``aug_ops``, ``aug_copy``) and every
  user's synthetic events are more training sequences, weighted by ``augmented_weight`` /
  ``synthetic_weight``; equal windows are one row with their weights summed. For a validation user,
  augmented rows derived from the held-back event or carrying the validation item are left out, so
  validation never sees its answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recaug_spark.config import SasrecConfig
from recaug_spark.recommend.index import contiguous_index

ITEM_IX = "item_ix"
ITEMS = "items"  # array<int>, oldest first
SEEN = "seen"  # array<int>: every item of a user's history
TARGET = "target"
WEIGHT = "weight"
LAST_EVENT = "last_event_id"
ITEM_EVENTS = "item_events"  # the item's real training events: the order within a basket


def item_index(real: DataFrame) -> DataFrame:
    """``(item_id, item_ix, item_events)``: the catalogue (every item of the real training events)
    numbered ``1 .. N`` and each item's number of real training events."""
    counts = real.groupBy("item_id").agg(F.count(F.lit(1)).alias(ITEM_EVENTS))
    return contiguous_index(real, "item_id", name=ITEM_IX, start=1).join(counts, "item_id")


def ordered_items(events: DataFrame, index: DataFrame, keys: Sequence[str], *, collapse: bool) -> DataFrame:
    """``(*keys, items, last_event_id)``: each key's catalogue items in time order, a basket's (one
    timestamp's) by descending ``item_events``, then item id, then event id; ``index`` is
    :func:`item_index`'s."""
    order = F.struct("ts", (-F.col(ITEM_EVENTS)).alias("_rank"), "item_id", "event_id", ITEM_IX).alias("_e")
    rows = events.join(index, "item_id").select(*keys, order)
    grouped = rows.groupBy(*keys).agg(F.sort_array(F.collect_list("_e")).alias("_s"))
    listed = grouped.select(
        *keys,
        F.transform("_s", lambda e: e[ITEM_IX]).alias(ITEMS),
        F.element_at("_s", -1)["event_id"].alias(LAST_EVENT),
    )
    if not collapse:
        return listed
    previous = F.col(ITEMS)  # element_at is 1-based, so element_at(items, i) is the item before position i
    return listed.withColumn(ITEMS, F.filter(ITEMS, lambda x, i: (i == 0) | (x != F.element_at(previous, i))))


def tail(items: Column, n: int) -> Column:
    """The last ``n`` elements of an array (all of them when shorter)."""
    return F.slice(items, F.greatest(F.lit(1), F.size(items) - n + 1), n)


def drop_last(items: Column) -> Column:
    """An array without its last element (empty stays empty)."""
    return F.slice(items, 1, F.greatest(F.lit(0), F.size(items) - 1))


def histories(real: DataFrame, index: DataFrame, conf: SasrecConfig) -> DataFrame:
    """``(user_id, items, last_event_id)`` of every user with real training events."""
    return ordered_items(real, index, ["user_id"], collapse=conf.collapse_repeats)


def windows(items: Column, max_len: int) -> Column:
    """The windows of ``max_len + 1`` items ending at the last item, ``max_len`` items before it, and so
    on while a window holds a target (arrays of at least two items; one window when short)."""
    n = F.size(items)
    last = F.floor((n - 2) / max_len).cast("int")
    return F.transform(
        F.sequence(F.lit(0), last),
        lambda j: F.slice(
            items, F.greatest(F.lit(1), n - j * max_len - max_len), F.least(F.lit(max_len + 1), n - j * max_len)
        ),
    )


def _windowed(frame: DataFrame, max_len: int, weight: float) -> DataFrame:
    """``(items, weight)``: every window of the ``items`` of each row with at least two items."""
    return windowed(frame, max_len).select(ITEMS, F.lit(float(weight)).alias(WEIGHT))


def training_sequences(
    history: DataFrame,
    validation: DataFrame,
    extra: Mapping[str, DataFrame],
    index: DataFrame,
    conf: SasrecConfig,
    *,
    weights: Mapping[str, float],
) -> DataFrame:
    """``(items, weight)``: the distinct training windows of a variant, each of two to ``max_len + 1``
    items, weighted by the rows they stand for: a real window 1, an augmented or synthetic one
    ``weights[kind]``, summed over equal windows (a copy that repeats a sequence adds weight, not a row).

    ``validation`` is :func:`validation_slice`'s; ``extra`` holds the variant's other rows by kind:
    ``augmented`` (gold/augmented_events rows) and ``synthetic`` (gold/synthetic_events rows).
    """
    held = validation.select("user_id", F.lit(True).alias("_held"))
    real = history.join(held, "user_id", "left").select(
        F.when(F.col("_held"), drop_last(F.col(ITEMS))).otherwise(F.col(ITEMS)).alias(ITEMS)
    )
    parts = [_windowed(real, conf.max_len, 1.0)]
    if "augmented" in extra:
        keyed = augmented_sequences(extra["augmented"], validation, index, conf)
        parts.append(_windowed(keyed, conf.max_len, weights["augmented"]))
    if "synthetic" in extra:
        keyed = ordered_items(extra["synthetic"], index, ["user_id"], collapse=conf.collapse_repeats)
        parts.append(_windowed(keyed, conf.max_len, weights["synthetic"]))
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.groupBy(ITEMS).agg(F.sum(WEIGHT).alias(WEIGHT)).where(F.col(WEIGHT) > 0)


def augmented_sequences(augmented: DataFrame, validation: DataFrame, index: DataFrame, conf: SasrecConfig) -> DataFrame:
    """``(user_id, aug_ops, aug_copy, items, last_event_id)``: each augmented copy as a sequence, less the
    rows a validation user's copy may not train on (derived from the held-back event, or the held-back
    item itself); ``validation`` is :func:`validation_slice`'s."""
    held = validation.select("user_id", TARGET, LAST_EVENT)
    copies = augmented.join(
        held.select("user_id", F.col(LAST_EVENT).alias("source_event_id")), ["user_id", "source_event_id"], "left_anti"
    )
    answers = held.join(index, held[TARGET] == index[ITEM_IX]).select("user_id", "item_id")
    copies = copies.join(answers, ["user_id", "item_id"], "left_anti")
    return ordered_items(copies, index, ["user_id", "aug_ops", "aug_copy"], collapse=conf.collapse_repeats)


def windowed(frame: DataFrame, max_len: int) -> DataFrame:
    """``frame`` with ``items`` replaced by one row per window (rows with at least two items)."""
    return frame.where(F.size(ITEMS) >= 2).withColumn(ITEMS, F.explode(windows(F.col(ITEMS), max_len)))


def validation_slice(history: DataFrame, conf: SasrecConfig, *, seed: int) -> DataFrame:
    """``(user_id, items, target, last_event_id)`` of at most ``validation_users`` users (a keyed hash
    sample): the history's last ``max_len`` items before its last, and that item; users whose last item
    also appears earlier are left out (seen items are never relevant)."""
    before = drop_last(F.col(ITEMS))
    candidates = history.where(F.size(ITEMS) >= 2).select(
        "user_id", tail(before, conf.max_len).alias(ITEMS), F.element_at(ITEMS, -1).alias(TARGET), LAST_EVENT,
        before.alias("_b"),
    )  # fmt: skip
    fresh = candidates.where(~F.array_contains("_b", F.col(TARGET)))
    chosen = fresh.orderBy(F.xxhash64(F.lit(seed), "user_id"), "user_id").limit(conf.validation_users)
    return chosen.select("user_id", ITEMS, TARGET, LAST_EVENT)


def scoring_inputs(history: DataFrame, users: DataFrame, conf: SasrecConfig) -> DataFrame:
    """``(user_id, items, seen)`` of the asked users that have a history (the others get no list)."""
    mine = history.join(users.select("user_id"), "user_id", "left_semi")
    return mine.select("user_id", tail(F.col(ITEMS), conf.max_len).alias(ITEMS), F.array_distinct(ITEMS).alias(SEEN))
