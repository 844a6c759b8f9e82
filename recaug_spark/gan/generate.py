"""Synthesis on the executors: a broadcast generator, one seeded batch per id of ``spark.range``.

The driver broadcasts the artifact's bytes and a small :class:`Plan` (bounded lookups: candidate users
and items per level, training dates per weekday). ``spark.range(n_batches)`` is mapped with
``mapInPandas``; each Python worker rebuilds the generator once from the bytes (verifying them) and
keeps it in a small locked cache keyed by the weights' digest, with torch's threads capped to the
task's cores. Batch ``b`` draws everything (noise, conditions, users, items, minutes) from generators
seeded by (run seed, version, b), so its rows do not depend on how batches are spread over tasks:
the table is the same on 1 or 3 partitions, local or on a cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from pyspark import TaskContext
from pyspark.broadcast import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from recaug_spark import tensors
from recaug_spark.augment.rng import stream_id
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.sample import ConditionLayout, flat_spans, generate_rows
from recaug_spark.gan.transform import NULL_LEVEL

MICROS_PER_DAY = 86_400_000_000
MICROS_PER_HOUR = 3_600_000_000

# What mapInPandas returns (plus one string column per other GAN column, see batch_schema); stage
# generate adds the audit and lineage columns.
BATCH_FIELDS = (
    T.StructField("event_id", T.StringType(), False),
    T.StructField("user_id", T.StringType(), False),
    T.StructField("item_id", T.StringType(), True),
    T.StructField("event_type", T.StringType(), True),
    T.StructField("ts_us", T.LongType(), False),
    T.StructField("quantity", T.DoubleType(), True),
    T.StructField("price", T.DoubleType(), True),
    T.StructField("gen_batch", T.LongType(), False),
)
CANONICAL = ("event_type", "price", "quantity")  # GAN columns written to their canonical column


def extra_columns(columns: Sequence[str]) -> list[str]:
    """The GAN columns without a canonical column of their own (kept as strings in ``attrs``)."""
    return [c for c in columns if c not in CANONICAL]


def batch_schema(columns: Sequence[str]) -> T.StructType:
    """What a batch returns: the canonical fields, then ``gan_<i>`` for the i-th extra column."""
    extra = [T.StructField(f"gan_{i}", T.StringType(), True) for i in range(len(extra_columns(columns)))]
    return T.StructType([*BATCH_FIELDS, *extra])


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


_CACHE = tensors.WorkerCache()


def cached_generator(digest: str, files: Mapping[str, bytes]) -> tuple[GeneratorArtifact, torch.nn.Module]:
    """This worker's generator for ``digest`` (built from ``files`` on first use). A module-level
    function, so the tasks' closures refer to the cache by name instead of pickling it."""

    def build() -> tuple[GeneratorArtifact, torch.nn.Module]:
        artifact = GeneratorArtifact.from_files(files, where=f"broadcast generator {digest[:12]}")
        return artifact, artifact.generator()

    return _CACHE.get(digest, build)


def batch_seed(seed: int, version: str, batch: int) -> int:
    """A 63-bit seed for batch ``batch`` of a run (stable across processes).

    Example:
        >>> batch_seed(42, "v1", 3) == batch_seed(42, "v1", 3) != batch_seed(42, "v1", 4)
        True
    """
    return int(stream_id(seed, f"generate:{version}", batch)) & ((1 << 63) - 1)


def synthesize_batch(artifact: GeneratorArtifact, generator: torch.nn.Module, plan: Plan, batch: int) -> pd.DataFrame:
    """The rows of batch ``batch`` (BATCH_SCHEMA columns), a pure function of (artifact, plan, batch)."""
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
    return pd.DataFrame(
        {
            "event_id": (f"gan:{plan.version}:{plan.seed}:{batch}:" + pd.Series(np.arange(n)).astype(str)).to_numpy(),
            "user_id": users,
            "item_id": items,
            "event_type": _column(decoded, "event_type", n, object),
            "ts_us": ts,
            "quantity": _column(decoded, "quantity", n, np.float64),
            "price": _column(decoded, "price", n, np.float64),
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
        return text.where(finite, None).to_numpy(dtype=object)
    return values.astype(object).where(values.notna(), None).to_numpy()  # categorical levels are strings already


def _levels(decoded: pd.DataFrame, column: str | None, n: int) -> np.ndarray:
    if column is None:
        return np.full(n, "*", dtype=object)
    return decoded[column].astype(object).where(decoded[column].notna(), None).to_numpy()


def _column(decoded: pd.DataFrame, name: str, n: int, dtype: type) -> np.ndarray:
    if name not in decoded.columns:
        return np.full(n, None if dtype is object else np.nan, dtype=dtype)
    return decoded[name].to_numpy(dtype=dtype)


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
    return day * MICROS_PER_DAY + hour * MICROS_PER_HOUR + within


def synthesize(spark: SparkSession, files: Broadcast[dict[str, bytes]], plan: Plan, *, partitions: int) -> DataFrame:
    """``spark.range(batches)`` mapped to synthetic rows on the executors (BATCH_SCHEMA)."""

    def batches(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        artifact, generator = cached_generator(plan.digest, files.value)
        context = TaskContext.get()
        torch.set_num_threads(max(1, context.cpus() if context is not None else 1))
        for frame in frames:
            for batch in frame["id"].tolist():
                yield synthesize_batch(artifact, generator, plan, int(batch))

    schema = batch_schema(plan.columns)
    return spark.range(0, plan.batches, 1, numPartitions=partitions).mapInPandas(batches, schema)


def digest_of(files: Mapping[str, bytes]) -> str:
    """The cache key of an artifact: a digest of all its files."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name])
    return h.hexdigest()
