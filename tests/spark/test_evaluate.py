"""Evaluation in Spark: ranking metrics against the numpy reference and pyspark's documented values, ties,
the distributed bootstrap against its pure kernel, and stage evaluate on a demo lake."""

from __future__ import annotations

import json
import shutil
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.augment.frames import keys_of
from recaug_spark.config import EVENT_TYPES
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.recommend import evaluate as ev
from recaug_spark.recommend import metrics as ref
from recaug_spark.recommend import ranking, recommenders
from recaug_spark.recommend.bootstrap import PairedDifference, paired_bootstrap, poisson_partial_sums
from recaug_spark.recommend.protocol import FitContext, TrainingSet
from recaug_spark.runs import latest
from recaug_spark.schema import GOLD_AUGMENTED, GOLD_EVAL, SILVER_EVENTS, SILVER_SPLIT
from recaug_spark.sources.synthetic_shop import ShopSpec, events_of_chunk
from tests.conftest import DEMO_EVENTS, test_config
from tests.digests import assert_recorded, table_digests

KS = (1, 3, 5)


def _spark_metrics(spark: SparkSession, lists: list[list[int]], relevant: list[list[int]]) -> dict[str, np.ndarray]:
    recs = spark.createDataFrame(
        [(f"u{u}", [str(i) for i in items]) for u, items in enumerate(lists) if items],
        "user_id string, items array<string>",
    )
    truth = spark.createDataFrame(
        [(f"u{u}", [str(i) for i in items]) for u, items in enumerate(relevant)],
        "user_id string, relevant array<string>",
    )
    rows = ranking.per_user_metrics(recs, truth, ks=KS).toPandas()
    rows["u"] = rows.user_id.str[1:].astype(int)
    rows = rows.sort_values("u")
    return {name: rows[name].to_numpy() for name in ranking.metric_names(KS)} | {"users": rows.u.to_numpy()}


def _reference(lists: list[list[int]], relevant: list[list[int]]) -> dict[str, np.ndarray]:
    width = max(len(x) for x in lists)
    recommended = np.full((len(lists), width), -1, dtype=np.int64)
    for u, items in enumerate(lists):
        recommended[u, : len(items)] = items
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in relevant])]).astype(np.int64)
    flat = np.array([i for r in relevant for i in r], dtype=np.int64)
    return ref.per_user_metrics(recommended, offsets, flat, ks=KS)


def test_spark_metrics_equal_the_numpy_reference(spark: SparkSession) -> None:
    rng = np.random.default_rng(0)
    lists = [list(rng.choice(60, size=rng.integers(0, 8), replace=False)) for _ in range(300)]
    relevant = [sorted(rng.choice(60, size=rng.integers(0, 6), replace=False).tolist()) for _ in range(300)]
    lists[0] = [-1]  # a user with a padded list only (no recommendation): every metric 0
    spark_side = _spark_metrics(spark, [[i for i in x if i >= 0] for x in lists], relevant)
    reference = _reference([x or [-1] for x in lists], relevant)
    included = np.flatnonzero(reference["included"])
    np.testing.assert_array_equal(spark_side["users"], included)  # users without relevant items: not scored
    for name in ranking.metric_names(KS):
        np.testing.assert_allclose(spark_side[name], reference[name], rtol=0, atol=1e-12, err_msg=name)


