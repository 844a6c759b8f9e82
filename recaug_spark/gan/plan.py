"""The generation plan: the bounded lookups a batch of synthetic rows needs, computed in Spark from the
generator's training rows.

``item_id`` is drawn among the most frequent training items of the generated category; ``user_id``
among the existing users under the row's user column (or the cold-start user the row is conditioned
on, ``generate.condition.mode: cold_users``); ``ts`` takes a training date with the generated weekday.
Every lookup is bounded (``generate.candidates_per_level`` ids per level, ``max_condition_users``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.config import GenerateConfig
from recaug_spark.errors import ConfigError, InputError
from recaug_spark.gan import generate as gen
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.columns import NULL_LEVEL, OTHER_LEVEL
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.lake import Lake
from recaug_spark.prep import split
from recaug_spark.schema import BRONZE_USERS, SILVER_SPLIT

POOL = "*"  # the candidates for rows whose level has none of its own
USER_COLUMNS = ("segment",)


def check_condition(conf: GenerateConfig, transformer: DataTransformer) -> None:
    column = conf.condition.column
    if column is None:
        return
    known = [c.name for c in transformer.categorical]
    if column not in known:
        raise ConfigError(
            "generate.condition.column", f"'{column}' is not a categorical column of the generator ({known})"
        )
    if conf.condition.mode == "cold_users" and not is_user_column(column):
        raise ConfigError("generate.condition.column", f"'{column}' is not a user column (segment or profile.<field>)")
    if conf.condition.mode == "fixed":
        try:
            transformer.level_index(column, [conf.condition.level])
        except ValueError as exc:
            raise ConfigError("generate.condition.level", str(exc)) from exc


def is_user_column(name: str) -> bool:
    return name in USER_COLUMNS or name.startswith(gan_table.PROFILE)


def _user_value(name: str) -> Column:
    """A user column's value in bronze/users."""
    if name.startswith(gan_table.PROFILE):
        return F.col("attrs").getItem(name[len(gan_table.PROFILE) :])
    return F.col(name)


def _as_level(value: Column, levels: Sequence[str]) -> Column:
    """A raw value mapped onto the generator's vocabulary (values beyond it are <other>)."""
    return F.when(value.isNull(), F.lit(None)).when(value.isin(list(levels)), value).otherwise(F.lit(OTHER_LEVEL))


def candidates(
    rows: DataFrame, id_column: str, level: Column | None, column: str | None, *, limit: int
) -> gen.Candidates:
    """The ``limit`` most frequent ids per level (by rows), and overall (the pool), with cumulative shares."""
    keyed = rows.select(F.col(id_column).alias("id"), (level if level is not None else F.lit(None)).alias("level"))
    per_level = keyed.where(F.col("level").isNotNull()).groupBy("level", "id").count()
    pooled = keyed.groupBy("id").count().withColumn("level", F.lit(POOL))
    order = Window.partitionBy("level").orderBy(F.desc("count"), "id")
    top = per_level.unionByName(pooled).withColumn("_r", F.row_number().over(order)).where(F.col("_r") <= limit)
    ids: dict[str, list[str]] = {}
    weights: dict[str, list[float]] = {}
    for row in top.orderBy("level", "_r").collect():  # bounded: (levels + 1) x limit rows
        ids.setdefault(row["level"], []).append(row["id"])
        weights.setdefault(row["level"], []).append(float(row["count"]))
    cumulative = {k: tuple(np.cumsum(w) / np.sum(w)) for k, w in weights.items()}
    return gen.Candidates(column, {k: tuple(v) for k, v in ids.items()}, cumulative)


def make_plan(
    lake: Lake,
    view: DataFrame,
    artifact: GeneratorArtifact,
    conf: GenerateConfig,
    *,
    version: str,
    digest: str,
    seed: int,
) -> gen.Plan:
    """The bounded lookups a batch needs, computed in Spark from the training rows."""
    transformer = artifact.transformer
    levels = {c.name: c.levels for c in transformer.categorical}
    item_level = _as_level(F.col("category"), levels["category"]) if "category" in levels else None
    items = candidates(
        view, "item_id", item_level, "category" if item_level is not None else None, limit=conf.candidates_per_level
    )
    user_column = conf.condition.column if conf.condition.column and is_user_column(conf.condition.column) else None
    user_column = user_column or next((c for c in levels if is_user_column(c)), None)
    user_level = None
    if user_column is not None:
        raw = (
            F.col("_profile").getItem(user_column[len(gan_table.PROFILE) :])
            if user_column.startswith(gan_table.PROFILE)
            else F.col(user_column)
        )
        user_level = _as_level(raw, levels[user_column])
    users = candidates(
        view, "user_id", user_level, user_column if user_level is not None else None, limit=conf.candidates_per_level
    )
    days = (
        view.select(F.dayofweek("event_date").alias("dow"), F.unix_date("event_date").alias("day")).distinct().collect()
    )
    if not days:
        raise InputError("the generator's training rows are gone (no training dates at its input versions)")
    dates_by_dow: dict[int, list[int]] = {}
    for row in sorted(days, key=lambda r: (r["dow"], r["day"])):
        dates_by_dow.setdefault(int(row["dow"]), []).append(int(row["day"]))
    cold_ids: tuple[str, ...] = ()
    cold_levels: tuple[str, ...] = ()
    if conf.condition.mode == "cold_users":
        assert conf.condition.column is not None
        cold_ids, cold_levels = _cold_users(
            lake, conf.condition.column, levels[conf.condition.column], limit=conf.max_condition_users
        )
    return gen.Plan(
        version=version, digest=digest, columns=tuple(transformer.columns), seed=seed, rows=conf.rows,
        batch_rows=conf.batch_rows, condition=conf.condition.mode, condition_column=conf.condition.column,
        condition_level=conf.condition.level, cold_users=cold_ids, cold_user_levels=cold_levels, users=conf.users,
        rows_per_new_user=conf.rows_per_new_user, user_candidates=users, item_candidates=items,
        dates_by_dow={k: tuple(v) for k, v in dates_by_dow.items()},
    )  # fmt: skip


def _cold_users(
    lake: Lake, column: str, levels: Sequence[str], *, limit: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cold-start users (silver/split) with their level of ``column``: a hash-ordered bounded set."""
    cold = lake.read(SILVER_SPLIT).where(F.col("user_segment") == split.COLD).select("user_id").distinct()
    if lake.exists(BRONZE_USERS):
        profiles = lake.read(BRONZE_USERS).select("user_id", _user_value(column).alias("_value"))
        cold = cold.join(profiles, "user_id", "left")
    else:
        cold = cold.withColumn("_value", F.lit(None).cast("string"))
    rows = (
        cold.select("user_id", _as_level(F.col("_value"), levels).alias("level"))
        .orderBy(F.xxhash64("user_id"), "user_id")
        .limit(limit)
        .collect()
    )
    if not rows:
        raise InputError("generate.condition.mode is cold_users but silver/split has no cold-start users")
    return tuple(r["user_id"] for r in rows), tuple(r["level"] if r["level"] is not None else NULL_LEVEL for r in rows)
