"""Synthetic events from a trained generator, one batch at a time: a pure function of (artifact, plan, batch).

A :class:`Plan` holds what a batch needs besides the generator: bounded lookups the stage computes in
Spark (candidate users and items per level, training dates per weekday). Batch ``b`` draws everything
(noise, conditions, users, items, minutes) from generators seeded by (run seed, version, b), so its
rows do not depend on where it runs or what ran before: the table is the same on 1 or 3 partitions,
local or on a cluster. gan/spark.py runs the batches on the executors. Pure numpy/pandas/torch: no Spark.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.columns import NULL_LEVEL
from recaug_spark.gan.model import Generator
from recaug_spark.gan.sample import ConditionLayout, flat_spans, generate_rows
from recaug_spark.rng import stream_id

MICROS_PER_DAY = 86_400_000_000
MICROS_PER_HOUR = 3_600_000_000

CANONICAL = ("event_type", "price", "quantity")  # GAN columns written to their canonical column


def extra_columns(columns: Sequence[str]) -> list[str]:
    """The GAN columns without a canonical column of their own (kept as strings in ``attrs``)."""
    return [c for c in columns if c not in CANONICAL]


@dataclass(frozen=True)
class Candidates:
    """Ids to draw from, per level of one column, with cumulative weights (popularity)."""

    column: str | None  # the GAN column the level comes from (None: one pool for every row)
    ids: Mapping[str, tuple[str, ...]]
    cumulative: Mapping[str, tuple[float, ...]]

    def draw(self, levels: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One id per row: drawn among the row level's candidates (the pooled ones when it has none)."""
        out = np.empty(len(levels), dtype=object)
        for level in pd.unique(levels):  # one vectorized draw per level present
            key = level if level in self.ids else "*"
            rows = levels == level
            ids, cdf = self.ids.get(key, ()), np.asarray(self.cumulative.get(key, ()))
            if not ids:
                out[rows] = None
                continue
            out[rows] = np.asarray(ids, dtype=object)[
                np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(ids) - 1)
            ]
        return out