def test_pyspark_documented_ranking_example(spark: SparkSession) -> None:
    """pyspark's RankingMetrics example averages over 3 users, one of them without labels (scored 0);
    we leave that user out, so our means x 2/3 are the documented values."""
    lists = [[1, 6, 2, 7, 8, 3, 9, 10, 4, 5], [4, 1, 5, 6, 2, 7, 3, 8, 9, 10], [1, 2, 3, 4, 5]]
    relevant = [[1, 2, 3, 4, 5], [1, 2, 3], []]
    recs = spark.createDataFrame(
        [(f"u{u}", [str(i) for i in x]) for u, x in enumerate(lists)], "user_id string, items array<string>"
    )
    truth = spark.createDataFrame(
        [(f"u{u}", [str(i) for i in x]) for u, x in enumerate(relevant)], "user_id string, relevant array<string>"
    )
    rows = ranking.per_user_metrics(recs, truth, ks=(1, 2, 3, 5, 10, 15)).toPandas()
    assert len(rows) == 2
    mean = {c: rows[c].mean() * 2 / 3 for c in rows.columns if c != "user_id"}
    assert mean["precision@1"] == pytest.approx(1 / 3)
    assert mean["precision@5"] == pytest.approx(0.26666666666666666)
    assert mean["precision@15"] == pytest.approx(0.17777777777777778)
    assert mean["map@10"] == pytest.approx(0.35502645502645497)  # meanAveragePrecision (lists of 10)
    assert mean["map@1"] == pytest.approx(1 / 3)
    assert mean["map@2"] == pytest.approx(0.25)
    assert mean["ndcg@3"] == pytest.approx(1 / 3)
    assert mean["ndcg@10"] == pytest.approx(0.487913, abs=5e-7)  # documented "0.48..."; by hand 0.4879127
    assert mean["recall@1"] == pytest.approx(0.06666666666666667)
    assert mean["recall@5"] == pytest.approx(0.35555555555555557)


