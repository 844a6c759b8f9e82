"""The CLI contract end to end, in fresh processes (`spark-submit jobs/<stage>.py` runs in test_cluster.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from recaug_spark.lake import Lake
from recaug_spark.pipeline import STAGES
from recaug_spark.runs import latest
from tests.conftest import REPO, test_config
from tests.helpers import assert_same_rows

BIN = Path(sys.executable).parent


def recaug(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "recaug"), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_stage() -> None:
    out = recaug("--help")
    assert out.returncode == 0
    stages = [
        "ingest",
        "preprocess",
        "split",
        "augment",
        "train-gan",
        "generate",
        "policy",
        "evaluate",
        "refresh",
        "maintain",
    ]
    assert [s.name for s in STAGES] == stages
    assert all(f"    {s}" in out.stdout for s in stages)


def test_a_config_error_fails_before_any_table_is_touched(tmp_path: Path) -> None:
    out = recaug("ingest", "--lake", str(tmp_path / "lake"), "--set", "source.evnets=10")
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == "recaug ingest: error: config key 'source.evnets' (from --set): unknown key (check the spelling)"
    )
    assert not (tmp_path / "lake").exists()


def test_setup_a_second_time_downloads_nothing() -> None:
    out = subprocess.run([str(REPO / "scripts/setup.sh")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "environment .venv is up to date" in out.stdout
    assert "nothing to download" in out.stderr


@pytest.mark.slow
@pytest.mark.nightly
def test_a_refresh_killed_after_a_commit_is_finished_by_the_next(
    spark: SparkSession, reference_refresh: Path, tmp_path: Path
) -> None:
    """A real kill (SIGKILL from the crash hook, right after ingest's bronze/events commit, in a CLI
    process on local[1]): the registry keeps a dead `running` row and the lock a dead holder; the next
    refresh takes the lock over, resumes the run and ends with the bronze tables of an uninterrupted run
    on local[2]. (The in-process crash chain of tests/spark/test_refresh.py covers every stage.)"""
    from recaug_spark.pipeline import execute
    from tests.conftest import REFRESH_FAST

    lake = tmp_path / "lake"
    settings = ("spark.ui_enabled=false", "spark.master=local[1]", "spark.shuffle_partitions=4", *REFRESH_FAST)
    killed = subprocess.run(
        [str(BIN / "recaug"), "refresh", "--only", "ingest", "--lake", str(lake), "--run-id", "ref",
         *[item for s in settings for item in ("--set", s)]],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, "RECAUG_CRASH_AT": "ingest:after:3"},
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert "crashing after commit #3 of ingest (bronze/events)" in killed.stderr
    registry = latest(Lake(spark, str(lake))).collect()
    assert {(r.run_id, r.stage): r.status for r in registry} == {
        ("ref", "refresh"): "running",
        ("ref", "ingest"): "running",
    }
    assert {r.spark_master for r in registry} == {"local[1]"}  # --set spark.master took effect
    result = execute("refresh", test_config(*REFRESH_FAST, "refresh.only=ingest", lake=lake), spark)
    assert result.message.startswith("resumed run ref: ingest succeeded")
    mine, theirs = Lake(spark, str(lake)), Lake(spark, str(reference_refresh))
    for table in ("bronze/events", "bronze/items", "bronze/users", "bronze/quarantine", "bronze/ingested_files"):
        assert_same_rows(mine.read(table), theirs.read(table), drop=["ingested_at"])
