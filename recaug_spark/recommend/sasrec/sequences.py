"""SASRec's inputs, built in Spark: the item index, per-user item sequences, the validation slice.

* Items are numbered ``1 .. N`` (0 is the padding) by recommend/index.py (a distributed numbering).
  The catalogue is the items of the real training events (the evaluation's catalogue); rows of other
  items (a mask token) are dropped.
* A sequence is one key's events in (ts, event_id) order, as item indices, with an item that repeats
  the one before it dropped (``collapse_repeats``: a view then a cart of one item is one step).
* Real users: the training sequence is the history without its last item (that item is the user's
  validation target), cut to its last ``max_len + 1`` items; the scoring input is the whole history's
  last ``max_len`` items, and every item of the history is left out of the user's list.
* Direct augmentation: every copy of gold/augmented_events (user, ``aug_ops``, ``aug_copy``) and every
  user's synthetic events are one more training sequence; augmented rows derived from a user's last
  training event (the validation target) are left out, so validation never sees its answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recaug_spark.config import SasrecConfig

ITEM_IX = "item_ix"
ITEMS = "items"  # array<int>, oldest first
SEEN = "seen"  # array<int>: every item of a user's history
TARGET = "target"
LAST_EVENT = "last_event_id"


def ordered_items(events: DataFrame, index: DataFrame, keys: Sequence[str], *, collapse: bool) -> DataFrame:
    """``(*keys, items, last_event_id)``: each key's catalogue items in (ts, event_id) order."""
    rows = events.join(index, "item_id").select(*keys, F.struct("ts", "event_id", ITEM_IX).alias("_e"))
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


def training_sequences(
    history: DataFrame, extra: Mapping[str, DataFrame], index: DataFrame, conf: SasrecConfig
) -> DataFrame:
    """``(items)``: the training sequences of a variant, each at least two items, at most max_len + 1.

    ``extra`` holds the variant's other rows by kind: ``augmented`` (gold/augmented_events rows) and
    ``synthetic`` (gold/synthetic_events rows).
    """
    width = conf.max_len + 1
    parts = [history.select(tail(drop_last(F.col(ITEMS)), width).alias(ITEMS))]
    if "augmented" in extra:
        held_out = history.select("user_id", F.col(LAST_EVENT).alias("source_event_id"))
        copies = extra["augmented"].join(held_out, ["user_id", "source_event_id"], "left_anti")
        keyed = ordered_items(copies, index, ["user_id", "aug_ops", "aug_copy"], collapse=conf.collapse_repeats)
        parts.append(keyed.select(tail(F.col(ITEMS), width).alias(ITEMS)))
    if "synthetic" in extra:
        keyed = ordered_items(extra["synthetic"], index, ["user_id"], collapse=conf.collapse_repeats)
        parts.append(keyed.select(tail(F.col(ITEMS), width).alias(ITEMS)))
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.where(F.size(ITEMS) >= 2)


def validation_slice(history: DataFrame, conf: SasrecConfig, *, seed: int) -> DataFrame:
    """``(items, target)`` of at most ``validation_users`` users (a keyed hash sample): the history
    without its last item, and that item; users whose last item also appears earlier are left out
    (seen items are never relevant)."""
    before = drop_last(F.col(ITEMS))
    candidates = history.where(F.size(ITEMS) >= 2).select(
        "user_id", tail(before, conf.max_len).alias(ITEMS), F.element_at(ITEMS, -1).alias(TARGET), before.alias("_b")
    )
    fresh = candidates.where(~F.array_contains("_b", F.col(TARGET)))
    chosen = fresh.orderBy(F.xxhash64(F.lit(seed), "user_id"), "user_id").limit(conf.validation_users)
    return chosen.select(ITEMS, TARGET)


def scoring_inputs(history: DataFrame, users: DataFrame, conf: SasrecConfig) -> DataFrame:
    """``(user_id, items, seen)`` of the asked users that have a history (the others get no list)."""
    mine = history.join(users.select("user_id"), "user_id", "left_semi")
    return mine.select("user_id", tail(F.col(ITEMS), conf.max_len).alias(ITEMS), F.array_distinct(ITEMS).alias(SEEN))
