"""Preprocess and split on a small shop built in code: cleaning counts, the leakage rule, split
properties, and incremental runs that equal a full recompute."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from recaug_spark import incremental
from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.runs import SKIPPED, SUCCEEDED, StageResult
from recaug_spark.schema import (
    BRONZE_EVENTS,
    SILVER_EVENTS,
    SILVER_FEEDBACK,
    SILVER_ITEM_FEATURES,
    SILVER_SPLIT,
    SILVER_STATS,
    SILVER_USER_FEATURES,
)
from tests.conftest import test_config
from tests.helpers import assert_same_rows

SHOP_YAML = """
source:
  kind: csv
  name: tinyshop
  events:
    path: {root}/events/*.csv
    format: {{delimiter: ",", header: true}}
    columns: {{user_id: user, item_id: item, event_type: action, ts: ts, price: price, quantity: qty}}
    timestamp: {{unit: s}}
  items:
    path: {root}/catalog.csv
    format: {{delimiter: ",", header: true}}
    columns: {{item_id: item, category: cat}}
preprocess:
  clean:
    bots: {{min_events: 10}}
  impute:
    - {{column: price, strategy: median, levels: [[category], []]}}
    - {{column: category, strategy: constant, constant: unknown}}
  normalize:
    - {{column: price, method: zscore, partition_by: [category]}}
    - {{column: price, method: robust}}
    - {{column: price, method: minmax, partition_by: [user_id]}}
    - {{column: price, method: log1p_zscore, partition_by: [user_id], window_days: 2}}
split:
  cutoff_date: 2024-03-06
  cold_max: 3
"""
DAYS = [date(2024, 3, d) for d in range(1, 8)]  # 1-5 train, 6-7 test (cutoff 2024-03-06)
CUTOFF = date(2024, 3, 6)
BOT = "u9"
SILVER_TABLES = (SILVER_EVENTS, SILVER_STATS, SILVER_USER_FEATURES, SILVER_ITEM_FEATURES, SILVER_FEEDBACK, SILVER_SPLIT)


def day_rows(day: date, seed: int) -> pd.DataFrame:
    """One day of a small shop: 8 users x ~6 events, a few missing and one extreme price."""
    rng = np.random.default_rng(seed)
    n = 48
    start = int((datetime(day.year, day.month, day.day) - datetime(1970, 1, 1)).total_seconds())
    items = rng.integers(0, 12, n)
    price = np.round(10.0 * (1 + items % 4) * rng.uniform(0.8, 1.2, n), 2)
    frame = pd.DataFrame(
        {
            "user": [f"u{u}" for u in rng.integers(0, 8, n)],
            "item": [f"i{i}" for i in items],
            "action": rng.choice(["view", "view", "view", "cart", "fav", "purchase"], n),
            "ts": start + np.sort(rng.integers(600, 86_000, n)),
            "price": price,
            "qty": rng.integers(1, 3, n).astype(float),
        }
    )
    frame.loc[rng.random(n) < 0.08, "price"] = np.nan
    return frame


def shop_events(days: list[date]) -> pd.DataFrame:
    """The days' rows plus planted cases: an exact and a near duplicate, an extreme price, a bot."""
    frame = pd.concat([day_rows(d, seed=d.day) for d in days], ignore_index=True)
    first = frame.iloc[5].copy()
    exact = first.copy()
    exact["price"] = first["price"] + 0.5 if pd.notna(first["price"]) else 1.0  # same key and ts, other content
    near = first.copy()
    near["ts"] = first["ts"] + 3
    extreme = frame.iloc[20].copy()
    extreme["price"] = 5000.0
    extras = [exact, near, extreme]
    if DAYS[1] in days:
        bot_start = int((datetime(2024, 3, 2, 12) - datetime(1970, 1, 1)).total_seconds())
        extras += [
            pd.Series({"user": BOT, "item": f"i{k % 12}", "action": "view", "ts": bot_start + 3 * k,
                       "price": 10.0, "qty": 1.0})
            for k in range(120)
        ]  # fmt: skip
    return pd.concat([frame, pd.DataFrame(extras)], ignore_index=True)


def write_shop(root: Path, batches: dict[str, pd.DataFrame], *, conf_overrides: str = "") -> Path:
    (root / "events").mkdir(parents=True, exist_ok=True)
    for name, rows in batches.items():
        rows.to_csv(root / "events" / f"{name}.csv", index=False)
    catalog = pd.DataFrame({"item": [f"i{i}" for i in range(11)], "cat": [f"c{i % 3}" for i in range(11)]})
    catalog.to_csv(root / "catalog.csv", index=False)  # i11 has no catalog entry: category imputed
    conf = root / "tinyshop.yaml"
    conf.write_text(SHOP_YAML.format(root=root) + conf_overrides)
    return conf


@dataclass
class ShopLake:
    root: Path
    conf: Path
    lake: Lake
    results: dict[str, list[StageResult]] = field(default_factory=dict)
    snapshots: dict[str, dict[str, int]] = field(default_factory=dict)  # table versions at named points

    def cfg(self, *overrides: str):
        return test_config(*overrides, conf=(self.conf,), lake=self.root / "lake")

    def run(self, *stages: str, overrides: tuple[str, ...] = ()) -> list[StageResult]:
        out = []
        for stage in stages:
            result = execute(stage, self.cfg(*overrides), self.lake.spark)
            self.results.setdefault(stage, []).append(result)
            out.append(result)
        return out


def build(spark: SparkSession, root: Path, batches: dict[str, pd.DataFrame], conf_overrides: str = "") -> ShopLake:
    conf = write_shop(root, batches, conf_overrides=conf_overrides)
    return ShopLake(root, conf, Lake(spark, str(root / "lake")))


BATCH1 = shop_events(DAYS[:6])
BATCH2 = shop_events(DAYS[6:])


@pytest.fixture(scope="module")
def incremental_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopLake]:
    """Batch 1 (days 1-6) processed, re-run (skipped), then batch 2 (day 7) processed incrementally."""
    shop = build(spark, tmp_path_factory.mktemp("incremental"), {"batch1": BATCH1})
    shop.run("ingest", "preprocess", "split")
    shop.snapshots["first"] = shop.lake.versions(SILVER_TABLES)
    shop.run("preprocess", "split")  # nothing new: both skipped
    shop.snapshots["rerun"] = shop.lake.versions(SILVER_TABLES)
    write_shop(shop.root, {"batch2": BATCH2})
    shop.run("ingest", "preprocess", "split")
    yield shop


@pytest.fixture(scope="module")
def full_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> ShopLake:
    """Both batches at once, processed in one full run."""
    shop = build(spark, tmp_path_factory.mktemp("full"), {"batch1": BATCH1, "batch2": BATCH2})
    shop.run("ingest", "preprocess", "split")
    return shop


@pytest.fixture(scope="module")
def small_shop(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> ShopLake:
    """The first 200 rows of batch 1 (days 1-5), ingested only: tests work on copies of its lake (copy_of).
    A test may add a file to its source directory and ingest it into its copy; no test ingests into
    this lake again."""
    shop = build(spark, tmp_path_factory.mktemp("small"), {"batch1": BATCH1.head(200)})
    shop.run("ingest")
    return shop


def copy_of(shop: ShopLake, root: Path) -> ShopLake:
    """A lake of its own at ``root`` that starts as a copy of ``shop``'s, over the same source files."""
    shutil.copytree(shop.root / "lake", root / "lake")
    return ShopLake(root, shop.conf, Lake(shop.lake.spark, str(root / "lake")))


def test_rerun_without_new_data_writes_nothing(incremental_lake: ShopLake) -> None:
    pre, split = incremental_lake.results["preprocess"][1], incremental_lake.results["split"][1]
    assert pre.status == SKIPPED and "nothing to recompute" in pre.message
    assert split.status == SKIPPED
    assert incremental_lake.snapshots["rerun"] == incremental_lake.snapshots["first"]


def test_a_new_date_recomputes_only_its_rows(incremental_lake: ShopLake) -> None:
    shop = incremental_lake
    pre, split = shop.results["preprocess"][2], shop.results["split"][2]
    assert pre.status == SUCCEEDED and "1 new date(s) from 2024-03-07" in pre.message
    day7 = shop.lake.read(SILVER_EVENTS).where(F.col("event_date") == F.lit(DAYS[6])).count()
    assert pre.counts["events_rewritten"] == day7 == len(BATCH2)
    assert (
        split.counts["rows_rewritten"]
        == shop.lake.read(SILVER_SPLIT).where(F.col("event_date") == F.lit(DAYS[6])).count()
    )
    now, before = shop.lake.versions(SILVER_TABLES), shop.snapshots["first"]
    for table in (SILVER_STATS, SILVER_USER_FEATURES, SILVER_ITEM_FEATURES, SILVER_FEEDBACK):
        assert now[table] == before[table], f"{table} must not be rewritten"
    assert now[SILVER_EVENTS] == before[SILVER_EVENTS] + 1 and now[SILVER_SPLIT] == before[SILVER_SPLIT] + 1


@pytest.mark.parametrize(
    ("table", "drop"),
    [
        (SILVER_EVENTS, ()),
        (SILVER_STATS, ("version",)),
        (SILVER_USER_FEATURES, ()),
        (SILVER_ITEM_FEATURES, ()),
        (SILVER_FEEDBACK, ()),
        (SILVER_SPLIT, ()),  # split_version is the training rows' digest: the same either way
    ],
)
def test_incremental_tables_equal_a_full_recompute(
    incremental_lake: ShopLake, full_lake: ShopLake, table: str, drop: tuple[str, ...]
) -> None:
    assert_same_rows(incremental_lake.lake.read(table), full_lake.lake.read(table), drop=drop, digits=12)


def test_rows_inside_the_training_period_force_a_full_recompute(
    small_shop: ShopLake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shop = copy_of(small_shop, tmp_path_factory.mktemp("late"))
    since = shop.lake.versions([BRONZE_EVENTS])
    write_shop(small_shop.root, {"late": day_rows(DAYS[1], seed=99).head(3)})  # a late file of 2024-03-02
    shop.run("ingest")
    plan = incremental.plan(shop.lake, shop.cfg().split, BRONZE_EVENTS, since)
    assert not plan.incremental and "changed on 2024-03-02, inside the training period" in plan.reason
    quantile = shop.cfg("split.cutoff_date=null").split
    assert "moves with new data" in incremental.plan(shop.lake, quantile, BRONZE_EVENTS, since).reason
    nothing = incremental.plan(shop.lake, shop.cfg().split, BRONZE_EVENTS, shop.lake.versions([BRONZE_EVENTS]))
    assert nothing.nothing_new


def _pandas_flags(events: pd.DataFrame, near_seconds: float = 5.0) -> pd.DataFrame:
    """Duplicate and near-duplicate flags by the rule's definition, in pandas."""
    ordered = events.sort_values(["user_id", "item_id", "event_type", "ts", "event_id"])
    gap = ordered.groupby(["user_id", "item_id", "event_type"]).ts.diff().dt.total_seconds()
    ordered["dup"] = gap == 0
    ordered["near"] = (gap > 0) & (gap <= near_seconds)
    return ordered


def test_cleaning_counts_match_pandas(full_lake: ShopLake) -> None:
    lake = full_lake.lake
    counts = full_lake.results["preprocess"][0].counts
    bronze = lake.read(BRONZE_EVENTS).select("event_id", "user_id", "item_id", "event_type", "ts").toPandas()
    flags = _pandas_flags(bronze)
    assert counts["flag_duplicate"] == int(flags.dup.sum()) >= 2  # planted in both batches
    assert counts["flag_near_duplicate"] == int(flags.near.sum()) >= 2
    silver = lake.read(SILVER_EVENTS)
    assert {r.user_id for r in silver.where("flag_bot_user").select("user_id").distinct().collect()} == {BOT}
    assert counts["flag_bot_user"] == 120
    assert counts["capped_price"] >= 1 and silver.agg(F.max("price")).first()[0] < 5000
    assert counts["imputed_category"] == silver.where(F.col("item_id") == "i11").count() > 0
    assert counts["imputed_price"] == int(pd.concat([BATCH1, BATCH2]).price.isna().sum())
    assert counts["events"] == silver.count() == lake.read(BRONZE_EVENTS).count()  # flagged, never dropped
    stored = lake.read("gold/pipeline_runs").where("stage = 'preprocess' AND status = 'succeeded'").first()
    assert stored.row_counts["flag_near_duplicate"] == counts["flag_near_duplicate"]


def test_global_split_properties(full_lake: ShopLake) -> None:
    split = full_lake.lake.read(SILVER_SPLIT).toPandas()
    cutoff = pd.Timestamp(CUTOFF)
    assert (split.loc[split.split == "test", "ts"] >= cutoff).all()
    assert (split.loc[split.split == "train", "ts"] < cutoff).all()
    train = split[split.split == "train"]
    per_user = train.groupby("user_id").size()
    expected_events = split.user_id.map(per_user).fillna(0).astype(int)
    assert (split.user_train_events == expected_events).all()
    assert ((split.user_segment == "cold") == (split.user_train_events <= 3)).all()
    assert (split.user_seen == split.user_id.isin(train.user_id)).all()
    assert (split.item_seen == split.item_id.isin(train.item_id)).all()
    silver = full_lake.lake.read(SILVER_EVENTS).where("is_clean").count()
    assert len(split) == silver  # every clean event assigned once
    assert BOT not in set(split.user_id)  # not clean: never trained or tested on


def test_leave_last_n_puts_exactly_n_events_of_each_eligible_user_in_test(
    small_shop: ShopLake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shop = copy_of(small_shop, tmp_path_factory.mktemp("leave_last"))
    shop.run("preprocess", "split", overrides=("split.mode=leave_last", "split.leave_last_n=2"))
    split = shop.lake.read(SILVER_SPLIT).toPandas()
    silver = shop.lake.read(SILVER_EVENTS).where("is_clean").toPandas()
    for user, rows in silver.groupby("user_id"):
        test = split[(split.user_id == user) & (split.split == "test")]
        if len(rows) > 2:
            latest = rows.sort_values(["ts", "event_id"]).tail(2)
            assert sorted(test.event_id) == sorted(latest.event_id), user
        else:
            assert test.empty, user
    assert shop.lake.read(SILVER_STATS).where("kind = 'normalize'").count() > 0


def test_changing_test_period_values_changes_no_statistic_or_feature(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, full_lake: ShopLake
) -> None:
    """The leakage rule: the same training rows with other test rows give the same fit and features."""
    altered = BATCH1.copy()
    test_rows = altered.ts >= (pd.Timestamp(CUTOFF) - pd.Timestamp(0)).total_seconds()
    assert test_rows.sum() > 20
    altered.loc[test_rows, "price"] = altered.loc[test_rows, "price"] * 7 + 100
    altered.loc[test_rows, "action"] = "purchase"
    base = full_lake
    other = build(spark, tmp_path_factory.mktemp("leak_other"), {"batch1": altered, "batch2": BATCH2})
    other.run("ingest", "preprocess")
    for table, drop in ((SILVER_STATS, ("version",)), (SILVER_USER_FEATURES, ()), (SILVER_ITEM_FEATURES, ()),
                        (SILVER_FEEDBACK, ())):  # fmt: skip
        assert_same_rows(base.lake.read(table), other.lake.read(table), drop=drop, digits=12)
    fit_rows = [s.lake.read(SILVER_EVENTS).where(F.col("ts") < F.lit(datetime(2024, 3, 6))) for s in (base, other)]
    assert_same_rows(*fit_rows, digits=12)
    test_rows = [s.lake.read(SILVER_EVENTS).where(F.col("ts") >= F.lit(datetime(2024, 3, 6))) for s in (base, other)]
    totals = [rows.agg(F.sum("price"), F.count_if(F.col("event_type") == "purchase")).first() for rows in test_rows]
    assert totals[0][0] < totals[1][0] and totals[0][1] < totals[1][1]  # the test rows did change


def test_an_unknown_column_fails_before_any_table_is_touched(full_lake: ShopLake) -> None:
    before = full_lake.lake.versions(SILVER_TABLES)
    with pytest.raises(ConfigError, match=r"preprocess\.normalize\[0\].*unknown column\(s\) \['prce'\]"):
        full_lake.run("preprocess", overrides=("preprocess.normalize=[{column: prce, method: zscore}]",))
    assert full_lake.lake.versions(SILVER_TABLES) == before
