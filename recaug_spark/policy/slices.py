"""The policy-validation slice: the training period cut once more, so that the policy is decided on
evidence that never touches the test period.

A leave-last split holds back each user's last training event (users with more than one); a global
split the training events of the last ``valid_days`` days of the training period. The rest (``fit``)
is what every candidate and ``real`` train on; the slice is scored the way evaluate scores the test
period (recommend/evaluate.py's relevant sets: a user's distinct slice items not seen in fit), per
segment ``all``, ``warm``, ``cold`` and ``short`` with the labels counted on fit. Users without fit
events are left out: no model personalises them (every candidate would give them the same fallback
list), so they would only dilute the differences. At most ``max_users`` users, a keyed hash sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recaug_spark.config import SplitConfig
from recaug_spark.errors import ConfigError, InputError
from recaug_spark.policy.decide import SEGMENTS
from recaug_spark.prep import split
from recaug_spark.recommend import evaluate as ev
from recaug_spark.recommend.ranking import RELEVANT


@dataclass(frozen=True)
class PolicySlice:
    """``fit``: the training rows candidates train on (the columns of the rows given); ``relevant``:
    ``(segment, user_id, relevant)`` of the slice's users, every segment of :data:`SEGMENTS` they
    belong to."""

    fit: DataFrame
    relevant: DataFrame


def carve(
    train: DataFrame,
    mode: str,
    *,
    cold_max: int,
    short_max: int,
    valid_days: int,
    max_users: int,
    seed: int,
) -> PolicySlice:
    """Cut ``train`` (training rows with ``event_id``, ``user_id``, ``item_id``, ``ts``) into fit rows and
    the policy slice, the way silver/split cut the events (``mode``: ``leave_last`` or ``global``).

    Raises:
        ConfigError: a global split whose last ``valid_days`` days leave no user with both fit events and
            a slice item new to them (they hold no training event, or all of a user's).
        InputError: the same for a leave-last split, or no training events at all.
    """
    if mode == "leave_last":
        assigned = split.with_split(SplitConfig(mode="leave_last", leave_last_n=1), cutoff=None)(train)
    else:
        first_day = train.agg(F.date_add(F.to_date(F.max("ts")), 1 - valid_days)).first()
        if first_day is None or first_day[0] is None:
            raise InputError("policy: the training period has no events to carve a validation slice from; run split")
        cutoff = datetime.combine(first_day[0], time(), tzinfo=UTC)
        assigned = split.with_split(SplitConfig(mode="global"), cutoff=cutoff)(train)
    fit = assigned.where(split.is_training()).drop("split")
    held = assigned.where(F.col("split") == split.TEST).drop("split")
    labelled = split.with_labels(cold_max, fit)(held).where(F.col("user_seen"))
    seen = fit.select("user_id", "item_id").distinct()
    relevant = ev.relevant_sets(labelled, seen, exclude_seen=True, short_max=short_max)
    relevant = relevant.where(F.col("segment").isin(*SEGMENTS) & (F.size(RELEVANT) > 0))
    sampled = ev.sample_users(relevant, max_users, seed=seed)
    if sampled.limit(1).count() == 0:
        problem = "leave no user with earlier training events and an item new to them"
        if mode == "global":
            raise ConfigError("policy.valid_days", f"the last {valid_days} day(s) of the training period {problem}")
        raise InputError(f"policy: users' last training events {problem}; set policy.mode: fixed")
    return PolicySlice(fit=fit, relevant=sampled)