def test_a_repeated_item_counts_once_at_its_first_rank(spark: SparkSession) -> None:
    recs = spark.createDataFrame([("u", ["b", "a", "a", "c"])], "user_id string, items array<string>")
    truth = spark.createDataFrame([("u", ["a", "c"])], "user_id string, relevant array<string>")
    row = ranking.per_user_metrics(recs, truth, ks=(4,)).first()
    assert row["precision@4"] == 0.5 and row["recall@4"] == 1.0 and row["mrr"] == 0.5  # hits at ranks 2 and 4
    assert row["map@4"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert row["ndcg@4"] == pytest.approx((1 / np.log2(3) + 1 / np.log2(5)) / (1 + 1 / np.log2(3)))


def test_top_k_breaks_ties_by_item_id_and_leaves_seen_items_out(spark: SparkSession) -> None:
    scores = spark.createDataFrame(
        [("u", "b", 1.0), ("u", "a", 1.0), ("u", "c", 2.0), ("u", "d", 1.0), ("u", "e", 0.5), ("v", "z", 1.0)],
        "user_id string, item_id string, score double",
    )
    seen = spark.createDataFrame([("u", "a")], "user_id string, item_id string")
    got = {r.user_id: r.items for r in ranking.top_k(scores, k=3, seen=seen).collect()}
    assert got == {"u": ["c", "b", "d"], "v": ["z"]}


def test_als_on_disk_only_storage_gives_the_same_scores(spark: SparkSession) -> None:
    """spark.persist_level=disk_only makes ALS cache on disk (the 2 GiB scale run): same model, same scores."""
    from recaug_spark.config import AlsConfig
    from recaug_spark.recommend import models

    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{(u * 3 + int(j)) % 25}", float(1 + j % 3)) for u in range(40) for j in rng.integers(0, 8, 6)]
    interactions = spark.createDataFrame(rows, "user_id string, item_id string, strength double")
    users = interactions.select("user_id").distinct()
    conf = AlsConfig(rank=4, max_iter=3, blocks=2)
    scores = {
        level: {
            (r.user_id, r.item_id): r.score
            for r in models.als(interactions, users, conf, depth=5, seed=1, storage_level=level).collect()
        }
        for level in ("MEMORY_AND_DISK", "DISK_ONLY")
    }
    assert len(scores["DISK_ONLY"]) == 40 * 5
    assert scores["DISK_ONLY"].keys() == scores["MEMORY_AND_DISK"].keys()
    for key, value in scores["MEMORY_AND_DISK"].items():
        assert scores["DISK_ONLY"][key] == pytest.approx(value, rel=1e-5, abs=1e-6)


def test_user_sample_is_the_keyed_hash_smallest_users_with_all_their_segments(spark: SparkSession) -> None:
    rows = [("all", f"u{u}", [f"i{u}"]) for u in range(200)]
    rows += [("warm" if u % 3 else "cold", f"u{u}", [f"i{u}"]) for u in range(200)]
    relevant = spark.createDataFrame(rows, "segment string, user_id string, relevant array<string>")
    samples = [
        {(r.segment, r.user_id) for r in ev.sample_users(relevant.repartition(parts), 30, seed=7).collect()}
        for parts in (1, 5)
    ]
    assert samples[0] == samples[1]
    hashes = relevant.select("user_id", F.xxhash64(F.lit(7), "user_id").alias("h")).distinct().toPandas()
    expected = set(hashes.sort_values(["h", "user_id"]).user_id.iloc[:30])
    assert {user for _, user in samples[0]} == expected
    assert len(samples[0]) == 60  # both segment rows of every chosen user
    assert {user for _, user in samples[0]} != {user for _, user in (
        (r.segment, r.user_id) for r in ev.sample_users(relevant, 30, seed=8).collect()
    )}  # fmt: skip
    assert ev.sample_users(relevant, 500, seed=7).count() == 400


def test_distributed_bootstrap_equals_its_kernel_on_any_partitioning(spark: SparkSession) -> None:
    rng = np.random.default_rng(1)
    n = 400
    real = rng.random(n)
    cancelling = np.zeros(n)  # differences of 0 in exact arithmetic; replicates' means 0 up to rounding
    cancelling[[3, 117, 229, 335]] = [0.1, 0.2, 0.03, -0.33]
    rows = [
        (variant, "m", "all", f"u{u}", float(x))
        for u in range(n)
        for variant, x in (
            ("real", real[u]), ("real+augmented", rng.random() + 0.05), ("real+tied", real[u] + cancelling[u])
        )
    ]  # fmt: skip
    frame = spark.createDataFrame(
        rows, "variant string, model string, segment string, user_id string, `ndcg@10` double"
    )
    results = [
        ev.bootstrap(
            frame.repartition(parts), ["ndcg@10"], ["real", "real+augmented", "real+tied"], seed=3, resamples=200,
            confidence=0.95,
        )
        for parts in (1, 4)
    ]  # fmt: skip
    tied = [r["real+tied|m|all|real"][0] for r in results]
    assert tied[0].p_value == tied[1].p_value  # ties at 0 do not take the sign of the partition order's rounding
    diff = results[0]["real+augmented|m|all|real"][0]
    assert diff.ci_low == pytest.approx(results[1]["real+augmented|m|all|real"][0].ci_low, abs=1e-12)
    values = frame.toPandas().pivot(index="user_id", columns="variant", values="ndcg@10")
    keys = keys_of(
        spark.createDataFrame([(u,) for u in values.index], "user_id string")
        .select(F.xxhash64("user_id"))
        .toPandas()
        .iloc[:, 0]
    )
    sums, weights = poisson_partial_sums(
        keys, (values["real+augmented"] - values["real"]).to_numpy()[:, None], seed=3, resamples=200
    )
    means = np.sort(sums[:, 0] / weights)
    assert diff.ci_low == pytest.approx(np.quantile(means, 0.025), abs=1e-12)
    assert diff.difference == pytest.approx((values["real+augmented"] - values["real"]).mean(), abs=1e-12)
    assert diff.ci_low < diff.difference < diff.ci_high and diff.n_users == n


@pytest.fixture(scope="module")
def evaluated(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, demo_split_lake: Path
) -> tuple[Lake, Path]:
    root = tmp_path_factory.mktemp("evaluate") / "lake"
    shutil.copytree(demo_split_lake, root)
    # SASRec gets 30 steps: this checks what evaluate writes, not how well SASRec learns (that is
    # test_sasrec_beats_als_and_itemknn_on_the_demo_shop, in make test-nightly).
    cfg = test_config(
        DEMO_EVENTS, "augment.ops=[{op: substitute, ratio: 0.5}]",
        "evaluate.variants=[real, real+augmented, real+contrastive]", "evaluate.bootstrap_resamples=200",
        "evaluate.als.max_iter=5", "evaluate.sasrec.steps=30", "evaluate.ablation=true",
        "evaluate.ablation_models=[popularity, sasrec]", lake=root,
    )  # fmt: skip
    execute("augment", cfg, spark, run_id="aug-e")
    execute("evaluate", cfg, spark, run_id="ev-1")
    return Lake(spark, str(root)), root / "reports" / "ev-1"


def test_evaluate_writes_the_metrics_recorded_before_the_redesign(
    evaluated: tuple[Lake, Path], spark: SparkSession, tmp_path: Path
) -> None:
    """Behaviour pinned: every model and variant (SASRec, contrastive and the ablation included) gives the
    metrics and augmented rows recorded at commit f19540d (30 precision p-values re-recorded when ties
    at 0 became partition-independent, recommend/bootstrap.py TIE_TOLERANCE; the metrics re-recorded
    when SASRec moved to a step budget with every window trained and every model began answering every
    user through the popularity fallback, issue 31, and again when conf/local.yaml gave the demo shop its
    SASRec profile: 5 items of context, full softmax; the augmented rows unchanged)."""
    lake, _ = evaluated
    root = Path(str(lake.root).removeprefix("file:"))
    found = table_digests(spark, root, [GOLD_EVAL, GOLD_AUGMENTED])
    assert_recorded("evaluated", found, tmp_path / "digests.json")


def test_evaluate_writes_metrics_that_equal_the_report(evaluated: tuple[Lake, Path]) -> None:
    lake, report = evaluated
    table = lake.read(GOLD_EVAL).where("run_id = 'ev-1'").toPandas()
    data = json.loads((report / "metrics.json").read_text())
    assert len(data["metrics"]) == len(table) > 0
    by_key = {(m["variant"], m["model"], m["segment"], m["metric"], m["k"]): m for m in data["metrics"]}
    for row in table.itertuples():
        k = None if np.isnan(row.k) else int(row.k)
        assert by_key[(row.variant, row.model, row.segment, row.metric, k)]["value"] == pytest.approx(row.value, abs=0)
    assert set(table.variant) == {"real", "real+augmented", "real+contrastive", "real+substitute"}
    assert set(table.model) == {"popularity", "itemknn", "als", "sasrec"}
    assert set(table[table.variant == "real+contrastive"].model) == {"sasrec"}  # a sequential model's variant
    models = Path(str(lake.root).removeprefix("file:")) / "models" / "seqrec"
    assert {p.name for p in models.iterdir()} == {
        "ev-1-real", "ev-1-real_augmented", "ev-1-real_contrastive", "ev-1-real_substitute"
    }  # fmt: skip
    # the ablation variant of the run's only op trains on the same rows as real+augmented: the same metrics
    ablated = table[table.variant == "real+substitute"].set_index(["model", "segment", "metric", "k"]).value
    assert set(ablated.index.get_level_values("model")) == {"popularity", "sasrec"}
    whole = table[table.variant == "real+augmented"].set_index(["model", "segment", "metric", "k"]).value
    pd.testing.assert_series_equal(ablated.sort_index(), whole.loc[ablated.index].sort_index(), check_names=False)
    assert {"all", "warm", "cold", "short"} <= set(table.segment)
    ndcg = table[(table.metric == "ndcg") & (table.k == 10)]
    assert ((ndcg.ci_low <= ndcg.value) & (ndcg.value <= ndcg.ci_high)).all()
    augmented = ndcg[ndcg.variant == "real+augmented"]
    assert augmented.difference.notna().all() and ndcg[ndcg.variant == "real"].difference.isna().all()
    md = (report / "report.md").read_text()
    assert md.splitlines()[2] == "## The answer" and "**Best model: " in md
    assert "## Verdicts" in md and "### all (" in md and "| model | real | real+augmented |" in md
    assert (report / "paired_differences.png").exists()
    # every pair of models, paired on the same users: the difference of the two means, inside its interval
    between = {
        (d["model"], d["against"], d["segment"]): d
        for d in data["meta"]["model_differences"]
        if d["metric"] == "ndcg" and d["k"] == 10
    }
    means = ndcg[ndcg.variant == "real"].set_index(["model", "segment"]).value
    for first, second in combinations(data["meta"]["models"], 2):
        for segment in ("all", "warm", "cold", "short"):
            d = between[(first, second, segment)]
            expected = means[(first, segment)] - means[(second, segment)]
            assert d["difference"] == pytest.approx(expected, abs=1e-12), (first, second, segment, d)
            assert d["ci_low"] <= d["difference"] <= d["ci_high"]
    assert sorted(p.name for p in report.glob("ndcg_*.png")) and (report / "training_curves.png").exists()
    training = data["meta"]["training"]  # one SASRec per variant it trains, its curve and budget
    assert set(training) == {f"{v}/sasrec" for v in ("real", "real+augmented", "real+contrastive", "real+substitute")}
    for summary in training.values():
        assert summary["steps_run"] == 30 and [h["step"] for h in summary["history"]] == [30]
        assert summary["best_step"] == 30 and summary["device"] == "cpu"
    assert "## Training (validation on the training period only)" in md and "| real/sasrec | 30 | 30 |" in md
    run = latest(lake).where("run_id = 'ev-1' AND stage = 'evaluate'").first()
    assert run.status == "succeeded" and run.row_counts["rows_written"] == len(table)
    assert data["meta"]["test_users_without_relevant_items"] == run.row_counts["test_users_excluded"]


def _shop_lake(spark: SparkSession, root: Path, *, last: int | None = None) -> Lake:
    """silver/events and silver/split of an 80,000-event synthetic shop, built in code (the evaluation
    reads nothing else): a time cutoff at 80% of the events (or, with ``last``, each user's last ``last``
    events are test), cold users with at most 5 training events."""
    spec = ShopSpec(
        events=80_000, users=1_000, items=1_000, categories=20, start_date=date(2026, 9, 1), days=30,
        cold_user_share=0.1, cold_item_share=0.05, bot_share=0.0, dirty_share=0.0, duplicate_share=0.0,
        chunk_events=80_000, seed=7,
    )  # fmt: skip
    events = events_of_chunk(spec, 0)
    frame = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(events.user))],
            "user_id": pd.Series(events.user).map("u{}".format),
            "item_id": pd.Series(events.item).map("i{}".format),
            "event_type": np.asarray(EVENT_TYPES, dtype=object)[events.event_type],
            "ts": pd.to_datetime(events.ts_ms, unit="ms"),
            "session_id": pd.Series(events.session).map("s{}".format),
        }
    )
    if last is None:
        train = frame.ts < np.quantile(frame.ts, 0.8)
    else:
        from_end = frame.sort_values(["user_id", "ts", "event_id"]).groupby("user_id").cumcount(ascending=False)
        train = from_end.reindex(frame.index) >= last
    frame["split"] = np.where(train, "train", "test")
    counts = frame[train].groupby("user_id").size()
    frame["user_train_events"] = frame.user_id.map(counts).fillna(0).astype(np.int64)
    frame["user_segment"] = np.where(frame.user_train_events <= 5, "cold", "warm")
    frame["item_seen"] = frame.item_id.isin(set(frame.item_id[train]))
    lake = Lake(spark, str(root))
    lake.overwrite(
        SILVER_EVENTS,
        spark.createDataFrame(frame[["event_id", "user_id", "item_id", "event_type", "ts", "session_id"]]),
    )
    columns = ["event_id", "user_id", "item_id", "split", "user_segment", "item_seen", "user_train_events"]
    lake.overwrite(SILVER_SPLIT, spark.createDataFrame(frame[columns]))
    return lake