@dataclass(frozen=True)
class Plan:
    """Everything a batch needs besides the generator (small and picklable)."""

    version: str
    digest: str
    columns: tuple[str, ...]  # the generator's columns (its transformer's order)
    seed: int
    rows: int
    batch_rows: int
    condition: str  # sampled | fixed | cold_users
    condition_column: str | None = None
    condition_level: str | None = None
    cold_users: tuple[str, ...] = ()
    cold_user_levels: tuple[str, ...] = ()
    users: str = "existing"
    rows_per_new_user: int = 20
    user_candidates: Candidates | None = None
    item_candidates: Candidates | None = None
    dates_by_dow: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # 1 = Sunday -> epoch days

    @property
    def batches(self) -> int:
        return -(-self.rows // self.batch_rows)


def batch_seed(seed: int, version: str, batch: int) -> int:
    """A 63-bit seed for batch ``batch`` of a run (stable across processes).

    Example:
        >>> batch_seed(42, "v1", 3) == batch_seed(42, "v1", 3) != batch_seed(42, "v1", 4)
        True
    """
    return int(stream_id(seed, f"generate:{version}", batch)) & ((1 << 63) - 1)


def synthesize_batch(artifact: GeneratorArtifact, generator: Generator, plan: Plan, batch: int) -> pd.DataFrame:
    """The rows of batch ``batch``, a pure function of (artifact, plan, batch).

    Columns: event_id, user_id, item_id, event_type, ts_us, quantity, price, gen_batch, then ``gan_<i>``
    (text) for the i-th of :func:`extra_columns` (gan/spark.py's ``batch_schema`` gives their types).
    """
    n = min(plan.batch_rows, plan.rows - batch * plan.batch_rows)
    seed = batch_seed(plan.seed, plan.version, batch)
    rng = np.random.default_rng(seed)
    transformer = artifact.transformer
    layout = ConditionLayout.of(transformer)
    users = None
    if plan.condition == "cold_users":
        pick = rng.integers(0, len(plan.cold_users), size=n)
        users = np.asarray(plan.cold_users, dtype=object)[pick]
        column = np.full(n, layout.column_index(plan.condition_column or ""))
        level = transformer.level_index(
            plan.condition_column or "", np.asarray(plan.cold_user_levels, dtype=object)[pick]
        )
    elif plan.condition == "fixed":
        column = np.full(n, layout.column_index(plan.condition_column or ""))
        level = np.repeat(transformer.level_index(plan.condition_column or "", [plan.condition_level]), n)
    else:
        column, level = layout.draw(n, rng, log_frequency=False)
    decoded = generate_rows(
        generator, transformer, flat_spans(transformer), layout.vectors(column, level),
        embedding_dim=artifact.architecture.embedding_dim, seed=seed,
    )  # fmt: skip
    if plan.condition != "sampled":  # an asked-for condition is the row's value, not a hint
        name = plan.condition_column or ""
        levels = np.asarray(next(c.levels for c in transformer.categorical if c.name == name), dtype=object)[level]
        decoded[name] = np.where(levels == NULL_LEVEL, None, levels)
    u_user, u_item, u_day, u_minute = (rng.random(n) for _ in range(4))
    if users is None:
        if plan.users == "new":
            ordinal = pd.Series(np.arange(n) // plan.rows_per_new_user).astype(str)
            users = (f"syn:{plan.version}:{batch}:" + ordinal).to_numpy(dtype=object)
        else:
            assert plan.user_candidates is not None
            users = plan.user_candidates.draw(_levels(decoded, plan.user_candidates.column, n), u_user)
    assert plan.item_candidates is not None
    items = plan.item_candidates.draw(_levels(decoded, plan.item_candidates.column, n), u_item)
    ts = _timestamps(decoded, plan, u_day, u_minute)
    extra = {f"gan_{i}": _as_text(decoded[c]) for i, c in enumerate(extra_columns(transformer.columns))}
    constants = artifact.info.get("constants", {})  # the columns left out of the GAN for their one value
    return pd.DataFrame(
        {
            "event_id": (f"gan:{plan.version}:{plan.seed}:{batch}:" + pd.Series(np.arange(n)).astype(str)).to_numpy(),
            "user_id": users,
            "item_id": items,
            "event_type": _column(decoded, "event_type", n, object, constants),
            "ts_us": ts,
            "quantity": _column(decoded, "quantity", n, np.float64, constants),
            "price": _column(decoded, "price", n, np.float64, constants),
            "gen_batch": np.full(n, batch, dtype=np.int64),
            **extra,
        }
    )


def _as_text(values: pd.Series) -> np.ndarray:
    """A decoded column as strings (integral floats without ".0"), missing as None."""
    if pd.api.types.is_float_dtype(values):
        finite = values.notna()
        integral = finite & (values == values.round())
        text = values.astype(str).where(~integral, values.round().astype("Int64").astype(str))
        strings: np.ndarray = text.where(finite, None).to_numpy(dtype=object)
        return strings
    levels: np.ndarray = values.astype(object).where(values.notna(), None).to_numpy()
    return levels  # categorical levels are strings already


def _levels(decoded: pd.DataFrame, column: str | None, n: int) -> np.ndarray:
    if column is None:
        return np.full(n, "*", dtype=object)
    levels: np.ndarray = decoded[column].astype(object).where(decoded[column].notna(), None).to_numpy()
    return levels


def _column(decoded: pd.DataFrame, name: str, n: int, dtype: type, constants: Mapping[str, Any]) -> np.ndarray:
    """The decoded column, else its constant (the one training value), else missing."""
    if name not in decoded.columns:
        value = constants.get(name)
        return np.full(n, (None if dtype is object else np.nan) if value is None else value, dtype=dtype)
    values: np.ndarray = decoded[name].to_numpy(dtype=dtype)
    return values


def _timestamps(decoded: pd.DataFrame, plan: Plan, u_day: np.ndarray, u_minute: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch: a training date with the row's weekday, its hour, a random minute."""
    n = len(decoded)
    all_days = np.asarray(sorted(d for days in plan.dates_by_dow.values() for d in days), dtype=np.int64)
    day = np.empty(n, dtype=np.int64)
    dow = decoded["dow"].to_numpy(dtype=object) if "dow" in decoded.columns else np.full(n, None, dtype=object)
    for value in pd.unique(dow):
        rows = dow == value
        key = int(value) if value is not None and str(value).lstrip("-").isdigit() else None
        pool = np.asarray(plan.dates_by_dow.get(key, ()) if key is not None else (), dtype=np.int64)
        pool = pool if len(pool) else all_days
        day[rows] = pool[np.minimum((u_day[rows] * len(pool)).astype(np.int64), len(pool) - 1)]
    if "hour" in decoded.columns:
        hour = np.clip(np.nan_to_num(decoded["hour"].to_numpy(dtype=np.float64), nan=12.0), 0, 23).astype(np.int64)
        within = (u_minute * MICROS_PER_HOUR).astype(np.int64)
    else:
        hour = np.zeros(n, dtype=np.int64)
        within = (u_minute * MICROS_PER_DAY).astype(np.int64)
    micros: np.ndarray = day * MICROS_PER_DAY + hour * MICROS_PER_HOUR + within
    return micros


def digest_of(files: Mapping[str, bytes]) -> str:
    """An artifact's key (``Plan.digest``): a digest of all its files, so the executors never reuse a
    generator cached for other bytes."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name])
    return h.hexdigest()
