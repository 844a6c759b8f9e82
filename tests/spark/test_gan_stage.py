"""Stages train-gan and generate on a small demo lake: the artifact, generation on the executors
(identical on 1 and 3 partitions), canonical output with lineage, conditions, the quality report."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from recaug_spark.errors import ArtifactError
from recaug_spark.gan import store
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import METADATA, WEIGHTS
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.runs import SKIPPED, latest
from recaug_spark.schema import BRONZE_USERS, GOLD_SYNTHETIC, SILVER_SPLIT, SYNTHETIC_EVENTS
from tests.conftest import DEMO_EVENTS, test_config
from tests.helpers import assert_same_rows

SMALL_GAN = (
    "gan.max_rows=2000", "gan.holdout_rows=400", "gan.epochs=3", "gan.train.batch_size=200",
    "gan.model.generator_dims=[64,64]", "gan.model.critic_dims=[64,64]", "gan.train.probe_rows=400",
    "generate.rows=2500", "generate.batch_rows=400", "generate.quality_rows=1000",
)  # fmt: skip
RUN_COLUMNS = ["batch_id", "ingested_at", "gen_run_id"]


@dataclass(frozen=True)
class GanLake:
    root: Path
    lake: Lake

    def cfg(self, *overrides: str):
        return test_config(DEMO_EVENTS, *SMALL_GAN, *overrides, lake=self.root)

    def synthetic(self, run_id: str) -> pd.DataFrame:
        return self.lake.read(GOLD_SYNTHETIC).where(F.col("gen_run_id") == run_id).toPandas()

    def registry(self, run_id: str, stage: str):
        return latest(self.lake).where((F.col("run_id") == run_id) & (F.col("stage") == stage)).first()


@pytest.fixture(scope="module")
def gan_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, demo_split_lake: Path) -> GanLake:
    root = tmp_path_factory.mktemp("gan") / "lake"
    shutil.copytree(demo_split_lake, root)
    made = GanLake(root, Lake(spark, str(root)))
    execute("train-gan", made.cfg(), spark, run_id="g-1")
    execute("generate", made.cfg("generate.partitions=1"), spark, run_id="s-1")
    execute("generate", made.cfg("generate.partitions=3"), spark, run_id="s-3")
    return made


def test_train_gan_writes_tensors_and_metadata_only(gan_lake: GanLake) -> None:
    where = Path(store.directory(str(gan_lake.root), "g-1"))
    assert sorted(p.name for p in where.iterdir()) == sorted([WEIGHTS, METADATA])
    state = torch.load(io.BytesIO((where / WEIGHTS).read_bytes()), weights_only=True)
    assert state and all(isinstance(v, torch.Tensor) for v in state.values())
    meta = json.loads((where / METADATA).read_text())
    run = gan_lake.registry("g-1", "train-gan")
    assert meta["inputs"] == dict(run.input_versions) and meta["config_hash"] == run.config_hash
    assert meta["training"]["epochs_run"] == run.row_counts["epochs_run"] == len(meta["training"]["history"])
    assert all(h["fidelity"] is not None and h["seconds"] > 0 for h in meta["training"]["history"])
    assert meta["rows"]["train"] == run.row_counts["train_rows"] <= 2000
    assert store.load(gan_lake.lake.spark, str(gan_lake.root), "g-1").version == "g-1"


def _numbers(value: object) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return [float(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _strings(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return {value} if isinstance(value, str) else set()


def _reconstructable(rows: pd.DataFrame, continuous: list[str], categorical: list[str], files: Path) -> int:
    """Training rows whose every value is stored somewhere in the artifact's files."""
    meta = json.loads((files / METADATA).read_text())
    state = torch.load(io.BytesIO((files / WEIGHTS).read_bytes()), weights_only=True)
    floats32 = np.unique(np.concatenate([t.detach().numpy().ravel().astype(np.float32) for t in state.values()]))
    numbers = set(_numbers(meta))
    strings = _strings(meta)
    found = np.ones(len(rows), dtype=bool)
    for column in continuous:
        values = rows[column].to_numpy(dtype=np.float64)
        in_json = np.isin(values, list(numbers))
        in_tensors = np.isin(values.astype(np.float32), floats32)
        found &= np.isnan(values) | in_json | in_tensors
    for column in categorical:
        found &= rows[column].isna().to_numpy() | rows[column].isin(strings).to_numpy()
    return int(found.sum())


