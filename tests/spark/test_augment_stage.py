"""Stage augment on a small demo lake: every op through the stage, values against their formulas,
lineage, leakage, determinism across partitionings and masters, idempotence and retention."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from recaug_spark.augment import similar
from recaug_spark.augment import spark as aug
from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.rng import Draws
from recaug_spark.runs import SKIPPED, latest
from recaug_spark.schema import GOLD_AUGMENTED, SILVER_EVENTS, SILVER_SPLIT
from tests.conftest import DEMO_EVENTS, test_config
from tests.e2e.test_cli import recaug
from tests.helpers import assert_same_rows

SEED = 42  # run.seed
MAX_HISTORY = 30
OPS_YAML = """
augment:
  max_history: 30
  short_max: 3
  ops:  # the first four (a row op, a sequence op, a session op, an attribute op) also run through the CLI
    - {op: gaussian_noise, column: price, sigma: 0.1}
    - {op: substitute, ratio: 0.5}
    - {op: time_shift, within: day}
    - {op: categorical_jitter, attr: device, share: 0.5, p: 0.5}
    - {op: salt_and_pepper, column: price, share: 0.3, salt_quantile: 0.9, pepper_quantile: 0.1}
    - {op: random_scaling, column: quantity, low: 0.5, high: 1.5}
    - {op: rotation, columns: [price, quantity], theta: 0.5}
    - {op: jitter, column: price, r: 1.0}
    - {op: feature_mask, column: price, share: 0.5}
    - {op: crop, eta: 0.5, copies: 2}
    - {op: mask, gamma: 0.3, token: "[mask]"}
    - {op: reorder, beta: 0.5}
    - {op: insert, ratio: 0.5}
"""
RUN_COLUMNS = ["batch_id", "ingested_at", "aug_run_id"]


@dataclass(frozen=True)
class Augmented:
    pristine: Path  # a copy of the lake before augment ran (split done)
    root: Path
    lake: Lake
    conf: Path
    train: pd.DataFrame  # training rows with their row keys
    out: pd.DataFrame  # the augment run "aug-1"

    def cfg(self, *overrides: str, lake: Path | None = None):
        return test_config(DEMO_EVENTS, *overrides, conf=(self.conf,), lake=lake or self.root)

    def copy(self, name: str, *, augmented: bool = False) -> Path:
        """A copy of the lake before augment ran, or with ``augmented`` after the fixture's run "aug-1"."""
        target = self.pristine.parent / name
        shutil.copytree(self.root if augmented else self.pristine, target)
        return target

    def rows(self, op: int) -> pd.DataFrame:
        """Output rows of op ``op`` joined with their source rows (suffix _src)."""
        mine = self.out[self.out.aug_ops.map(lambda ops: ops[0].startswith(f"{op}:"))]
        return mine.merge(self.train, left_on="source_event_id", right_on="event_id", suffixes=("", "_src"))


@pytest.fixture(scope="module")
def augmented(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, demo_split_lake: Path) -> Augmented:
    base = tmp_path_factory.mktemp("augment")
    conf = base / "ops.yaml"
    conf.write_text(OPS_YAML)
    root, pristine = base / "lake", base / "pristine"
    cfg = test_config(DEMO_EVENTS, conf=(conf,), lake=root)
    shutil.copytree(demo_split_lake, pristine)
    shutil.copytree(pristine, root)
    execute("augment", cfg, spark, run_id="aug-1")
    lake = Lake(spark, str(root))
    train_ids = lake.read(SILVER_SPLIT).where("split = 'train'").select("event_id")
    train = aug.with_key(lake.read(SILVER_EVENTS).join(train_ids, "event_id", "left_semi"), "event_id").toPandas()
    out = lake.read(GOLD_AUGMENTED).toPandas()
    return Augmented(pristine, root, lake, conf, train, out)


def test_every_op_writes_rows_with_lineage_from_training_rows_only(augmented: Augmented) -> None:
    out, train = augmented.out, augmented.train
    ops = out.aug_ops.map(lambda ops: int(ops[0].split(":")[0]))
    assert sorted(ops.unique()) == list(range(13))
    assert out.event_id.is_unique and out.event_id.str.startswith("aug:").all()
    assert set(out.source_event_id) <= set(train.event_id)  # leakage: training rows only
    assert out.is_synthetic.all() and (out.aug_run_id == "aug-1").all() and (out.batch_id == "aug-1").all()
    assert set(out[ops == 9].aug_copy) == {0, 1} and set(out[ops != 9].aug_copy) == {0}
    assert (out.event_date == out.ts.dt.date).all()
    detail = DeltaTable.forPath(augmented.lake.spark, augmented.lake.path(GOLD_AUGMENTED)).detail().first()
    assert detail.partitionColumns == ["aug_run_id"]
    run = latest(augmented.lake).where("stage = 'augment'").first()
    assert run.row_counts["rows_written"] == len(out) and run.row_counts["train_rows"] == len(train)
    assert run.row_counts["op0_gaussian_noise"] == len(train)  # p = 1, one copy


