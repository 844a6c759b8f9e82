"""A real Spark standalone cluster on 127.0.0.1: a master and two one-core workers started with the
installed pyspark's spark-class, the package shipped as a zip (--py-files), ``jobs/refresh.py``
spark-submitted to it; its tables must equal those of local mode on the same config (the session's
reference refresh). Executors get their Python from a packed environment (--archives) in a second,
small job. The cluster is torn down whatever happens (``make cluster-test`` runs this file alone).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyspark
import pytest
from pyspark.sql import SparkSession

from recaug_spark.jars import resolved_jars
from tests.conftest import REFRESH_FAST, REPO, TEST_OVERRIDES, test_config
from tests.spark.test_refresh import assert_same_tables

pytestmark = [pytest.mark.slow, pytest.mark.nightly]
SPARK_HOME = Path(pyspark.__file__).parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except OSError:
        return -1


@contextmanager
def standalone_cluster(work: Path, *, workers: int = 2) -> Iterator[str]:
    """A master and ``workers`` one-core workers on 127.0.0.1; yields the master URL; always torn down."""
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=false"}  # fmt: skip
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui_port = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    processes: list[subprocess.Popen[bytes]] = []
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def start(name: str, *args: str) -> None:
        with open(logs / f"{name}.log", "wb") as log:  # the child keeps its own handle
            processes.append(subprocess.Popen([spark_class, *args], stdout=log, stderr=subprocess.STDOUT, env=env,
                                              start_new_session=True))  # fmt: skip

    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(ui_port))  # fmt: skip
        for i in range(workers):
            ui = str(_free_port())
            start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                  "--memory", "2g", "--webui-port", ui, "--work-dir", str(work / f"w{i}"), url)  # fmt: skip
        deadline = time.monotonic() + 180
        while _alive_workers(ui_port) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                tails = {f.name: f.read_text(errors="replace")[-1500:] for f in sorted(logs.glob("*.log"))}
                raise RuntimeError(f"the standalone cluster did not come up: {tails}")
            time.sleep(1)
        yield url
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _dist(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts/dist.py"), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=900, check=True)  # fmt: skip


def _package_zip(out: Path) -> Path:
    _dist(out)
    (found,) = out.glob("recaug_spark-*.zip")
    return found


def _submit(url: str, *args: str, conf: tuple[str, ...] = (), timeout: int = 900) -> subprocess.CompletedProcess[str]:
    jars = ",".join(resolved_jars(test_config().spark))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_HOME": str(SPARK_HOME)}  # fmt: skip
    # Delta rebuilds a table's state in spark.databricks.delta.snapshotPartitions tasks (50 by default):
    # on two one-core executors that is most of the time of every commit, so size it to the cluster.
    confs = [item for c in ("spark.executor.memory=1g", "spark.executor.cores=1", "spark.cores.max=2",
                            "spark.ui.enabled=false", "spark.databricks.delta.snapshotPartitions=2", *conf)
             for item in ("--conf", c)]  # fmt: skip
    return subprocess.run([str(BIN / "spark-submit"), "--master", url, "--jars", jars, *confs, *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


def test_refresh_on_a_standalone_cluster_equals_local_mode(
    spark: SparkSession, reference_refresh: Path, cluster: str, tmp_path: Path
) -> None:
    package = _package_zip(tmp_path / "dist")
    lake = tmp_path / "lake"
    # Two shuffle partitions, one per executor core (local mode used four): fewer tasks, and the tables
    # must not depend on the partitioning.
    overrides = (*TEST_OVERRIDES, *REFRESH_FAST, "spark.shuffle_partitions=2")
    settings = [item for s in overrides for item in ("--set", s)]
    out = _submit(cluster, "--py-files", str(package), str(REPO / "jobs/refresh.py"), "--lake", str(lake),
                  "--run-id", "ref", *settings)  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    assert "recaug refresh: succeeded" in out.stdout
    # Same rows as local mode; doubles to 10 decimal places (sums in another order differ by 1e-16).
    assert_same_tables(spark, lake, reference_refresh, places=10)
    runs = spark.read.format("delta").load(str(lake / "gold/pipeline_runs"))
    assert {r.spark_master for r in runs.collect()} == {cluster}


PROBE = """
import json
from pyspark.sql import SparkSession

def probe(batches):
    import sys
    import pandas as pd
    import recaug_spark
    from recaug_spark import rng
    for batch in batches:
        draws = rng.Draws.of(seed=7, op="probe", copy=0, keys=batch["id"].to_numpy()).uniform(0)  # keyed draws
        yield pd.DataFrame({"python": sys.executable, "package": recaug_spark.__file__, "draw": draws})

spark = SparkSession.builder.getOrCreate()
rows = spark.range(4, numPartitions=2).mapInPandas(probe, "python string, package string, draw double").collect()
print("PROBE " + json.dumps([r.asDict() for r in rows]))
"""


def test_executors_get_python_from_a_packed_environment_and_the_package_from_the_zip(
    cluster: str, tmp_path: Path
) -> None:
    """``make dist``'s two artifacts, shipped the way Spark documents (--archives, --py-files): the
    executors run the unpacked interpreter (a small environment here: pandas, pyarrow, numpy) and
    import recaug_spark from the zip."""
    lock = (REPO / "requirements.lock").read_text().splitlines()
    wanted = ("numpy==", "pandas==", "pyarrow==", "python-dateutil==", "pytz==", "six==", "tzdata==")
    small = tmp_path / "requirements.txt"
    small.write_text("\n".join(line for line in lock if line.startswith(wanted)) + "\n")
    _dist(tmp_path / "dist", "--env", "--requirements", str(small))
    (package,) = (tmp_path / "dist").glob("recaug_spark-*.zip")
    job = tmp_path / "probe.py"
    job.write_text(PROBE)
    out = _submit(cluster, "--py-files", str(package), "--archives", f"{tmp_path / 'dist/recaug-env.tar.gz'}#env",
                  str(job), conf=("spark.pyspark.python=./env/bin/python",
                                  f"spark.pyspark.driver.python={sys.executable}"))  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("PROBE ")]
    rows = json.loads(line.removeprefix("PROBE "))
    assert len(rows) == 4
    # Each executor's interpreter is the archive unpacked in its working directory on its worker.
    assert all(r["python"].endswith("/env/bin/python") and ("/w0/" in r["python"] or "/w1/" in r["python"])
               for r in rows)  # fmt: skip
    assert all(".zip" in r["package"] for r in rows)
    from recaug_spark import rng

    assert [r["draw"] for r in rows] == list(rng.Draws.of(seed=7, op="probe", copy=0, keys=np.arange(4)).uniform(0))