def test_no_training_record_can_be_rebuilt_from_the_artifact(gan_lake: GanLake, tmp_path: Path) -> None:
    spark, cfg = gan_lake.lake.spark, gan_lake.cfg()
    meta = store.metadata(spark, str(gan_lake.root), "g-1")
    selection = gan_table.Selection(**meta["selection"])  # type: ignore[arg-type]
    view = gan_table.training_view(gan_lake.lake, meta["inputs"])  # type: ignore[arg-type]
    gan = cfg.gan.model_copy(update={k: tuple(v) for k, v in meta["schema"].items()})  # type: ignore[union-attr]
    rows = gan_table.to_pandas(selection.training(gan_table.gan_table(view, gan)), gan)
    assert len(rows) == meta["rows"]["train"]  # type: ignore[index]
    continuous, categorical = list(gan.continuous or ()), list(gan.categorical or ())
    files = Path(store.directory(str(gan_lake.root), "g-1"))
    assert _reconstructable(rows, continuous, categorical, files) == 0
    # The check can fail: an artifact that carried one training row in its metadata is caught.
    leaky = tmp_path / "leaky"
    shutil.copytree(files, leaky)
    row = rows.iloc[7]
    with_row = {**meta, "note": [float(row[c]) for c in continuous] + [str(row[c]) for c in categorical]}
    (leaky / METADATA).write_text(json.dumps(with_row))
    assert _reconstructable(rows, continuous, categorical, leaky) >= 1
    # And every JSON list is bounded by the config (levels, modes, epochs), never by the row count.
    longest = max(len(v) for v in _lists(meta))
    assert longest <= max(cfg.gan.top_k + 2, cfg.gan.mixture.max_modes, cfg.gan.epochs, 8)


def _lists(value: object) -> list[list[object]]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _lists(v)]
    if isinstance(value, list):
        return [value, *[x for v in value for x in _lists(v)]]
    return []


def test_generation_is_identical_on_1_and_3_partitions(gan_lake: GanLake) -> None:
    one = gan_lake.lake.read(GOLD_SYNTHETIC).where("gen_run_id = 's-1'")
    three = gan_lake.lake.read(GOLD_SYNTHETIC).where("gen_run_id = 's-3'")
    assert one.count() > 0
    assert_same_rows(one, three, drop=RUN_COLUMNS)


def test_synthetic_events_are_canonical_with_lineage_and_constraints(gan_lake: GanLake) -> None:
    out = gan_lake.synthetic("s-1")
    run = gan_lake.registry("s-1", "generate")
    counts = run.row_counts
    assert counts["rows_generated"] == 2500
    assert counts["rows_written"] == len(out) == counts["rows_generated"] - counts["rows_rejected"]
    assert list(gan_lake.lake.read(GOLD_SYNTHETIC).columns) == SYNTHETIC_EVENTS.fieldNames()
    assert out.is_synthetic.all() and (out.generator_version == "g-1").all() and (out.source == "gan").all()
    assert out.event_id.is_unique and out.event_id.str.startswith("gan:g-1:").all()
    assert out.event_type.isin(["view", "cart", "fav", "purchase"]).all()
    assert (out.price.dropna() > 0).all() and (out.quantity.dropna() > 0).all()
    train = gan_lake.lake.read(SILVER_SPLIT).where("split = 'train'").select("user_id", "item_id").toPandas()
    assert set(out.user_id) <= set(train.user_id) and set(out.item_id) <= set(train.item_id)
    hours = out["attrs"].map(lambda a: int(a["hour"]))
    dows = out["attrs"].map(lambda a: int(a["dow"]))
    assert (out.ts.dt.hour == hours).all()
    assert ((out.ts.dt.dayofweek + 1) % 7 + 1 == dows).all()  # Spark: 1 = Sunday; pandas: 0 = Monday
    assert (out.event_date == out.ts.dt.date).all()