def _draws(rows: pd.DataFrame, op: str) -> Draws:
    return Draws.of(seed=SEED, op=op, copy=0, keys=aug.keys_of(rows["_aug_key"]))


def test_row_ops_follow_their_formulas(augmented: Augmented) -> None:
    train = augmented.train
    noise = augmented.rows(0)
    sigma = 0.1 * train.price.std(ddof=1)
    expected = noise.price_src + sigma * _draws(noise, "0:gaussian_noise").normal(0)
    np.testing.assert_allclose(noise.price, expected, rtol=1e-9)  # sigma is rounded to 12 digits

    salted = augmented.rows(4)
    salt, pepper = np.quantile(train.price.dropna(), [0.9, 0.1])  # linear interpolation, as Spark's percentile
    changed = salted.price != salted.price_src
    assert set(np.round(salted.price[changed], 9)) <= {round(salt, 9), round(pepper, 9)}
    assert abs(changed.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(salted))

    scaled = augmented.rows(5).dropna(subset=["quantity_src"])
    assert ((scaled.quantity / scaled.quantity_src).between(0.5, 1.5)).all()

    rotated = augmented.rows(6)
    whole = rotated.quantity_src.notna()
    np.testing.assert_allclose(
        np.hypot(rotated.price, rotated.quantity)[whole], np.hypot(rotated.price_src, rotated.quantity_src)[whole]
    )
    np.testing.assert_allclose(rotated.price[~whole], rotated.price_src[~whole])  # no quantity: left alone

    jittered = augmented.rows(7)
    assert ((jittered.price - jittered.price_src).abs() <= 1.0).all()

    masked = augmented.rows(8)
    dropped = masked.price.isna() & masked.price_src.notna()
    assert abs(dropped.sum() / masked.price_src.notna().sum() - 0.5) < 0.05

    device = augmented.rows(3)
    assert abs(len(device) / len(train) - 0.5) < 0.05  # p = 0.5 copies kept

    def attr(frame: pd.DataFrame, column: str, key: str) -> pd.Series:
        return frame[column].map(lambda a: a.get(key))

    assert set(attr(device, "attrs", "device")) <= set(attr(train, "attrs", "device"))
    assert (attr(device, "attrs", "region") == attr(device, "attrs_src", "region")).all()
    assert 0.2 < (attr(device, "attrs", "device") != attr(device, "attrs_src", "device")).mean() < 0.5


def _recent(train: pd.DataFrame) -> pd.DataFrame:
    """Each user's most recent MAX_HISTORY training events, oldest first, numbered."""
    ordered = train.sort_values(["user_id", "ts", "event_id"])
    recent = ordered.groupby("user_id").tail(MAX_HISTORY).copy()
    recent["pos"] = recent.groupby("user_id").cumcount()
    recent["n"] = recent.groupby("user_id").event_id.transform("size")
    return recent


def test_sequence_ops_keep_their_invariants(augmented: Augmented) -> None:
    recent = _recent(augmented.train).set_index("event_id")
    short = set(recent[recent.n <= 3].user_id)

    cropped = augmented.rows(9)
    for (_, _), rows in cropped.groupby(["user_id", "aug_copy"]):
        positions = np.sort(recent.loc[rows.source_event_id, "pos"].to_numpy())
        n = recent.loc[rows.source_event_id.iloc[0], "n"]
        assert len(positions) == max(1, int(0.5 * n)) and (np.diff(positions) == 1).all()
    for op in (9, 10, 11):  # crop, mask, reorder never touch short sequences
        assert not set(augmented.rows(op).user_id) & short

    masked = augmented.rows(10)
    tokens = masked.item_id == "[mask]"
    assert (masked.item_id[~tokens] == masked.item_id_src[~tokens]).all() and masked.price[tokens].isna().all()
    per_user = masked.groupby("user_id").agg(masked=("item_id", lambda s: (s == "[mask]").sum()), n=("item_id", "size"))
    assert (per_user.masked == np.floor(0.3 * per_user.n)).all()

    reordered = augmented.rows(11)
    for _, rows in reordered.groupby("user_id"):
        by_time = rows.sort_values(["ts", "event_id"])
        original = recent.loc[by_time.source_event_id].sort_values("pos").item_id.to_numpy()
        new = by_time.item_id.to_numpy()
        assert sorted(new) == sorted(original)
        moved = np.flatnonzero(new != original)
        if len(moved):  # the differences lie inside one span of floor(0.5 n) positions
            assert moved[-1] - moved[0] < max(1, int(0.5 * len(rows)))

    lake = augmented.lake
    train_ids = lake.read(SILVER_SPLIT).where("split = 'train'")
    train_rows = lake.read(SILVER_EVENTS).join(train_ids, "event_id", "left_semi")
    table = similar.collect(similar.top_k(train_rows, k=10))
    for op in (1, 12):
        rows = augmented.rows(op)
        new = rows[rows.item_id != rows.item_id_src]
        assert len(new) > 0
        assert all(item in table.similar_to(source) for item, source in zip(new.item_id, new.item_id_src, strict=True))
    inserted = augmented.rows(12)
    inserted = inserted[inserted.event_id.str.endswith("+1")]
    assert ((inserted.ts - inserted.ts_src) == pd.Timedelta(microseconds=1)).all()

    shifted = augmented.rows(2)
    assert (shifted.ts.dt.date == shifted.ts_src.dt.date).all()
    offsets = (shifted.ts - shifted.ts_src).groupby([shifted.user_id, shifted.session_id]).nunique()
    assert (offsets == 1).all() and (shifted.ts != shifted.ts_src).mean() > 0.5


