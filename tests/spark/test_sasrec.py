"""SASRec's Spark side: the distributed item numbering, sequences in (ts, event_id) order with the
validation target held out of training and of augmented copies, and scoring on the executors equal to
the plain scorer on any partitioning."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import DistributedConfig, EvaluateConfig, SasrecConfig
from recaug_spark.errors import ConfigError
from recaug_spark.recommend import recommenders
from recaug_spark.recommend.index import contiguous_index
from recaug_spark.recommend.protocol import FitContext, TrainingSet
from recaug_spark.recommend.sasrec import score
from recaug_spark.recommend.sasrec import sequences as sq
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.model import Architecture, SASRec
from recaug_spark.recommend.sasrec.topk import Scorer, right_aligned

T0 = datetime(2026, 1, 1)
WEIGHTS = {"augmented": 0.5, "synthetic": 0.25}


def _events(spark: SparkSession, rows: list[tuple[str, str, int]]) -> DataFrame:
    """(user, item, minute) rows as events; event ids number the rows."""
    return spark.createDataFrame(
        [(f"e{i:03d}", u, item, T0 + timedelta(minutes=m)) for i, (u, item, m) in enumerate(rows)],
        "event_id string, user_id string, item_id string, ts timestamp",
    )


def test_contiguous_index_numbers_distinct_values_the_same_on_any_partitioning(spark: SparkSession) -> None:
    values = spark.createDataFrame([(f"v{i % 37}",) for i in range(200)] + [(None,)], "v string")
    one = {r.v: r.ix for r in contiguous_index(values.coalesce(1), "v", name="ix", start=1).collect()}
    three = {r.v: r.ix for r in contiguous_index(values.repartition(3), "v", name="ix", start=1).collect()}
    assert one == three and sorted(one.values()) == list(range(1, 38)) and None not in one


def test_sequences_are_time_ordered_collapsed_and_hold_out_the_last_item(spark: SparkSession) -> None:
    conf = SasrecConfig(max_len=3, validation_users=10)
    real = _events(
        spark,
        [("u1", "b", 2), ("u1", "a", 1), ("u1", "a", 1), ("u1", "c", 3), ("u1", "d", 4), ("u1", "e", 5),
         ("u2", "a", 1), ("u2", "c", 2), ("u2", "a", 3)],
    )  # fmt: skip
    index = sq.item_index(real)
    ix = {r.item_id: r.item_ix for r in index.collect()}
    history = sq.histories(real, index, conf)
    got = {r.user_id: r.items for r in history.collect()}
    assert got == {"u1": [ix[i] for i in "abcde"], "u2": [ix[i] for i in "aca"]}  # a, a at one minute: one step
    crop = ["0:crop"]
    augmented = spark.createDataFrame(
        [("u1", "x1", "a", T0, "e001", crop, 0), ("u1", "x2", "e", T0 + timedelta(minutes=9), "e005", crop, 0),
         ("u1", "x3", "c", T0 + timedelta(minutes=1), "e003", crop, 0), ("u1", "x4", "zz", T0, "e003", crop, 1),
         ("u1", "x5", "b", T0, "e000", crop, 1), ("u1", "x6", "d", T0, "e004", crop, 1)],
        "user_id string, event_id string, item_id string, ts timestamp, source_event_id string, aug_ops array<string>,"
        " aug_copy int",
    )  # fmt: skip
    valid = sq.validation_slice(history, conf, seed=1)
    assert {tuple(r.items): r.target for r in valid.collect()} == {(ix["b"], ix["c"], ix["d"]): ix["e"]}
    # u2's last item (a) was seen before: not a target, so u2 trains on its whole history
    seqs = sq.training_sequences(history, valid, {"augmented": augmented}, index, conf, weights=WEIGHTS)
    listed = {tuple(r.items): r.weight for r in seqs.collect()}
    # u1 validates on e, so trains on a b c d (the copy row from e005 is dropped; the rows that carry e
    # too); u2 on a c a; copy 0 is a, c; copy 1 (x4's item is outside the catalogue) is b, d
    codes = {"abcd": 1.0, "aca": 1.0, "ac": 0.5, "bd": 0.5}
    assert listed == {tuple(ix[i] for i in name): weight for name, weight in codes.items()}
    synthetic = spark.createDataFrame(
        [("syn1", "u9", "c", T0 + timedelta(minutes=2)), ("syn2", "u9", None, T0), ("syn3", "u9", "b", T0),
         ("syn4", "u8", "a", T0)],
        "event_id string, user_id string, item_id string, ts timestamp",
    )  # fmt: skip
    with_synthetic = {
        tuple(r.items): r.weight
        for r in sq.training_sequences(
            history, valid, {"synthetic": synthetic, "augmented": augmented}, index, conf, weights=WEIGHTS
        ).collect()
    }
    # one sequence per synthetic user, in ts order, rows without an item left out; u8's one event is no
    # pair; u9's b, c is no copy's sequence, while copy 0 (a, c) and copy 1 (b, d) keep their weights
    codes = {"abcd": 1.0, "aca": 1.0, "ac": 0.5, "bd": 0.5, "bc": 0.25}
    assert with_synthetic == {tuple(ix[i] for i in name): weight for name, weight in codes.items()}
    # equal sequences are one row: the copies again, as a second synthetic user, add their weight
    twice = [(f"s{u}{i}", u, item, T0 + timedelta(minutes=i)) for u in ("u6", "u7") for i, item in enumerate("ac")]
    again = spark.createDataFrame(twice, synthetic.schema)
    summed = sq.training_sequences(history, valid, {"synthetic": again}, index, conf, weights=WEIGHTS)
    assert {tuple(r.items): r.weight for r in summed.collect()}[(ix["a"], ix["c"])] == 0.5


def test_a_basket_reads_from_its_most_frequent_item_not_in_event_id_order(spark: SparkSession) -> None:
    """Items of one timestamp: descending real training events, ties by item id; the event ids (row
    order here: z, y, v, x) play no part. Training events: y 3, x 2, v 1, z 1, w 1."""
    conf = SasrecConfig(max_len=5, collapse_repeats=False)
    real = _events(
        spark,
        [("u1", "z", 1), ("u1", "y", 1), ("u1", "v", 1), ("u1", "x", 1), ("u1", "w", 5), ("u2", "y", 1),
         ("u2", "x", 1), ("u3", "y", 2)],
    )  # fmt: skip
    index = sq.item_index(real)
    counts = {r.item_id: r.item_events for r in index.collect()}
    assert counts == {"y": 3, "x": 2, "v": 1, "z": 1, "w": 1}
    ix = {r.item_id: r.item_ix for r in index.collect()}
    got = {r.user_id: (r.items, r.last_event_id) for r in sq.histories(real, index, conf).collect()}
    assert got["u1"] == ([ix[i] for i in "yxvzw"], "e004") and got["u2"] == ([ix["y"], ix["x"]], "e006")


def test_every_window_of_a_long_history_is_trained_once(spark: SparkSession) -> None:
    """max_len 3: a history of 9 items gives windows 6..9, 3..6, 1..3 (every item from the second on is
    the target of exactly one window); the validating user's last item is held back, and a substitute
    copy that wrote the validation item into the copy loses that row."""
    conf = SasrecConfig(max_len=3, validation_users=1)
    names = "abcdefghi"
    real = _events(spark, [("u1", name, t) for t, name in enumerate(names)] + [("u2", "a", 0), ("u2", "b", 1)])
    index = sq.item_index(real)
    ix = {r.item_id: r.item_ix for r in index.collect()}
    history = sq.histories(real, index, conf)
    valid = sq.validation_slice(history, conf.model_copy(update={"validation_users": 10}), seed=1)
    assert sorted(r.user_id for r in valid.collect()) == ["u1", "u2"]
    sub = ["0:substitute"]
    augmented = spark.createDataFrame(
        [("u2", "x1", "b", T0, "e009", sub, 0), ("u2", "x2", "i", T0 + timedelta(minutes=1), "e009", sub, 0),
         ("u2", "x3", "c", T0 + timedelta(minutes=2), "e009", sub, 0), ("u2", "x4", "d", T0, "e010", sub, 0)],
        "user_id string, event_id string, item_id string, ts timestamp, source_event_id string, aug_ops array<string>,"
        " aug_copy int",
    )  # fmt: skip
    only_u2 = valid.where("user_id = 'u2'")
    seqs = sq.training_sequences(history, only_u2, {"augmented": augmented}, index, conf, weights=WEIGHTS)
    u1 = [ix[n] for n in names]
    # u1 does not validate here: all 9 items, in windows; u2 holds back b and trains on a alone (no pair);
    # its copy loses x1 (the validation item b) and x4 (made from the held-back event e010): i, c
    assert sorted(r.items for r in seqs.collect()) == sorted([u1[5:9], u1[2:6], u1[0:3], [ix["i"], ix["c"]]])


def _artifact() -> SasrecArtifact:
    torch.manual_seed(0)
    arch = Architecture(items=40, max_len=5, hidden=8, inner=8, layers=1, heads=2, dropout=0.0)
    ids = tuple(f"i{(7 * j) % 40:02d}" for j in range(40))
    return SasrecArtifact.pack(SASRec(arch).state_dict(), version="t", architecture=arch, item_ids=ids, info={})


def test_distributed_scoring_equals_the_plain_scorer_on_1_and_3_partitions(spark: SparkSession) -> None:
    artifact = _artifact()
    rng = np.random.default_rng(1)
    histories = [rng.integers(1, 41, rng.integers(1, 9)).tolist() for _ in range(120)]
    inputs = spark.createDataFrame(
        [(f"u{u:03d}", h[-5:], sorted(set(h))) for u, h in enumerate(histories)],
        "user_id string, items array<int>, seen array<int>",
    )
    one = {r.user_id: r.items for r in score.score(spark, artifact, inputs.coalesce(1), k=7, batch=16).collect()}
    three = {r.user_id: r.items for r in score.score(spark, artifact, inputs.repartition(3), k=7, batch=5).collect()}
    scorer = Scorer.of(artifact)
    seqs = right_aligned(pa.array([h[-5:] for h in histories]), 5)
    seen = right_aligned(pa.array([sorted(set(h)) for h in histories]), 8)
    plain = dict(zip([f"u{u:03d}" for u in range(len(histories))], scorer.top(seqs, seen, 7), strict=True))
    assert one == three == plain
    ids = artifact.item_ids
    for u, h in enumerate(histories):
        assert not {ids[i - 1] for i in h} & set(plain[f"u{u:03d}"]) and len(plain[f"u{u:03d}"]) == 7


def _chain_users(spark: SparkSession, conf: SasrecConfig, root: str) -> dict[str, list[str]]:
    """A tiny shop where every user walks a chain of 10 items from their own start: the lists."""
    rows = []
    for u in range(60):
        start = u % 10
        rows += [(f"u{u:02d}", f"i{(start + t) % 10}", t) for t in range(8)]
    real = _events(spark, rows)
    users = real.select("user_id").distinct()
    seen = real.select("user_id", "item_id").distinct()
    data = TrainingSet(variant="real", real=real, extra={}, interactions=seen, seen=seen)
    context = FitContext(
        spark=spark, conf=EvaluateConfig(sasrec=conf), seed=3, depth=10, storage_level="MEMORY_ONLY", root=root,
        version="v-test", info={"run": "t"},
    )  # fmt: skip
    model = recommenders.MODELS["sasrec"].build()
    model.fit(data, context=context)
    return {r.user_id: r.items for r in model.rank(users, k=2).collect()}


def _next_right(lists: dict[str, list[str]]) -> int:
    """Users whose first item is the one after their last (the chain's next step)."""
    return sum(items[0] == f"i{(int(u[1:]) % 10 + 8) % 10}" for u, items in lists.items())


CHAIN = SasrecConfig(max_len=6, hidden=16, inner=16, layers=1, heads=1, dropout=0.0, steps=60, eval_every=10,
                     patience=6, min_steps=0, batch_size=32, device="cpu", threads=1)  # fmt: skip


def test_fit_trains_on_real_sequences_and_scores_known_users(spark: SparkSession, tmp_path: Path) -> None:
    """The model learns the chains and recommends each user's next item; the artifact is in the lake."""
    lists = _chain_users(spark, CHAIN, str(tmp_path / "lake"))
    assert len(lists) == 60 and _next_right(lists) >= 50, lists
    assert (tmp_path / "lake" / "models" / "seqrec" / "v-test" / "metadata.json").exists()


@pytest.mark.nightly
def test_data_parallel_training_through_torch_distributor(spark: SparkSession, tmp_path: Path) -> None:
    """sasrec.distributed.processes=2: two TorchDistributor processes (gloo all-reduce) learn the chains too."""
    conf = CHAIN.model_copy(update={"distributed": DistributedConfig(processes=2)})
    lists = _chain_users(spark, conf, str(tmp_path / "lake"))
    assert len(lists) == 60 and _next_right(lists) >= 50, lists


def test_view_maker_reads_the_similar_items_in_index_space(spark: SparkSession) -> None:
    """Substitute views take the augment stage's co-occurrence table (sessions: items a, b and a, c)."""
    real = spark.createDataFrame(
        [(f"e{i}", "u1", item, T0 + timedelta(minutes=i), session) for i, (item, session) in
         enumerate([("a", "s1"), ("b", "s1"), ("a", "s2"), ("c", "s2"), ("a", "s3"), ("b", "s3")])],
        "event_id string, user_id string, item_id string, ts timestamp, session_id string",
    )  # fmt: skip
    index = sq.item_index(real)
    ix = {r.item_id: r.item_ix for r in index.collect()}
    conf = SasrecConfig(contrastive={"ops": [{"op": "substitute", "ratio": 1.0}], "similar_top_k": 1})
    maker = score.view_maker(real, index, conf, items=3, seed=1)
    assert maker.mask_index is None
    one, _ = maker.views(np.array([[ix["a"], ix["b"], ix["c"]]]), np.array([0]), epoch=0, width=3)
    assert one.tolist() == [[ix["b"], ix["a"], ix["a"]]]  # a's most co-occurring item is b (2 sessions); b, c: a

    # One session per event (days apart): no similar items in sessions. Within 1 event in the history
    # (a b a c a b): a-b and a-c, each counted once per user, so a's first is b (a tie, by id); b's, c's: a.
    daily = real.withColumn("session_id", F.lit(None).cast("string")).withColumn(
        "ts", F.col("ts") + F.expr("make_interval(0, 0, 0, cast(substr(event_id, 2) as int), 0, 0, 0)")
    )
    with pytest.raises(ConfigError, match=r"evaluate\.sasrec\.contrastive\.similar_window"):
        score.view_maker(daily, index, conf, items=3, seed=1)
    windowed = conf.model_copy(update={"contrastive": conf.contrastive.model_copy(update={"similar_window": 1})})
    one, _ = score.view_maker(daily, index, windowed, items=3, seed=1).views(
        np.array([[ix["a"], ix["b"], ix["c"]]]), np.array([0]), epoch=0, width=3
    )
    assert one.tolist() == [[ix["b"], ix["a"], ix["a"]]]
