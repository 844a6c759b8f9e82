"""The demo source: generated on the executors, every generated line accounted for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import SparkSession

from recaug_spark.config import DemoSource
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.sources import demo
from recaug_spark.sources import synthetic_shop as shop
from tests.conftest import test_config

DEMO = (
    "source.events=12000",
    "source.chunk_events=4000",
    "source.dirty_share=0.03",
    "source.duplicate_share=0.02",
)
REASON_OF = {
    "dirty:empty_user": "missing user_id",
    "dirty:negative_price": "negative price",
    "dirty:bad_timestamp": "unparsable ts",
    "dirty:unknown_event_type": "unknown event_type",
    "dirty:cut_line": "wrong field count: expected 9, got 6",
    "dirty:bad_quantity": "unparsable quantity 'two'",
}


@pytest.fixture(scope="module")
def ingested(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory):
    cfg = test_config(*DEMO, lake=tmp_path_factory.mktemp("demo"))
    return cfg, execute("ingest", cfg, spark)


def generated_labels(cfg) -> Counter:
    assert isinstance(cfg.source, DemoSource)
    spec = demo.shop_spec(cfg.source, cfg.run.seed)
    labels = np.concatenate([shop.event_lines(spec, c)[1] for c in range(spec.n_chunks)])
    return Counter(labels)


def test_written_plus_quarantined_plus_duplicates_equals_generated(ingested) -> None:
    cfg, result = ingested
    labels = generated_labels(cfg)
    c = result.counts
    generated = sum(labels.values())
    assert c["events_read"] == generated
    assert c["events_written"] + c["events_quarantined"] + c["events_duplicates_in_batch"] == generated
    assert c["events_written"] == labels["clean"]
    assert c["events_duplicates_in_batch"] == labels["duplicate"]
    assert c["events_quarantined"] == sum(v for k, v in labels.items() if k.startswith("dirty"))


def test_each_kind_of_dirty_line_is_quarantined_for_its_reason(spark: SparkSession, ingested) -> None:
    cfg, _ = ingested
    labels = generated_labels(cfg)
    reasons = [r.reason for r in Lake(spark, cfg.lake.root).read("bronze/quarantine").collect()]
    for label, reason in REASON_OF.items():
        assert sum(r.startswith(reason) for r in reasons) == labels[label], label


def test_catalogue_and_profiles_are_complete(spark: SparkSession, ingested) -> None:
    cfg, result = ingested
    spec = demo.shop_spec(cfg.source, cfg.run.seed)
    lake = Lake(spark, cfg.lake.root)
    assert lake.read("bronze/items").count() == spec.items == result.counts["items_written"]
    assert lake.read("bronze/users").count() == spec.users == result.counts["users_written"]
    assert lake.read("bronze/events").join(lake.read("bronze/items"), "item_id", "left_anti").count() == 0


def test_generation_ignores_the_number_of_partitions(spark: SparkSession, ingested) -> None:
    cfg, _ = ingested
    spec = demo.shop_spec(cfg.source, cfg.run.seed)
    lines = demo.event_lines(spark, spec).select("_rc_raw_record")
    one = lines.coalesce(1).collect()
    many = lines.repartition(5).collect()
    assert Counter(r[0] for r in one) == Counter(r[0] for r in many)
    assert len(one) == sum(generated_labels(cfg).values())


def test_events_carry_demo_context(spark: SparkSession, ingested) -> None:
    cfg, _ = ingested
    row = Lake(spark, cfg.lake.root).read("bronze/events").where("event_type = 'purchase'").first()
    assert row is not None
    assert set(row.attrs) == {"device", "region"} and row.quantity >= 1 and row.price > 0 and row.session_id


def test_cli_ingest_result_matches_generated_counts_for_a_second_size(spark: SparkSession, tmp_path: Path) -> None:
    cfg = test_config("source.events=3000", "source.chunk_events=1000", lake=tmp_path / "lake")
    result = execute("ingest", cfg, spark)
    labels = generated_labels(cfg)
    assert result.counts["events_written"] == labels["clean"]