def test_partitioning_batch_size_and_test_period_rows_change_nothing(spark: SparkSession, augmented: Augmented) -> None:
    """One shuffle partition, tiny Arrow batches, and every test-period row altered (item, price,
    attributes): the same table, row for row."""
    root = augmented.copy("one-partition-test-changed")
    lake = Lake(spark, str(root))
    test_ids = [r.event_id for r in lake.read(SILVER_SPLIT).where("split = 'test'").select("event_id").collect()]
    assert test_ids
    DeltaTable.forPath(spark, lake.path(SILVER_EVENTS)).update(
        F.col("event_id").isin(test_ids),
        {"price": F.col("price") * 100, "item_id": F.concat(F.lit("leak-"), "item_id"),
         "attrs": F.map_from_arrays(F.array(F.lit("device")), F.array(F.lit("leaked")))},
    )  # fmt: skip
    keys = ("spark.sql.shuffle.partitions", "spark.sql.execution.arrow.maxRecordsPerBatch")
    before = {k: spark.conf.get(k) for k in keys}
    spark.conf.set("spark.sql.shuffle.partitions", "1")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "97")
    try:
        execute("augment", augmented.cfg(lake=root), spark, run_id="aug-2")
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)
    assert_same_rows(augmented.lake.read(GOLD_AUGMENTED), lake.read(GOLD_AUGMENTED), drop=RUN_COLUMNS)


@pytest.mark.slow
@pytest.mark.nightly
def test_local_1_through_the_cli_gives_the_same_rows(spark: SparkSession, augmented: Augmented) -> None:
    """``--set spark.master=local[1]`` takes effect, and the first four ops (row, sequence, session and
    attribute shapes) give the rows they gave in-process on local[2]."""
    root = augmented.copy("local-1")
    first_ops = json.dumps(yaml.safe_load(OPS_YAML)["augment"]["ops"][:4])
    settings = (f"augment.ops={first_ops}", "spark.master=local[1]", "spark.ui_enabled=false")
    flags = [arg for setting in settings for arg in ("--set", setting)]
    out = recaug("augment", "--lake", str(root), "--conf", str(augmented.conf), *flags, "--run-id", "cli-aug")
    assert out.returncode == 0, out.stderr[-3000:]
    lake = Lake(spark, str(root))
    assert latest(lake).where("run_id = 'cli-aug'").first().spark_master == "local[1]"
    first_four = F.col("event_id").rlike("^aug:[0-3]:")
    reference = augmented.lake.read(GOLD_AUGMENTED).where(first_four)
    assert_same_rows(reference, lake.read(GOLD_AUGMENTED), drop=RUN_COLUMNS)