@pytest.mark.nightly  # a model-quality scenario on a whole demo lake (make test-nightly)
def test_als_beats_popularity_on_the_demo_shop(spark: SparkSession, tmp_path: Path) -> None:
    """The demo shop plants per-user category preferences (80% of a user's sessions in two categories);
    a personalised model must find them: ALS's NDCG@10 over all test users beats popularity's, with
    non-overlapping intervals."""
    lake = _shop_lake(spark, tmp_path / "lake")
    cfg = test_config(
        "evaluate.variants=[real]", "evaluate.models=[popularity, als]", "evaluate.ks=[10]",
        "evaluate.bootstrap_resamples=100", lake=tmp_path / "lake",
    )  # fmt: skip
    execute("evaluate", cfg, spark, run_id="ev-als")
    rows = lake.read(GOLD_EVAL).where("segment = 'all' AND metric = 'ndcg'").collect()
    ndcg = {r.model: r for r in rows}
    print({m: round(r.value, 4) for m, r in ndcg.items()}, ndcg["als"].n_users)
    assert ndcg["als"].ci_low > ndcg["popularity"].ci_high, {m: (r.ci_low, r.value, r.ci_high) for m, r in ndcg.items()}


@pytest.mark.nightly  # a model-quality scenario on a whole demo lake (make test-nightly)
def test_sasrec_beats_als_and_itemknn_on_the_demo_shop(spark: SparkSession, tmp_path: Path) -> None:
    """The demo shop plants successor items (the next view of a session, and a user's next session, often
    go to a successor of the item before): a next-item model reads the order, a bag model cannot. With
    each user's last 5 events as test (the next-items protocol of sequential recommenders), SASRec's
    NDCG@10 beats ALS's and item-kNN's on the same users: the paired bootstrap interval of the per-user
    difference lies above 0. The models, lists and metrics are the evaluate stage's own."""
    lake = _shop_lake(spark, tmp_path / "lake", last=5)
    cfg = test_config("evaluate.ks=[10]", "evaluate.sasrec.steps=3000", lake=tmp_path)
    conf = cfg.evaluate
    splits = lake.read(SILVER_SPLIT)
    real = lake.read(SILVER_EVENTS).join(splits.where("split = 'train'").select("event_id"), "event_id", "left_semi")
    seen = real.select("user_id", "item_id").distinct()
    test = splits.where("split = 'test'")
    relevant = ev.relevant_sets(test, seen, exclude_seen=True, short_max=20).where("segment = 'all'")
    users = relevant.select("user_id")
    train = ev.variant_interactions(real, {}, conf, dict(cfg.preprocess.feedback.weights))
    data = TrainingSet(variant="real", real=real, extra={}, interactions=train, seen=seen)
    context = FitContext(
        spark=spark, conf=conf, seed=1, depth=400, storage_level="MEMORY_AND_DISK", root=str(tmp_path / "lake"),
        version="t", info={},
    )  # fmt: skip
    lists = {}
    for model in ("als", "itemknn", "sasrec"):
        recommender = recommenders.MODELS[model].build()
        recommender.fit(data, context=context)
        lists[model] = recommender.rank(users, k=10)
    per_user = {
        m: ranking.per_user_metrics(recs, relevant.drop("segment"), ks=[10]).toPandas().set_index("user_id")["ndcg@10"]
        for m, recs in lists.items()
    }
    order = per_user["sasrec"].index
    for bag in ("als", "itemknn"):
        diff = paired_bootstrap(per_user["sasrec"].to_numpy(), per_user[bag].reindex(order).to_numpy(), seed=3)
        print(bag, diff)
        assert diff.n_users == len(order) > 500 and diff.ci_low > 0, (bag, diff)


