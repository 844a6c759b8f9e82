"""The augmentation Spark layer equals the pure kernels on the same rows, on any partitioning."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.augment import apply, frames, numeric, sequence, similar
from recaug_spark.augment import spark as aug
from recaug_spark.config import AugmentConfig
from recaug_spark.rng import Draws

SEED = 11


def priced(spark: SparkSession, n: int = 600) -> DataFrame:
    rng = np.random.default_rng(0)
    prices = np.round(rng.lognormal(3, 1, n), 2)
    rows = [(f"e{i:05d}", None if i % 17 == 0 else float(prices[i]), float(i % 7)) for i in range(n)]
    return spark.createDataFrame(rows, "event_id string, price double, quantity double")


def noise_kernel(values: list[np.ndarray], draws) -> list[np.ndarray]:
    return [numeric.gaussian_noise(values[0], draws, sigma=2.0)]


def rotation_kernel(values: list[np.ndarray], draws) -> list[np.ndarray]:
    return list(numeric.rotation(values[0], values[1], draws, low=-1.0, high=1.0))


def augmented(df: DataFrame, kernel, columns: list[str], *, copies: int = 3, p: float = 0.7) -> DataFrame:
    """Copies kept by the native gate, with the kernel's outputs ``out0`` ... (and every copy's gate)."""
    rows = aug.expand_copies(aug.with_key(df, "event_id"), copies)
    op = aug.column_op(kernel, columns, seed=SEED, label="0:op")
    outputs = [c.alias(f"out{i}") for i, c in enumerate(aug.column_outputs(op, len(columns)))]
    kept = rows.where(aug.kept(seed=SEED, label="0:op", p=p))
    return kept.select("event_id", aug.KEY, aug.COPY, *columns, *outputs)


@pytest.mark.parametrize(("kernel", "columns"), [(noise_kernel, ["price"]), (rotation_kernel, ["price", "quantity"])])
def test_the_spark_path_equals_the_pure_kernel(spark: SparkSession, kernel, columns: list[str]) -> None:
    got = augmented(priced(spark), kernel, columns).toPandas()
    values = [got[c].to_numpy(dtype=float, na_value=np.nan) for c in columns]
    outputs = frames.apply_kernel(
        kernel, values, frames.keys_of(got[aug.KEY]), got[aug.COPY].to_numpy(), seed=SEED, label="0:op"
    )
    for i, output in enumerate(outputs):
        np.testing.assert_array_equal(got[f"out{i}"].to_numpy(dtype=float, na_value=np.nan), output)
    assert abs(len(got) / (600 * 3) - 0.7) < 0.05  # the gate keeps a share p = 0.7 of the copies


def test_the_gate_is_uniform_and_independent_across_ops_and_copies(spark: SparkSession) -> None:
    rows = aug.expand_copies(aug.with_key(spark.range(20_000).withColumn("event_id", F.col("id").cast("string")),
                                          "event_id"), 2)  # fmt: skip
    draws = rows.select(
        aug.COPY, aug.gate_draw(seed=SEED, label="0:a").alias("a"), aug.gate_draw(seed=SEED, label="1:b").alias("b")
    ).toPandas()
    assert draws.a.between(0, 1, inclusive="left").all()
    counts, _ = np.histogram(draws.a, bins=10, range=(0, 1))
    assert (abs(counts / len(draws) - 0.1) < 0.01).all()
    assert abs(np.corrcoef(draws.a, draws.b)[0, 1]) < 0.03  # another op: another stream
    by_copy = draws.a.to_numpy().reshape(-1, 2)
    assert abs(np.corrcoef(by_copy[:, 0], by_copy[:, 1])[0, 1]) < 0.03  # another copy: another draw


def test_results_do_not_depend_on_partitioning_or_batch_size(spark: SparkSession) -> None:
    base = priced(spark)
    one = augmented(base.repartition(1), noise_kernel, ["price"])
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "37")
    try:
        four = augmented(base.repartition(4, "price"), noise_kernel, ["price"])
        left = sorted(one.select("event_id", aug.COPY, "out0").collect())
        right = sorted(four.select("event_id", aug.COPY, "out0").collect())
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    assert left == right and 0.65 < len(left) / (600 * 3) < 0.75


def mask_kernel(values: list[np.ndarray], draws) -> list[np.ndarray]:
    return [numeric.feature_mask(values[0], draws, p=0.3)]


@pytest.mark.parametrize(
    ("kernel", "columns"),
    [(noise_kernel, ["price"]), (mask_kernel, ["price"]), (rotation_kernel, ["price", "quantity"])],
)
def test_null_in_is_nan_to_the_kernel_and_nan_out_is_null(spark: SparkSession, kernel, columns: list[str]) -> None:
    got = augmented(priced(spark), kernel, columns, p=1.0)
    outputs = [f"out{i}" for i in range(len(columns))]
    assert got.where(F.array_contains(F.array(*[F.isnan(o) for o in outputs]), True)).count() == 0  # no NaN
    rows = got.toPandas()
    values = [rows[c].to_numpy(dtype=float, na_value=np.nan) for c in columns]
    expected = frames.apply_kernel(
        kernel, values, frames.keys_of(rows[aug.KEY]), rows[aug.COPY].to_numpy(), seed=SEED, label="0:op"
    )
    nulls = [rows[output].isna().to_numpy() for output in outputs]
    assert all((null == np.isnan(want)).all() for null, want in zip(nulls, expected, strict=True)) and nulls[0].any()


@pytest.mark.parametrize(("kernel", "columns"), [(noise_kernel, ["price"]), (rotation_kernel, ["price", "quantity"])])
def test_a_batch_of_one_copy_gives_what_it_gives_among_others(spark: SparkSession, kernel, columns: list[str]) -> None:
    """Batches of one copy go to the kernel whole (frames.apply_kernel); mixed ones copy by copy."""
    mixed = augmented(priced(spark), kernel, columns, p=1.0).where(F.col(aug.COPY) == 1)
    rows = aug.with_key(priced(spark), "event_id").withColumn(aug.COPY, F.lit(1))
    op = aug.column_op(kernel, columns, seed=SEED, label="0:op")
    alone = rows.select(
        "event_id", aug.COPY, *[c.alias(f"out{i}") for i, c in enumerate(aug.column_outputs(op, len(columns)))]
    )
    selected = ["event_id", aug.COPY, *[f"out{i}" for i in range(len(columns))]]
    assert sorted(mixed.select(*selected).collect()) == sorted(alone.collect())


def test_cooccurrence_top_k_by_hand(spark: SparkSession) -> None:
    t0 = datetime(2024, 1, 1)
    sessions = {"s1": "abc", "s2": "ab", "s3": "bd"}
    rows = [
        (f"{s}{i}", "u1", item, t0 + timedelta(minutes=i), s)
        for s, items in sessions.items()
        for i, item in enumerate(items)
    ]
    events = spark.createDataFrame(
        rows, "event_id string, user_id string, item_id string, ts timestamp, session_id string"
    )
    table = similar.top_k(events, k=2)
    got = {(r.item_id, r.rank): (r.similar_item, r.score) for r in table.collect()}
    assert got == {
        ("a", 1): ("b", 2), ("a", 2): ("c", 1),
        ("b", 1): ("a", 2), ("b", 2): ("c", 1),  # c and d tie at 1: by id
        ("c", 1): ("a", 1), ("c", 2): ("b", 1),
        ("d", 1): ("b", 1),
    }  # fmt: skip
    lookup = similar.collect(table)
    assert lookup.similar_to("a") == {"b", "c"} and lookup.similar_to("z") == set()


def test_sessions_without_ids_split_on_gaps(spark: SparkSession) -> None:
    t0 = datetime(2024, 1, 1)
    minutes = [0, 10, 20, 90, 95]  # a 70-minute gap starts a second session
    rows = [(f"e{i}", "u1", f"i{i}", t0 + timedelta(minutes=m), None) for i, m in enumerate(minutes)]
    events = spark.createDataFrame(
        rows, "event_id string, user_id string, item_id string, ts timestamp, session_id string"
    )
    labels = [r.session for r in similar.sessions(events).orderBy("ts").collect()]
    assert labels[:3] == [labels[0]] * 3 and labels[3] == labels[4] != labels[0]


def histories(spark: SparkSession) -> DataFrame:
    """40 users with 1 to 60 events over 8 items, in sessions of 5 events."""
    rng = np.random.default_rng(5)
    t0 = datetime(2024, 2, 1)
    rows = []
    for u in range(40):
        for i in range(1 + (u * 7) % 60):
            ts = t0 + timedelta(minutes=int(rng.integers(0, 50_000)))
            rows.append((f"u{u}", f"u{u}e{i:03d}", f"i{rng.integers(0, 8)}", "view", ts, f"u{u}s{i // 5}"))
    schema = "user_id string, event_id string, item_id string, event_type string, ts timestamp, session_id string"
    events = aug.with_key(spark.createDataFrame(rows, schema), "session_id", frames.SESSION_KEY)
    return aug.with_key(events, "user_id")


TABLE = sequence.SimilarItems({f"i{k}": [f"i{(k + 1) % 8}", f"i{(k + 3) % 8}"] for k in range(8)})
SEQUENCE_KERNELS = {
    "crop": lambda items, d: sequence.crop(items, d, eta=0.5),
    "substitute": lambda items, d: sequence.substitute(items, d, ratio=0.5, similar=TABLE),
    "insert": lambda items, d: sequence.insert(items, d, ratio=0.3, similar=TABLE),
}


def recipe(op: str) -> frames.SequenceRecipe:
    return frames.SequenceRecipe(seed=SEED, label=f"1:{op}", p=0.8, copies=2, max_history=20,
                              eligible=lambda n: n > 3 or op in ("substitute", "insert"))  # fmt: skip


EDITS = {op: frames.item_edit(kernel) for op, kernel in SEQUENCE_KERNELS.items()} | {
    "time_shift": frames.session_shift("week")
}


def _micros(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(ts=frame.ts.astype("datetime64[us]").astype("int64"))


def _sorted(frame: pd.DataFrame) -> list[tuple]:
    columns = ["user_id", aug.COPY, "event_id", "source_event_id", "item_id", frames.CHANGED, "ts"]
    return sorted(map(tuple, frame[columns].astype(str).to_numpy().tolist()))


@pytest.mark.parametrize("op", sorted(EDITS))
def test_sequence_op_equals_the_pure_edit_per_user(spark: SparkSession, op: str) -> None:
    events = histories(spark)
    edit = EDITS[op]
    got = _micros(aug.sequence_op(events.repartition(3), edit, recipe(op)).toPandas())
    local = _micros(events.toPandas())
    per_user = [
        pd.DataFrame(frames.edit_sequence({c: rows[c].to_numpy() for c in rows.columns}, edit, recipe(op)))
        for _, rows in local.groupby("user_id")
    ]
    expected = pd.concat([frame for frame in per_user if len(frame)], ignore_index=True)
    assert len(got) > 0 and _sorted(got) == _sorted(expected)
    again = _micros(aug.sequence_op(events.repartition(1), edit, recipe(op)).toPandas())
    assert _sorted(again) == _sorted(got)  # any partitioning, the same rows
    lengths = local.groupby("user_id").size()
    if op == "crop":  # short histories (at most 3 events) are never cropped
        assert not set(got.user_id) & set(lengths[lengths <= 3].index)
    recent = local.sort_values("ts").groupby("user_id").tail(20).event_id
    assert set(got.source_event_id) <= set(recent)  # histories truncated to the 20 most recent


def test_slide_window_and_subset_split_through_the_stage_equal_the_pure_kernels(spark: SparkSession) -> None:
    """Every user's three most recent windows (5 events, stride 4) and a subset split, through the
    stage's sequence path (grouped UDF, join back to the source rows, ids, lineage)."""
    keyed = histories(spark)
    train = keyed.drop(aug.KEY, frames.SESSION_KEY).withColumn("price", F.lit(2.5))
    conf = AugmentConfig.model_validate({
        "max_history": 30, "short_max": 3,
        "ops": [{"op": "slide_window", "length": 5, "stride": 4, "copies": 3}, {"op": "subset_split", "dropout": 0.5}],
    })  # fmt: skip
    out = apply.augment(spark, train, conf, seed=SEED).toPandas()
    local = keyed.toPandas().sort_values(["user_id", "ts", "event_id"])
    recent = local.groupby("user_id").tail(30)
    windows = out[out.aug_ops.map(lambda ops: list(ops) == ["0:slide_window(p=1.0, copies=3, length=5, stride=4)"])]
    subsets = out[out.aug_ops.map(lambda ops: list(ops) == ["1:subset_split(p=1.0, copies=1, dropout=0.5)"])]
    assert len(windows) + len(subsets) == len(out)

    def got(frame: pd.DataFrame) -> dict[tuple[str, int], list[str]]:
        ordered = frame.sort_values(["ts", "source_event_id"])
        return {key: rows.source_event_id.tolist() for key, rows in ordered.groupby(["user_id", aug.COPY])}

    expected_windows, expected_subsets = {}, {}
    for user, rows in recent.groupby("user_id"):
        items, ids, n = rows.item_id.to_numpy(dtype=object), rows.event_id.to_numpy(dtype=object), len(rows)
        key = frames.keys_of(rows[aug.KEY].iloc[:1])
        for copy in range(3):
            d = Draws.of(seed=SEED, op="0:slide_window", copy=copy, keys=key)
            window = ids[sequence.slide_window(items, d, length=5, stride=4).source].tolist()
            assert window == (ids[n - 4 * copy - 5 : n - 4 * copy].tolist() if n - 4 * copy >= 5 else [])
            if n > 3 and window:
                expected_windows[(user, copy)] = window
        d = Draws.of(seed=SEED, op="1:subset_split", copy=0, keys=key)
        if n > 3:
            expected_subsets[(user, 0)] = ids[sequence.subset_split(items, d, dropout=0.5).source].tolist()
    assert got(windows) == expected_windows and got(subsets) == expected_subsets
    assert {copy for _, copy in expected_windows} == {0, 1, 2}
    lengths = recent.groupby("user_id").size()
    assert set(windows.user_id) == set(lengths[lengths >= 5].index)  # 4 events: too short for one window
    assert set(windows[windows.aug_copy == 2].user_id) == set(lengths[lengths >= 13].index)

    source = local.set_index("event_id")
    for frame, index in ((windows, 0), (subsets, 1)):  # lineage: ids, source rows' items and times
        assert (frame.event_id == f"aug:{index}:" + frame.aug_copy.astype(str) + ":" + frame.source_event_id).all()
        assert (frame.item_id.to_numpy() == source.loc[frame.source_event_id, "item_id"].to_numpy()).all()
        assert (frame.ts.to_numpy() == source.loc[frame.source_event_id, "ts"].to_numpy()).all()
        assert (frame.user_id.to_numpy() == source.loc[frame.source_event_id, "user_id"].to_numpy()).all()