def test_reruns_skip_replace_their_partition_and_keep_the_newest(spark: SparkSession, augmented: Augmented) -> None:
    """On a copy of the fixture's lake after run aug-1 (every op): a rerun with the same config and
    inputs skips without a commit; a run under the same run id replaces that run's partition; a later
    run with keep_runs = 1 leaves only its own partition."""
    root = augmented.copy("reruns", augmented=True)
    lake = Lake(spark, str(root))
    version = lake.version(GOLD_AUGMENTED)
    assert execute("augment", augmented.cfg(lake=root), spark, run_id="r2").status == SKIPPED
    assert lake.version(GOLD_AUGMENTED) == version
    jitter = ("augment.ops=[{op: jitter, column: price, r: 1.0, copies: 3}]", "augment.keep_runs=1")
    execute("augment", augmented.cfg(*jitter, lake=root), spark, run_id="aug-1")  # the same run id again
    counts = {r.aug_run_id: r["count"] for r in lake.read(GOLD_AUGMENTED).groupBy("aug_run_id").count().collect()}
    assert len(augmented.out) != 3 * len(augmented.train)  # so that the count tells a replacement from the old rows
    assert counts == {"aug-1": 3 * len(augmented.train)}  # replaced, not appended
    noise = ("augment.ops=[{op: gaussian_noise, column: price, sigma: 0.2}]", "augment.keep_runs=1")
    execute("augment", augmented.cfg(*noise, lake=root), spark, run_id="r3")
    runs = lake.read(GOLD_AUGMENTED).groupBy("aug_run_id").count().collect()
    assert [(r.aug_run_id, r["count"]) for r in runs] == [("r3", len(augmented.train))]  # keep_runs = 1


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("augment.ops=[{op: gaussian_noise, column: event_type, sigma: 1.0}]", "augment.ops[0].column"),
        ("augment.ops=[{op: crop}, {op: categorical_jitter, attr: shoe_size}]", "augment.ops[1].attr"),
    ],
)
def test_a_bad_op_fails_before_any_table_is_touched(
    spark: SparkSession, augmented: Augmented, override: str, key: str
) -> None:
    root = augmented.copy(f"bad-{key.rsplit('.', maxsplit=1)[-1]}")
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        execute("augment", augmented.cfg(override, lake=root), spark)
    assert not Lake(spark, str(root)).exists(GOLD_AUGMENTED)


def test_a_numeric_op_over_a_column_without_training_values_names_the_op_and_the_fix(spark: SparkSession) -> None:
    from recaug_spark.augment import fit
    from recaug_spark.config import AugmentConfig

    train = spark.createDataFrame(
        [("e1", None, 1.0), ("e2", None, 2.0)], "event_id string, price double, quantity double"
    )
    ops = AugmentConfig.model_validate(
        {
            "ops": [
                {"op": "jitter", "column": "quantity", "r": 0.1},
                {"op": "gaussian_noise", "column": "price", "sigma": 0.1},
            ]
        }
    ).ops
    with pytest.raises(ConfigError) as caught:
        fit.fit(train, ops)
    assert caught.value.key == "augment.ops[1]"
    assert "op 'gaussian_noise' needs values of ['price'], and the training rows have none" in caught.value.problem
    assert "map them in the source (source.events.columns), or leave the op out" in caught.value.problem


def test_similar_items_by_neighbours_count_users_and_sessions_of_one_item_are_refused(spark: SparkSession) -> None:
    # One review a day, as Beauty's: every gap-derived session holds one item.
    rows = [
        ("u1", ["a", "b", "c", "d"]),  # pairs within 2: ab ac bc bd cd
        ("u2", ["b", "a", "a", "e"]),  # ba (twice: one user counts once) ae
        ("u3", ["c", "d"]),  # cd
    ]
    events = spark.createDataFrame(
        [(f"{u}-{i}", u, item, datetime(2024, 1, 1) + timedelta(days=i), None)
         for u, items in rows for i, item in enumerate(items)],
        "event_id string, user_id string, item_id string, ts timestamp, session_id string",
    )  # fmt: skip
    table = similar.top_k(events, k=2, window=2)
    got = {(r.item_id, r.similar_item): (r.score, r.rank) for r in table.collect()}
    # a: b (u1, u2) 2, c 1, e 1 -> b, then c before e by id; c: d (u1, u3) 2, then a and b tie at 1 -> a
    assert got == {
        ("a", "b"): (2, 1), ("a", "c"): (1, 2),
        ("b", "a"): (2, 1), ("b", "c"): (1, 2),
        ("c", "d"): (2, 1), ("c", "a"): (1, 2),
        ("d", "c"): (2, 1), ("d", "b"): (1, 2),
        ("e", "a"): (1, 1),
    }  # fmt: skip
    assert similar.top_k(events, k=2).count() == 0  # sessions: none holds two items

    from recaug_spark.augment.apply import augment
    from recaug_spark.config import AugmentConfig

    conf = AugmentConfig.model_validate({"ops": [{"op": "crop"}, {"op": "insert", "ratio": 0.5}]})
    with pytest.raises(ConfigError) as caught:
        augment(spark, events, conf, seed=SEED)
    assert caught.value.key == "augment.similar_window"
    assert "insert would copy sequences unchanged: no training session holds two items" in caught.value.problem
