"""The recommenders, in Spark: each scores items for a set of users from weighted interactions.

Input ``interactions`` is ``(user_id, item_id, strength)`` (one row per pair, strength > 0). Every model
returns ``(user_id, item_id, score)`` candidates for the ``users`` asked, at least ``depth`` per user
where the catalogue allows, so that after removing seen items a top-K list is still full:

* popularity: the total strength of an item over all users, the same ranking for everyone;
* itemknn: score(u, j) = sum over u's items i of cos(i, j), cosine similarity of the items' user sets
  (binary), the ``neighbours`` most similar items kept per item;
* als: Spark ML ALS with implicit feedback (confidence 1 + alpha x strength), dot products of factors.
"""

from __future__ import annotations

from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recaug_spark.config import AlsConfig, ItemKnnConfig
from recaug_spark.recommend.index import contiguous_index


def popularity(interactions: DataFrame, users: DataFrame, *, depth: int) -> DataFrame:
    """The ``depth`` most popular items (by total strength, ties by item id) for every user."""
    top = (
        interactions.groupBy("item_id")
        .agg(F.sum("strength").alias("score"))
        .orderBy(F.desc("score"), "item_id")
        .limit(depth)
    )
    return users.select("user_id").crossJoin(F.broadcast(top))


def item_similarities(interactions: DataFrame, conf: ItemKnnConfig) -> DataFrame:
    """``(item_id, other, sim)``: cosine similarity of items over the users they share, top neighbours."""
    strongest = Window.partitionBy("user_id").orderBy(F.desc("strength"), "item_id")
    history = (
        interactions.withColumn("_r", F.row_number().over(strongest))
        .where(F.col("_r") <= conf.max_history)
        .select("user_id", "item_id")
    )
    users_per_item = history.groupBy("item_id").agg(F.count(F.lit(1)).alias("n"))
    pairs = (
        history.alias("a")
        .join(history.alias("b"), "user_id")
        .where(F.col("a.item_id") != F.col("b.item_id"))
        .groupBy(F.col("a.item_id").alias("item_id"), F.col("b.item_id").alias("other"))
        .agg(F.count(F.lit(1)).alias("both"))
    )
    sims = (
        pairs.join(users_per_item, "item_id")
        .join(users_per_item.withColumnRenamed("item_id", "other").withColumnRenamed("n", "n_other"), "other")
        .select("item_id", "other", (F.col("both") / F.sqrt(F.col("n") * F.col("n_other"))).alias("sim"))
    )
    nearest = Window.partitionBy("item_id").orderBy(F.desc("sim"), "other")
    return sims.withColumn("_r", F.row_number().over(nearest)).where(F.col("_r") <= conf.neighbours).drop("_r")


def itemknn(interactions: DataFrame, users: DataFrame, conf: ItemKnnConfig) -> DataFrame:
    """Scores of the neighbours of each asked user's items (a user whose items have no neighbours gets none)."""
    sims = item_similarities(interactions, conf)
    mine = interactions.join(users.select("user_id"), "user_id", "left_semi").select("user_id", "item_id")
    return (
        mine.join(sims, "item_id").groupBy("user_id", F.col("other").alias("item_id")).agg(F.sum("sim").alias("score"))
    )


def indexed(interactions: DataFrame) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Integer ids for ALS: (interactions with user_ix/item_ix, users map, items map), numbered 0.. by
    recommend/index.py (distributed; no single-partition window)."""
    users = contiguous_index(interactions, "user_id", name="user_ix")
    items = contiguous_index(interactions, "item_id", name="item_ix")
    return interactions.join(users, "user_id").join(items, "item_id"), users, items


def als(
    interactions: DataFrame,
    users: DataFrame,
    conf: AlsConfig,
    *,
    depth: int,
    seed: int,
    storage_level: str,
) -> DataFrame:
    """ALS (implicit) trained on ``interactions``; the ``depth`` best items per asked user (known users).
    ``storage_level``: where ALS caches its rating blocks and factors (a Spark storage level name)."""
    data, user_ids, item_ids = indexed(interactions)
    model = ALS(
        rank=conf.rank, regParam=conf.reg_param, alpha=conf.alpha, maxIter=conf.max_iter, implicitPrefs=True,
        userCol="user_ix", itemCol="item_ix", ratingCol="strength", seed=seed, numUserBlocks=conf.blocks,
        numItemBlocks=conf.blocks, coldStartStrategy="drop", nonnegative=False,
        intermediateStorageLevel=storage_level, finalStorageLevel=storage_level,
    ).fit(data.select("user_ix", "item_ix", "strength"))  # fmt: skip
    asked = users.select("user_id").join(user_ids, "user_id")
    recs = model.recommendForUserSubset(asked.select("user_ix"), depth)
    flat = recs.select("user_ix", F.explode("recommendations").alias("r")).select(
        "user_ix", F.col("r.item_ix").alias("item_ix"), F.col("r.rating").cast("double").alias("score")
    )
    return flat.join(user_ids, "user_ix").join(item_ids, "item_ix").select("user_id", "item_id", "score")