def test_ablation_variants_select_each_ops_copies(spark: SparkSession) -> None:
    rows = spark.createDataFrame(
        [("u1", "a", ["0:crop(eta=0.8)"]), ("u1", "b", ["1:mask(gamma=0.2)"]), ("u2", "c", ["2:crop(eta=0.5)"]),
         ("u2", "d", ["1:mask(gamma=0.2)"])],
        "user_id string, item_id string, aug_ops array<string>",
    )  # fmt: skip
    ablations = ev.ablation_variants(rows)
    assert ablations == {"real+0:crop": "0:crop", "real+mask": "1:mask", "real+2:crop": "2:crop"}
    picked = {v: sorted(r.item_id for r in ev.variant_inputs(v, {"augmented": rows}, ablations)["augmented"].collect())
              for v in ablations}  # fmt: skip
    assert picked == {"real+0:crop": ["a"], "real+mask": ["b", "d"], "real+2:crop": ["c"]}
    assert set(ev.variant_inputs("real+both", {"augmented": rows, "synthetic": rows}, ablations)) == {
        "augmented", "synthetic"
    }  # fmt: skip


def test_relevant_sets_label_warm_users_with_short_histories(spark: SparkSession) -> None:
    test = spark.createDataFrame(
        [("u1", "a", "cold", True, 3), ("u2", "b", "warm", True, 8), ("u2", "c", "warm", False, 8),
         ("u3", "d", "warm", True, 30), ("u3", "e", "warm", True, 30)],
        "user_id string, item_id string, user_segment string, item_seen boolean, user_train_events long",
    )  # fmt: skip
    seen = spark.createDataFrame([("u3", "e")], "user_id string, item_id string")
    rows = ev.relevant_sets(test, seen, exclude_seen=True, short_max=10).collect()
    got = {(r.segment, r.user_id): r.relevant for r in rows}
    assert got == {
        ("all", "u1"): ["a"], ("all", "u2"): ["b", "c"], ("all", "u3"): ["d"], ("cold", "u1"): ["a"],
        ("warm", "u2"): ["b", "c"], ("warm", "u3"): ["d"], ("short", "u2"): ["b", "c"], ("cold_items", "u1"): [],
        ("cold_items", "u2"): ["c"], ("cold_items", "u3"): [],
    }  # fmt: skip


