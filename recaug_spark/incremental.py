"""What a date-partitioned stage must recompute when its input gained rows since its last success.

Preprocess and split fit everything on the training period. When that period is fixed
(``split.mode: global`` with a ``split.cutoff_date``) and the new rows all lie on or after the cutoff,
no statistic, threshold, feature or label changes: only the rows of the newest dates need computing,
with the fitted statistics read back from silver/norm_stats. In every other case the training period
itself changes (a quantile cutoff or leave-last-N moves with the data, or rows arrived inside it),
so everything fitted on it is recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import SplitConfig
from recaug_spark.lake import Lake


@dataclass(frozen=True)
class Plan:
    """``start`` is the first event_date to recompute (None: all); ``nothing_new``: no rows changed."""

    start: date | None
    reason: str
    nothing_new: bool = False

    @property
    def incremental(self) -> bool:
        return self.start is not None


def full(reason: str) -> Plan:
    """Recompute everything, because ``reason``."""
    return Plan(None, reason)


def decide(
    lake: Lake,
    split: SplitConfig,
    previous: Row | None,
    *,
    config_hash: str,
    inputs: Mapping[str, int],
    table: str,
    outputs_exist: bool,
    entities: Mapping[str, str] | None = None,
) -> Plan:
    """What a stage must recompute, given its last successful run ``previous`` (see :func:`plan`).

    Args:
        inputs: the stage's input versions now; ``table`` is its date-partitioned input.
        outputs_exist: whether every output table is there (a missing one forces a full run).
    """
    if previous is None:
        return full("no earlier successful run: full recompute")
    if previous.config_hash != config_hash:
        return full(f"the preprocess/split config changed since run {previous.run_id}: full recompute")
    if not outputs_exist:
        return full(f"output tables are missing since run {previous.run_id}: full recompute")
    since = dict(previous.input_versions or {})
    if since == dict(inputs):
        reason = f"{', '.join(sorted(inputs))} unchanged since run {previous.run_id}: nothing to recompute"
        return Plan(None, reason, nothing_new=True)
    return plan(lake, split, table, since, entities=entities)


def plan(
    lake: Lake,
    split: SplitConfig,
    table: str,
    since: Mapping[str, int],
    *,
    entities: Mapping[str, str] | None = None,
) -> Plan:
    """Decide between a full and an incremental recompute of a stage that reads ``table``.

    Args:
        table: the date-partitioned input (bronze/events or silver/events).
        since: the input versions of the last successful run.
        entities: other inputs (table -> key column, e.g. bronze/items -> item_id): a new key there
            that training events refer to changes the fit, so it forces a full recompute.
    """
    cutoff = split.cutoff_date
    if split.mode != "global" or cutoff is None:
        return full("the training period moves with new data (no split.cutoff_date): full recompute")
    if table not in since:
        return full(f"the last run did not read {table}: full recompute")
    changed = lake.changed_dates(table, since[table])
    if changed is None:
        return full(f"version {since[table]} of {table} is no longer readable: full recompute")
    if changed and changed[0] < cutoff:
        return full(f"{table} changed on {changed[0]}, inside the training period (before {cutoff}): full recompute")
    for entity, key in (entities or {}).items():
        if lake.exists(entity) and _new_keys_in_training(
            lake, table, entity, key, since=since.get(entity), cutoff=cutoff
        ):
            return full(f"new rows of {entity} describe training events: full recompute")
    if not changed:
        return Plan(None, f"no new rows in {table}", nothing_new=True)
    return Plan(changed[0], f"{len(changed)} new date(s) from {changed[0]} on; the training period is unchanged")


def _comparable(df: DataFrame) -> DataFrame:
    """The rows with map columns as JSON (set operations cannot compare maps)."""
    return df.select(*[F.to_json(f.name).alias(f.name) if isinstance(f.dataType, T.MapType) else F.col(f.name)
                       for f in df.schema.fields])  # fmt: skip


def _new_keys_in_training(lake: Lake, table: str, entity: str, key: str, *, since: int | None, cutoff: date) -> bool:
    """Whether a row of ``entity`` added or changed since version ``since`` belongs to a training event."""
    changed = _comparable(lake.read(entity))
    if since is not None:
        old = lake.read(entity, since)
        changed = changed.subtract(_comparable(old))
    training = lake.read(table).where(F.col("event_date") < F.lit(cutoff)).select(key)
    return not training.join(changed.select(key), key, "left_semi").isEmpty()
