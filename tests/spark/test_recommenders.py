"""The model registry and the popularity fallback: a toy model registered from outside runs through
evaluate, and every user a model leaves without a list gets the popularity list of the same rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.recommend import ranking, recommenders
from recaug_spark.recommend.protocol import FitContext, ModelSpec, TrainingSet
from recaug_spark.recommend.recommenders import answer_everyone
from recaug_spark.schema import GOLD_EVAL
from tests.conftest import DEMO_EVENTS, test_config


def test_answer_everyone_gives_the_unanswered_users_the_popularity_list(spark: SparkSession) -> None:
    """u1 has a list; u2's is empty and u3 has none: both get the most popular items they have not seen."""
    interactions = spark.createDataFrame(
        [("u1", "a", 3.0), ("u2", "a", 1.0), ("u2", "b", 2.0), ("u3", "c", 1.0), ("u4", "b", 2.0), ("u4", "d", 0.5)],
        "user_id string, item_id string, strength double",
    )  # popularity: b 4, a 4, c 1, d 0.5 (ties by item id: a before b)
    seen = interactions.select("user_id", "item_id")
    data = TrainingSet(variant="real", real=interactions, extra={}, interactions=interactions, seen=seen)
    lists = spark.createDataFrame([("u1", ["d"]), ("u2", [])], f"user_id string, {ranking.ITEMS} array<string>")
    users = spark.createDataFrame([("u1",), ("u2",), ("u3",)], "user_id string")
    answered, missing = answer_everyone(lists, users, data, k=2, depth=4)
    assert {r.user_id: r.items for r in answered.collect()} == {"u1": ["d"], "u2": ["c", "d"], "u3": ["a", "b"]}
    assert sorted(r.user_id for r in missing.collect()) == ["u2", "u3"]


class HalfOfTheUsers:
    """A toy model: the 10 smallest item ids for the users whose id hash is even, no list for the others."""

    def fit(self, data: TrainingSet, *, context: FitContext) -> None:
        self.items = sorted(r.item_id for r in data.interactions.select("item_id").distinct().limit(10).collect())

    def rank(self, users: DataFrame, *, k: int) -> DataFrame:
        chosen = users.where(F.xxhash64("user_id") % 2 == 0)
        return chosen.select("user_id", F.array(*[F.lit(i) for i in self.items[:k]]).alias(ranking.ITEMS))

    def trained(self) -> dict[str, object]:
        return {}


class NoUser:
    """A toy model that answers nobody: evaluate must score it exactly as popularity."""

    def fit(self, data: TrainingSet, *, context: FitContext) -> None:
        self.spark = context.spark

    def rank(self, users: DataFrame, *, k: int) -> DataFrame:
        return users.select("user_id", F.array().cast("array<string>").alias(ranking.ITEMS)).limit(0)

    def trained(self) -> dict[str, object]:
        return {"steps_run": 0, "history": []}  # a toy loop of nothing: its row still reaches the report


def test_a_registered_toy_model_runs_through_evaluate_and_every_user_is_answered(
    spark: SparkSession, tmp_path: Path, demo_split_lake: Path
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(demo_split_lake, root)
    with pytest.raises(ConfigError, match="unknown model"):
        test_config("evaluate.models=[popularity, half]", lake=root)
    with recommenders.registered(ModelSpec("half", HalfOfTheUsers), ModelSpec("nobody", NoUser)):
        cfg = test_config(
            DEMO_EVENTS, "evaluate.models=[popularity, half, nobody]",
            "evaluate.variants=[real, real+contrastive]", "evaluate.bootstrap_resamples=20", "evaluate.ks=[10]",
            lake=root,
        )  # fmt: skip
        execute("evaluate", cfg, spark, run_id="ev-toy")
    assert "half" not in recommenders.MODELS
    table = Lake(spark, str(root)).read(GOLD_EVAL).where("run_id = 'ev-toy'").toPandas()
    assert set(table.model) == {"popularity", "half", "nobody"}
    assert set(table.variant) == {"real"}  # real+contrastive is a sequential model's variant: none here
    meta = json.loads((root / "reports" / "ev-toy" / "metrics.json").read_text())["meta"]
    fallback = meta["popularity_fallback_users"]
    assert fallback["real/nobody"] == meta["users_scored"] > 0 and fallback["real/popularity"] == 0
    assert 0 < fallback["real/half"] < meta["users_scored"]
    assert meta["training"] == {"real/nobody": {"steps_run": 0, "history": []}}  # half has no training loop
    ndcg = table[(table.metric == "ndcg") & (table.segment == "all")].set_index("model").value
    assert ndcg["nobody"] == pytest.approx(ndcg["popularity"], abs=1e-12)  # everyone got popularity's list
    users = table[(table.metric == "ndcg") & (table.segment == "all")].set_index("model").n_users
    assert users["half"] == users["nobody"] == users["popularity"]