def test_the_quality_report_matches_the_registry(gan_lake: GanLake) -> None:
    report = gan_lake.root / "reports" / "s-1"
    data = json.loads((report / "quality.json").read_text())
    counts = gan_lake.registry("s-1", "generate").row_counts
    assert round(data["fidelity"]["overall"] * 1e6) == counts["fidelity_overall_ppm"]
    assert 0 < data["fidelity"]["overall"] <= 1
    assert data["privacy"]["exact_copy_share"] == 0.0 and data["privacy"]["dcr_ratio"] > 0
    assert "exact copies" in (report / "quality.md").read_text()
    schema = store.metadata(gan_lake.lake.spark, str(gan_lake.root), "g-1")["schema"]
    columns = [*schema["continuous"], *schema["categorical"]]  # type: ignore[index]
    assert len(list(report.glob("hist_*.png"))) == len(columns)


def test_cold_users_condition_gives_their_ids_and_segments(gan_lake: GanLake, spark: SparkSession) -> None:
    cfg = gan_lake.cfg("generate.rows=600", "generate.condition.mode=cold_users", "generate.condition.column=segment")
    execute("generate", cfg, spark, run_id="s-cold")
    out = gan_lake.synthetic("s-cold")
    cold = gan_lake.lake.read(SILVER_SPLIT).where("user_segment = 'cold'").select("user_id").distinct().toPandas()
    assert len(out) > 0 and set(out.user_id) <= set(cold.user_id)
    segments = gan_lake.lake.read(BRONZE_USERS).select("user_id", "segment").toPandas().set_index("user_id").segment
    assert (out["attrs"].map(lambda a: a["segment"]) == out.user_id.map(segments)).all()


def test_a_rerun_skips_and_a_tampered_generator_fails_cleanly(gan_lake: GanLake, spark: SparkSession) -> None:
    again = execute("train-gan", gan_lake.cfg(), spark, run_id="g-2")
    assert again.status == SKIPPED and "g-1" in again.message
    bad = Path(store.directory(str(gan_lake.root), "g-bad"))
    shutil.copytree(Path(store.directory(str(gan_lake.root), "g-1")), bad)
    weights = bytearray((bad / WEIGHTS).read_bytes())
    weights[-10] ^= 0xFF
    (bad / WEIGHTS).write_bytes(bytes(weights))
    before = gan_lake.lake.version(GOLD_SYNTHETIC)
    with pytest.raises(ArtifactError, match="does not match the digest"):
        execute("generate", gan_lake.cfg("generate.version=g-bad"), spark, run_id="s-bad")
    assert gan_lake.lake.version(GOLD_SYNTHETIC) == before
    shutil.rmtree(bad)


@pytest.mark.nightly
def test_data_parallel_training_through_torch_distributor(gan_lake: GanLake, spark: SparkSession) -> None:
    """gan.retrain with 2 local processes (TorchDistributor, gloo all-reduce): a new, loadable version."""
    cfg = gan_lake.cfg("gan.retrain=true", "gan.epochs=1", "gan.train.distributed.processes=2")
    result = execute("train-gan", cfg, spark, run_id="g-dist")
    assert result.status == "succeeded" and result.counts["epochs_run"] == 1
    loaded = store.load(spark, str(gan_lake.root), "g-dist")
    assert loaded.info["training"]["best_fidelity"] is not None  # rank 0's result, with its probe
    assert store.versions(spark, str(gan_lake.root))[-1] == "g-dist"
