"""Shared fixtures: one local Spark session for the whole suite, built by session.py like the jobs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RECAUG_DATA_DIR", REPO.parent / "shared" / "data"))
TEST_OVERRIDES = (
    "spark.master=local[2]",
    "spark.shuffle_partitions=2",
    "spark.ui_enabled=false",
    "spark.driver_memory=3g",
)


def test_config(*overrides: str, conf: tuple[str | Path, ...] = (), lake: str | Path | None = None):
    """The config tests use: the repo's layers plus small, UI-less local settings."""
    from recaug_spark.config import load_config

    return load_config([str(c) for c in conf], [*TEST_OVERRIDES, *overrides], lake_root=str(lake) if lake else None)


test_config.__test__ = False  # a helper, not a test

# Spark conf of the suite's session only (the spark fixture says why); CLI, cluster and bench runs keep
# Spark's defaults.
TEST_SESSION_CONF = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.cache.maxEntries": "5000",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
# HotSpot's C2 compiles a method after 5,000 calls (15,000 with loops) by default; the suite's JVM then
# spends a third of its CPU in C2 on code that runs a few thousand times over tiny tables. Four to six
# times those thresholds keep C1's code for the lukewarm methods, and the parallel collector does without
# G1's concurrent marking threads (see the spark fixture).
TEST_JVM_OPTIONS = (
    "-XX:Tier4InvocationThreshold=30000 -XX:Tier4MinInvocationThreshold=3000 "
    "-XX:Tier4CompileThreshold=60000 -XX:Tier4BackEdgeThreshold=240000 -XX:+UseParallelGC"
)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The suite's single SparkSession (local[2], 2 shuffle partitions, UI off, no adaptive execution, no codegen).

    Two shuffle partitions, one per core (TEST_OVERRIDES): every shuffle stage runs in one wave of tasks.
    Ingest, preprocess and split of test_preprocess_lake.py's shop, warm JVM, three runs each: 54.3 s
    with 2 instead of 67.3 s with 4 (2026-12-03).

    Adaptive query execution is off in this session only: on the suite's tiny tables it re-plans after
    every shuffle and submits each shuffle stage as a job of its own (a refresh of the test shop: 405
    jobs with it, 263 without; the suite takes about 9% less time). No result may depend on it: tests
    run the same stages on different partition counts and compare the tables, and the nightly CLI and
    cluster runs (make test-nightly) and the benchmarks keep Spark's default (on).

    The JVM's second-tier JIT compiler (C2) waits four to six times longer before compiling a method
    (TEST_JVM_OPTIONS): test_preprocess_lake.py measured 270 s of JVM CPU, 86 s of it in C2, and
    223 s with the later thresholds (49 s in C2); C1's code serves the methods in between. Twenty times
    the thresholds left C2 38 s but made the work itself slower (same wall time). The parallel
    collector: 223 s instead of 235 s wall (269 s of JVM CPU instead of 299) for test_augment_stage.py
    and test_preprocess_lake.py together. The whole suite (fresh clones, one machine, one afternoon):
    pytest 1,122 s before, 849 s with the thresholds (and the evaluate fixture's 3-epoch SASRec), 781 s
    with the parallel collector as well.

    Code generation is off in this session (``spark.sql.codegen.wholeStage=false`` and
    ``spark.sql.codegen.factoryMode=NO_CODEGEN``, the setting Spark's own tests use for its interpreted
    expressions): the suite's tables hold tens to thousands of rows and most of its plans run a few times,
    so compiling each plan's Java (Janino, then the JVM's JIT) costs more than it saves. Measured on
    2026-12-03: ingest, preprocess and split of test_preprocess_lake.py's shop in a warm JVM 19.0-22.0 s
    with code generation, 15.8-19.3 s without (four runs each); test_preprocess_lake.py and
    test_refresh.py alone, cold JVM, 563 s and 536 s (one run each); the real-data files
    (test_ingest_real.py, test_preprocess_real.py; up to 10^6 rows) 183 and 197 s with, 206 and 199 s
    without; the whole suite 853 s without, against 1,002 s with on a fresh clone the same afternoon. The
    nightly CLI and cluster runs and the benchmarks keep Spark's default (code generation on).

    Spark keeps 100 compiled code-generated classes by default; the suite runs the same stages again
    and again, each with hundreds of distinct plans, so with the default many plans are compiled (and
    then JIT-compiled by the JVM) afresh on every run. Two refreshes of the test shop in one JVM: 210 s
    + 107 s with the default, 184-201 s + 87-95 s (three runs) with room for 5,000; the JVM's JIT
    compilers alone used about 190 s + 54 s of CPU of it either way, which is why the suite is slow.
    Measured before code generation was turned off; the setting stays because some operators still call
    the code generator directly: 43 compilations in one ingest, preprocess and split of the shop above
    without code generation, 431 with it (Spark's CodegenMetrics, 2026-12-03).
    """
    from recaug_spark.session import build_session, session_conf

    cfg = test_config().spark
    java = f"{session_conf(cfg, local=True)['spark.driver.extraJavaOptions']} {TEST_JVM_OPTIONS}"
    cfg = cfg.model_copy(update={"conf": {**cfg.conf, **TEST_SESSION_CONF, "spark.driver.extraJavaOptions": java}})
    session = build_session(cfg, app_name="recaug-tests")
    yield session
    session.stop()


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    """A fresh lake directory per test."""
    return tmp_path / "lake"


def shared_data(*parts: str) -> Path:
    """A file of ../shared/data; skips the test when the shared data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


@dataclass(frozen=True)
class RealLake:
    """A lake holding one real dataset, ingested once for the whole test session."""

    cfg: object
    lake: object
    ingest: object


def _ingested(spark: object, factory: pytest.TempPathFactory, source: str, run_id: str) -> RealLake:
    from recaug_spark.lake import Lake
    from recaug_spark.pipeline import execute

    cfg = test_config(conf=(REPO / f"conf/sources/{source}.yaml",), lake=factory.mktemp(source))
    return RealLake(cfg, Lake(spark, cfg.lake.root), execute("ingest", cfg, spark, run_id=run_id))


@pytest.fixture(scope="session")
def taobao(spark: object, tmp_path_factory: pytest.TempPathFactory) -> RealLake:
    """Taobao UserBehavior in bronze (run id taobao-1)."""
    shared_data("taobao_userbehavior", "UserBehavior.csv")
    return _ingested(spark, tmp_path_factory, "taobao", "taobao-1")


@pytest.fixture(scope="session")
def completejourney(spark: object, tmp_path_factory: pytest.TempPathFactory) -> RealLake:
    """The Complete Journey in bronze (run id cj-1)."""
    shared_data("completejourney", "transactions_sample.csv")
    return _ingested(spark, tmp_path_factory, "completejourney", "cj-1")


DEMO_EVENTS = "source.events=4000"


@pytest.fixture(scope="session")
def demo_split_lake(spark: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4,000-event demo lake through ingest, preprocess and split (default config), built once.

    Tests that write to it must work on a copy (``shutil.copytree``).
    """
    from recaug_spark.pipeline import execute

    root = tmp_path_factory.mktemp("demo") / "lake"
    cfg = test_config(DEMO_EVENTS, lake=root)
    for stage in ("ingest", "preprocess", "split"):
        execute(stage, cfg, spark)
    return root


# The stages after split on a small lake: a 1-epoch GAN, popularity only, real vs real+both (which reads
# both extra tables), 20 bootstrap resamples (with a source of their own: tests/spark/test_refresh.py).
FAST_DOWNSTREAM = (
    "gan.epochs=1", "gan.max_rows=600", "gan.holdout_rows=100", "gan.train.probe_rows=100",
    "generate.rows=400", "generate.quality_rows=100",
    "evaluate.models=[popularity]", "evaluate.variants=[real, real+both]", "evaluate.bootstrap_resamples=20",
    "evaluate.ks=[5]",
)  # fmt: skip
# The session's demo shop (DEMO_EVENTS) through a whole refresh with FAST_DOWNSTREAM (tests/spark/test_refresh.py,
# tests/e2e/test_cli.py, tests/e2e/test_cluster.py; tests/spark/test_evaluate.py has every variant).
REFRESH_FAST = (DEMO_EVENTS, *FAST_DOWNSTREAM)


@pytest.fixture(scope="session")
def reference_refresh(spark: object, tmp_path_factory: pytest.TempPathFactory, demo_split_lake: Path) -> Path:
    """The session's demo lake after one refresh of REFRESH_FAST (run id ``ref``), built once.

    It starts from a copy of demo_split_lake (the same source, ingest, preprocess and split config), so the
    refresh finds nothing new to ingest, preprocess or split and runs augment to evaluate: the whole-lake
    fixtures share one ingest, preprocess and split. The refreshes compared with it (the crash chain, the
    CLI and the cluster in make test-nightly) start from an empty lake and must give the same tables.
    """
    from recaug_spark.pipeline import execute
    from recaug_spark.runs import SUCCEEDED

    root = tmp_path_factory.mktemp("refresh") / "reference"
    shutil.copytree(demo_split_lake, root)
    result = execute("refresh", test_config(*REFRESH_FAST, lake=root), spark, run_id="ref")
    assert result.status == SUCCEEDED
    assert "ingest skipped, preprocess skipped, split skipped, augment succeeded" in result.message, result.message
    return root


_FILE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add each test phase's duration (setup with its fixtures, call, teardown) to its file's total."""
    path = report.nodeid.split("::", 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: object) -> None:
    """Per-file durations, slowest first: where the suite's time goes (a session fixture counts in
    the file of the first test that needs it)."""
    if not _FILE_SECONDS:
        return
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    terminalreporter.section("seconds per test file")  # type: ignore[attr-defined]
    for path, seconds in sorted(_FILE_SECONDS.items(), key=lambda item: -item[1]):
        write(f"{seconds:8.1f}  {path}")
    write(f"{sum(_FILE_SECONDS.values()):8.1f}  total")