def test_the_bootstrap_reads_the_per_user_metrics_as_one_scan_not_the_plans_that_made_them(
    spark: SparkSession, tmp_path: Path, demo_split_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bootstrap joins its input with itself once per comparison, and Spark renders each query's
    whole plan on the driver: with the union of every (variant, model)'s training and ranking plan as
    its input, the demo shop's 5 variants x 4 models ran a 4 GiB driver out of heap (explainString).
    Its input must be a leaf (a checkpoint), whatever the number of variants and models."""
    plans: list[str] = []
    bootstrap = ev.bootstrap

    def recording(per_user: DataFrame, *args: Any, **kwargs: Any) -> dict[str, list[PairedDifference]]:
        plans.append(per_user._jdf.queryExecution().analyzed().toString())
        return bootstrap(per_user, *args, **kwargs)

    monkeypatch.setattr(ev, "bootstrap", recording)
    root = tmp_path / "lake"
    shutil.copytree(demo_split_lake, root)
    cfg = test_config(
        DEMO_EVENTS, "evaluate.models=[popularity]", "evaluate.variants=[real]",
        "evaluate.bootstrap_resamples=20", "evaluate.ks=[10]", lake=root,
    )  # fmt: skip
    execute("evaluate", cfg, spark, run_id="ev-plan")
    assert len(plans) == 1
    assert "LogicalRDD" in plans[0] and not any(op in plans[0] for op in ("Join", "Union", "Aggregate")), plans[0]
