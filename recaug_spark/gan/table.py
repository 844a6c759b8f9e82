"""The GAN's training table in Spark: training-period events with user profiles, a deterministic
bounded sample of it, and a driver-side reader that pulls the sample as Arrow batches.

The view is silver/events restricted to silver/split ``split = train`` (the leakage rule), joined with
bronze/users. A GAN column is any column of that view, ``segment``, ``profile.<field>`` (a user
attribute) or ``attrs.<field>`` (an event attribute). Rows are picked by u = xxhash64(seed, event_id)
mapped to [0, 1): u < h is the holdout, h <= u < h + f the training sample, each ordered by u and cut to
its bound, so the same lake version and seed always give the same rows, on any cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recaug_spark.config import GanConfig
from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.prep import split
from recaug_spark.schema import BRONZE_USERS, SILVER_EVENTS, SILVER_SPLIT
from recaug_spark.source_columns import GAN_DEFAULTS

log = logging.getLogger(__name__)

INPUTS = (SILVER_EVENTS, SILVER_SPLIT, BRONZE_USERS)
PROFILE, ATTRS = "profile.", "attrs."
U = "_gan_u"


def training_view(lake: Lake, versions: Mapping[str, int] | None = None) -> DataFrame:
    """Training-period events joined with the user profile (``segment``, ``_profile``), optionally at
    given Delta versions (so a later stage sees exactly the rows a generator was trained on)."""

    def read(table: str) -> DataFrame:
        return lake.read(table, (versions or {}).get(table))

    events = split.training_rows(read(SILVER_EVENTS), read(SILVER_SPLIT))
    if lake.exists(BRONZE_USERS):
        users = read(BRONZE_USERS).select("user_id", "segment", F.col("attrs").alias("_profile"))
        return events.join(users, "user_id", "left")
    return events.withColumn("segment", F.lit(None).cast("string")).withColumn("_profile", F.lit(None))


def _column(view: DataFrame, name: str, key: str) -> Column:
    """The view's expression for GAN column ``name``; ConfigError (``key``) naming what exists."""
    if name.startswith(PROFILE):
        return F.col("_profile").getItem(name[len(PROFILE) :])
    if name.startswith(ATTRS):
        return F.col("attrs").getItem(name[len(ATTRS) :])
    if name in view.columns and not name.startswith("_"):
        return F.col(name)
    known = sorted(c for c in view.columns if not c.startswith("_"))
    raise ConfigError(
        key, f"column '{name}' is not in the GAN's training table; use one of {known}, profile.<field> or attrs.<field>"
    )


def gan_table(view: DataFrame, cfg: GanConfig) -> DataFrame:
    """``event_id`` plus one column per GAN column (continuous as double, categorical as string),
    named by position (``c0``, ``c1``, ...: config names may hold dots); see :func:`names`."""
    selected = [F.col("event_id")]
    for i, name in enumerate(names(cfg)):
        kind = "double" if name in (cfg.continuous or ()) else "string"
        key = f"gan.{'continuous' if name in (cfg.continuous or ()) else 'categorical'}"
        selected.append(_column(view, name, key).cast(kind).alias(f"c{i}"))
    return view.select(*selected)


