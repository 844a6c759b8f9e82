"""The CLI contract end to end, in fresh processes: `recaug ...` and `spark-submit jobs/<stage>.py ...`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from recaug_spark.jars import resolved_jars
from recaug_spark.lake import Lake
from recaug_spark.pipeline import STAGES
from recaug_spark.runs import latest
from tests.conftest import REPO, test_config
from tests.helpers import assert_same_rows

BIN = Path(sys.executable).parent
SMALL_DEMO = [
    "--set",
    "source.events=3000",
    "--set",
    "source.chunk_events=1000",
    "--set",
    "spark.ui_enabled=false",
]


def recaug(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "recaug"), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_help_lists_all_eight_stages() -> None:
    out = recaug("--help")
    assert out.returncode == 0
    stages = ["ingest", "preprocess", "split", "augment", "train-gan", "generate", "evaluate", "refresh"]
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


@pytest.mark.slow
def test_cli_and_spark_submit_write_the_same_tables(spark: SparkSession, tmp_path: Path) -> None:
    cli_lake, submit_lake = tmp_path / "cli", tmp_path / "submit"
    jars = ",".join(resolved_jars(test_config().spark))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    # Both processes run at once (each mostly waits on its JVM's start), then both must have succeeded.
    cli_run = subprocess.Popen(
        [str(BIN / "recaug"), "ingest", "--lake", str(cli_lake), "--set", "spark.master=local[1]", *SMALL_DEMO,
         "--run-id", "cli-1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    submitted = subprocess.run(
        [str(BIN / "spark-submit"), "--master", "local[2]", "--jars", jars, "--conf", "spark.ui.enabled=false",
         str(REPO / "jobs/ingest.py"), "--lake", str(submit_lake), *SMALL_DEMO, "--run-id", "submit-1"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    _, cli_err = cli_run.communicate(timeout=300)
    assert cli_run.returncode == 0, cli_err[-3000:]
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    cli, sub = Lake(spark, str(cli_lake)), Lake(spark, str(submit_lake))
    for table in ("bronze/events", "bronze/items", "bronze/users", "bronze/quarantine"):
        assert_same_rows(cli.read(table), sub.read(table), drop=["ingested_at"])
    runs = {r.run_id: r for r in latest(sub).collect()}
    assert runs["submit-1"].status == "succeeded"
    assert runs["submit-1"].spark_master == "local[2]"  # spark-submit's master won over the config
    cli_runs = {r.run_id: r for r in latest(cli).collect()}
    assert cli_runs["cli-1"].spark_master == "local[1]"  # --set spark.master took effect


def test_setup_a_second_time_downloads_nothing() -> None:
    out = subprocess.run([str(REPO / "scripts/setup.sh")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "environment .venv is up to date" in out.stdout
    assert "nothing to download" in out.stderr
