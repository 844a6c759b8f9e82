"""A dataset the project has never seen, ingested by writing a small YAML: the generic csv source."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from recaug_spark.errors import InputError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.runs import RUNNING, SKIPPED, StageResult
from recaug_spark.schema import PIPELINE_RUNS
from tests.conftest import test_config

SOURCE_YAML = """
source:
  kind: csv
  name: myshop
  events:
    path: {root}/clicks/*.csv
    format: {{delimiter: ";", header: true}}
    columns:
      user_id: customer
      item_id: sku
      event_type: action
      ts: at_ms
      quantity: qty
      price: {{expr: "try_cast(cents AS DOUBLE) / 100"}}
    timestamp: {{unit: ms}}
    event_types: {{click: view, basket: cart, order: purchase}}
    attrs: [country]
  items:
    path: {root}/catalog.csv
    format: {{delimiter: "|", header: false, columns: [sku, cat, brand]}}
    columns: {{item_id: sku, category: cat, brand: brand}}
  users:
    path: {root}/customers.tsv
    format: {{delimiter: "\\t", header: true}}
    columns: {{user_id: customer, segment: tier}}
    attrs: [age_band]
"""

DAY1 = """customer;sku;action;at_ms;qty;cents;country
c1;s1;click;1700000000123;;1999;"DE;AT"
c1;s1;basket;1700000005000;2;1999;DE
c2;s2;order;1700000009000;1;500;FR
c2;s2;order;1700000009000;1;500;FR
c3;s9;teleport;1700000010000;;;FR
c4;s2;click;soon;;;FR
"""

DAY2 = """customer;sku;action;at_ms;qty;cents;country
c5;s1;click;1700086400000;;1999;DE
c1;s1;click;1700000000123;;1999;"DE;AT"
"""


def _write_shop(root: Path) -> Path:
    (root / "clicks").mkdir()
    (root / "clicks" / "day1.csv").write_text(DAY1)
    (root / "catalog.csv").write_text("s1|shoes|acme\ns2|hats|\n|orphan|x\n")
    (root / "customers.tsv").write_text("customer\ttier\tage_band\nc1\tgold\t25-34\nc2\t\t35-44\n")
    conf = root / "myshop.yaml"
    conf.write_text(SOURCE_YAML.format(root=root))
    return root


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return _write_shop(tmp_path)


@pytest.fixture(scope="module")
def ingested_day1(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StageResult]:
    """The shop's day 1 ingested into ``<shop>/lake``, once: tests that ingest more do so into a copy of
    the lake (the files they add to the shop's directories are never ingested into this one)."""
    shop = _write_shop(tmp_path_factory.mktemp("myshop"))
    return shop, execute("ingest", test_config(conf=(shop / "myshop.yaml",), lake=shop / "lake"), spark)


def test_generic_csv_source_from_yaml_only(spark: SparkSession, ingested_day1: tuple[Path, StageResult]) -> None:
    shop, result = ingested_day1
    lake = Lake(spark, str(shop / "lake"))
    c = result.counts
    assert (c["events_read"], c["events_header_lines"]) == (7, 1)
    assert (c["events_written"], c["events_quarantined"], c["events_duplicates_in_batch"]) == (3, 2, 1)
    events = {(r.user_id, r.event_type): r for r in lake.read("bronze/events").collect()}
    click = events[("c1", "view")]
    assert click.ts == datetime(2023, 11, 14, 22, 13, 20, 123000)
    assert click.price == 19.99 and click.quantity is None
    assert click.attrs == {"country": "DE;AT"}  # the quoted delimiter stays inside its field
    assert events[("c1", "cart")].quantity == 2.0
    assert events[("c2", "purchase")].price == 5.0
    reasons = sorted((r.table_name, r.reason) for r in lake.read("bronze/quarantine").collect())
    assert reasons == [
        ("events", "unknown event_type 'teleport'"),
        ("events", "unparsable ts 'soon'"),
        ("items", "missing item_id"),
    ]
    assert {r.item_id: (r.category, r.brand) for r in lake.read("bronze/items").collect()} == {
        "s1": ("shoes", "acme"),
        "s2": ("hats", None),
    }
    users = {r.user_id: (r.segment, r.attrs) for r in lake.read("bronze/users").collect()}
    assert users == {"c1": ("gold", {"age_band": "25-34"}), "c2": (None, {"age_band": "35-44"})}


def test_a_new_file_adds_only_its_rows(
    spark: SparkSession, ingested_day1: tuple[Path, StageResult], tmp_path: Path
) -> None:
    shop, _ = ingested_day1
    shutil.copytree(shop / "lake", tmp_path / "lake")  # day 1 ingested
    cfg = test_config(conf=(shop / "myshop.yaml",), lake=tmp_path / "lake")
    (shop / "clicks" / "day2.csv").write_text(DAY2)
    result = execute("ingest", cfg, spark)
    c = result.counts
    assert c["events_read"] == 3 and c["files"] == 1  # only day2.csv was read; items and users unchanged
    assert (c["events_written"], c["events_duplicates_existing"]) == (1, 1)  # c1's click was already there
    assert "items_read" not in c
    lake = Lake(spark, cfg.lake.root)
    assert lake.read("bronze/events").count() == 4
    assert lake.read("bronze/ingested_files").count() == 4
    assert execute("ingest", cfg, spark).status == SKIPPED


def test_missing_input_is_a_clean_noop(spark: SparkSession, shop: Path) -> None:
    (shop / "clicks" / "day1.csv").unlink()
    cfg = test_config(conf=(shop / "myshop.yaml",), lake=shop / "lake")
    result = execute("ingest", cfg, spark)
    assert "no input files match source.events.path" in result.message
    assert Lake(spark, cfg.lake.root).exists("bronze/events") is False
    # A refresh stops after ingest; ingest's row (held back for the registry's next commit) is committed.
    result = execute("refresh", cfg, spark, run_id="empty")
    assert result.status == SKIPPED and result.message.startswith("nothing to refresh: no input files match")
    rows = Lake(spark, cfg.lake.root).read(PIPELINE_RUNS).where("run_id = 'empty'").collect()
    assert sorted((r.stage, r.status) for r in rows) == [
        ("ingest", RUNNING), ("ingest", SKIPPED), ("refresh", RUNNING), ("refresh", SKIPPED)
    ]  # fmt: skip


def test_header_that_disagrees_with_columns_is_an_input_error(spark: SparkSession, shop: Path) -> None:
    conf = shop / "myshop.yaml"
    columns = "columns: [sku, customer, action, at_ms, qty, cents, country]"
    conf.write_text(
        conf.read_text().replace('{delimiter: ";", header: true}', f'{{delimiter: ";", header: true, {columns}}}')
    )
    cfg = test_config(conf=(conf,), lake=shop / "lake")
    with pytest.raises(InputError, match=r"format\.columns"):
        execute("ingest", cfg, spark)