def chosen(cfg: GanConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (continuous, categorical) GAN columns of ``cfg`` with columns chosen (:func:`candidates`).

    Raises:
        ValueError: a column list is still unset (None).
    """
    if cfg.continuous is None or cfg.categorical is None:
        raise ValueError("the GAN columns are not chosen yet (gan_table.candidates)")
    return cfg.continuous, cfg.categorical


def names(cfg: GanConfig) -> list[str]:
    """The GAN columns in table order: continuous, then categorical (``cfg`` with columns chosen:
    :func:`candidates`)."""
    continuous, categorical = chosen(cfg)
    return [*continuous, *categorical]


def candidates(cfg: GanConfig, provided: frozenset[str] | None) -> GanConfig:
    """``cfg`` with every unset column list (None) replaced by its defaults (source_columns.GAN_DEFAULTS)
    that the source fills (``provided``; None = all), event_type always (:func:`without_constant` leaves
    out those with one value)."""
    chosen = {
        kind: tuple(c for c in defaults if provided is None or c in provided or c == "event_type")
        for kind, defaults in GAN_DEFAULTS.items()
        if getattr(cfg, kind) is None
    }
    return cfg.model_copy(update=chosen)


def without_constant(chosen: GanConfig, configured: GanConfig, sample: pd.DataFrame) -> GanConfig:
    """``chosen`` without the default columns (those ``configured`` leaves unset) that hold one value in
    the training ``sample`` (a missing value counts as one), whatever their kind: nothing for a GAN to
    learn, and every synthetic row takes that value (:func:`constants`). Logs what was chosen."""
    update: dict[str, tuple[str, ...]] = {}
    for kind in GAN_DEFAULTS:
        if getattr(configured, kind) is not None:
            continue
        columns: tuple[str, ...] = getattr(chosen, kind)
        kept = tuple(c for c in columns if sample[c].nunique(dropna=False) > 1)
        log.info(
            "train-gan: gan.%s not set: chose %s%s", kind, list(kept),
            f" (left out, one value in the training rows: {sorted(set(columns) - set(kept))})"
            if len(kept) < len(columns) else "",
        )  # fmt: skip
        update[kind] = kept
    return chosen.model_copy(update=update)


def constants(chosen: GanConfig, kept: GanConfig, sample: pd.DataFrame) -> dict[str, Any]:
    """The one value (None: missing) of each column of ``chosen`` that ``kept`` left out: what every
    synthetic row takes for it (JSON values, for the artifact's metadata)."""
    left_out = [c for c in names(chosen) if c not in names(kept)]
    return {c: _json_value(sample[c].iloc[0]) if len(sample) else None for c in left_out}


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Selection:
    """Which rows of the table form the training sample and the holdout (stored in the artifact)."""

    seed: int
    holdout_fraction: float
    train_fraction: float
    train_rows: int
    holdout_rows: int

    @classmethod
    def plan(cls, total: int, cfg: GanConfig, *, seed: int) -> Selection:
        """Fractions that yield about ``max_rows`` + ``holdout_rows`` rows of ``total`` (a 10% holdout
        when the table is smaller than both together)."""
        wanted = cfg.max_rows + cfg.holdout_rows
        if total <= wanted:
            h = min(0.1, cfg.holdout_rows / max(total, 1))
            return cls(seed, h, 1.0 - h, cfg.max_rows, cfg.holdout_rows)
        h = min(1.0, 1.1 * cfg.holdout_rows / total)  # 10% headroom: the bound is cut exactly by the order
        return cls(seed, h, min(1.0 - h, 1.1 * cfg.max_rows / total), cfg.max_rows, cfg.holdout_rows)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def with_u(self, table: DataFrame) -> DataFrame:
        """Adds u in [0, 1): the row's signed 64-bit hash, scaled and shifted."""
        signed = F.xxhash64(F.lit(self.seed), F.col("event_id")).cast("double")
        return table.withColumn(U, signed / F.lit(float(2**64)) + F.lit(0.5))

    def training(self, table: DataFrame, limit: int | None = None) -> DataFrame:
        u = F.col(U)
        picked = self.with_u(table).where(
            (u >= self.holdout_fraction) & (u < self.holdout_fraction + self.train_fraction)
        )
        return picked.orderBy(U, "event_id").limit(min(limit or self.train_rows, self.train_rows)).drop(U)

    def holdout(self, table: DataFrame, limit: int | None = None) -> DataFrame:
        picked = self.with_u(table).where(F.col(U) < self.holdout_fraction)
        return picked.orderBy(U, "event_id").limit(min(limit or self.holdout_rows, self.holdout_rows)).drop(U)


def arrow_batches(df: DataFrame) -> Iterator[pa.RecordBatch]:
    """``df``'s rows as Arrow record batches, pulled to the driver one partition at a time.

    Each executor serialises its Arrow batches as IPC streams (mapInArrow); the driver fetches them with
    toLocalIterator, so it never holds more than one partition's bytes besides what the caller keeps.
    """

    def serialise(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            yield pa.RecordBatch.from_pydict({"ipc": [sink.getvalue().to_pybytes()]})

    for row in df.mapInArrow(serialise, "ipc binary").toLocalIterator(prefetchPartitions=False):
        yield from pa.ipc.open_stream(bytes(row["ipc"]))


def to_pandas(df: DataFrame, cfg: GanConfig) -> pd.DataFrame:
    """A bounded GAN table (a selection) on the driver, columns named as in the config, in table order."""
    batches = list(arrow_batches(df))
    columns = ["event_id", *names(cfg)]
    if not batches:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c in (cfg.continuous or ()) else "object") for c in columns}
        )
    frame = pa.Table.from_batches(batches).to_pandas()
    frame.columns = columns
    for name in cfg.categorical or ():
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame.sort_values("event_id", kind="stable").reset_index(drop=True)
