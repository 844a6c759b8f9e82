"""Ingest of the two real datasets: every line accounted for, values equal to a pandas reading."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from recaug_spark.pipeline import execute
from recaug_spark.runs import RUNNING, SKIPPED, SUCCEEDED, latest
from tests.conftest import REPO, RealLake, shared_data, test_config

TAOBAO = ("taobao_userbehavior", "UserBehavior.csv")
CJ = "completejourney"


def test_taobao_counts_match_the_data_readme(taobao: RealLake) -> None:
    lake, result = taobao.lake, taobao.ingest
    c = result.counts
    assert c["events_read"] == 84_476  # 84,475 events + the cut last line
    assert (c["events_written"], c["events_quarantined"]) == (84_475, 1)
    assert c["events_duplicates_in_batch"] == c["events_duplicates_existing"] == 0
    assert lake.read("bronze/events").count() == 84_475
    assert lake.read("bronze/items").count() == 55_368
    assert lake.read("bronze/events").select("user_id").distinct().count() == 815


def test_taobao_cut_line_is_quarantined_with_its_raw_content(taobao: RealLake) -> None:
    lake = taobao.lake
    (row,) = lake.read("bronze/quarantine").collect()
    assert row.raw_record == "100370,1968385,1875258,pv"
    assert row.reason == "wrong field count: expected 5, got 4; missing ts"
    assert row.source == "taobao" and row.table_name == "events" and row.source_file.endswith("UserBehavior.csv")


def test_taobao_values_equal_a_pandas_reading(taobao: RealLake) -> None:
    lake = taobao.lake
    ref = pd.read_csv(shared_data(*TAOBAO), header=None, names=["u", "i", "c", "b", "ts"]).dropna()
    ref["event_type"] = ref.b.map({"pv": "view", "cart": "cart", "fav": "fav", "buy": "purchase"})
    ref["ts"] = pd.to_datetime(ref.ts.astype("int64"), unit="s")
    got = lake.read("bronze/events").select("user_id", "item_id", "event_type", "ts").toPandas()
    key = ["user_id", "item_id", "event_type", "ts"]
    expected = ref.rename(columns={"u": "user_id", "i": "item_id"}).astype({"user_id": str, "item_id": str})[key]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    items = lake.read("bronze/items").toPandas().set_index("item_id").category
    mode = ref.astype({"i": str, "c": str}).groupby("i").c.agg(lambda s: sorted(s.mode())[0])
    assert items.sort_index().equals(mode.sort_index().rename("category").rename_axis("item_id"))


def test_taobao_run_is_recorded(taobao: RealLake) -> None:
    lake, result = taobao.lake, taobao.ingest
    rows = lake.read("gold/pipeline_runs").where(F.col("run_id") == "taobao-1").collect()
    assert sorted(r.status for r in rows) == [RUNNING, SUCCEEDED]  # append-only: start and end
    (run,) = latest(lake).where(F.col("run_id") == "taobao-1").collect()
    assert (run.stage, run.status) == ("ingest", SUCCEEDED)
    assert run.row_counts["events_written"] == 84_475 and run.row_counts["events_quarantined"] == 1
    assert run.output_versions["bronze/events"] == result.output_versions["bronze/events"]
    assert run.finished_at >= run.started_at


def test_taobao_reingest_adds_nothing(spark: SparkSession, taobao: RealLake) -> None:
    lake = taobao.lake
    tables = ["bronze/events", "bronze/items", "bronze/quarantine", "bronze/ingested_files"]
    before = {t: lake.version(t) for t in tables}
    cfg = test_config(conf=(REPO / "conf/sources/taobao.yaml",), lake=lake.root)
    again = execute("ingest", cfg, spark)
    assert again.status == SKIPPED and "ingested before" in again.message
    assert {t: lake.version(t) for t in tables} == before
    forced = execute(
        "ingest",
        test_config("ingest.reprocess_files=true", conf=(REPO / "conf/sources/taobao.yaml",), lake=lake.root),
        spark,
    )
    assert forced.counts["events_written"] == 0
    assert forced.counts["events_duplicates_existing"] == 84_475
    assert lake.read("bronze/events").count() == 84_475
    assert lake.read("bronze/quarantine").count() == 1


def test_completejourney_every_line_accounted_for(completejourney: RealLake) -> None:
    lake, result = completejourney.lake, completejourney.ingest
    c = result.counts
    assert c["events_read"] == 100_001 and c["events_header_lines"] == 1
    assert c["events_written"] + c["events_quarantined"] + c["events_duplicates_in_batch"] == 100_000
    assert (c["events_written"], c["events_quarantined"], c["events_flagged"]) == (99_423, 577, 149)
    reasons = {r.reason: r["count"] for r in lake.read("bronze/quarantine").groupBy("reason").count().collect()}
    assert reasons == {"rule zero_quantity": 577}
    assert (c["items_written"], c["users_written"]) == (92_331, 801)


def test_completejourney_prices_and_flags_equal_pandas(completejourney: RealLake) -> None:
    lake = completejourney.lake
    ref = pd.read_csv(shared_data(CJ, "transactions_sample.csv"))
    kept = ref[ref.quantity != 0]
    events = lake.read("bronze/events").select("price", "quantity", "quality_flags", "session_id", "attrs").toPandas()
    np.testing.assert_allclose((events.price * events.quantity).sum(), kept.sales_value.sum(), rtol=1e-12)
    assert events.quality_flags.map(lambda f: "zero_sales_value" in f).sum() == (kept.sales_value <= 0).sum() == 149
    assert events.session_id.nunique() == kept.basket_id.nunique()
    assert set(events["attrs"].iloc[0]) == {
        "store_id",
        "sales_value",
        "retail_disc",
        "coupon_disc",
        "coupon_match_disc",
        "week",
    }


def test_completejourney_items_and_users(completejourney: RealLake) -> None:
    lake = completejourney.lake
    products = pd.read_csv(shared_data(CJ, "products.csv"))
    items = lake.read("bronze/items").toPandas()
    assert items.category.isna().sum() == products.product_category.isna().sum()
    assert set(items.department.dropna()) == set(products.department.dropna())
    users = lake.read("bronze/users").toPandas()
    demographics = pd.read_csv(shared_data(CJ, "demographics.csv"))
    missing_ownership = users["attrs"].map(lambda a: a.get("home_ownership") is None).sum()
    assert missing_ownership == demographics.home_ownership.isna().sum() == 233
    orphan_events = lake.read("bronze/events").join(lake.read("bronze/items"), "item_id", "left_anti").count()
    kept = pd.read_csv(shared_data(CJ, "transactions_sample.csv")).query("quantity != 0")
    assert orphan_events == (~kept.product_id.isin(products.product_id)).sum()
