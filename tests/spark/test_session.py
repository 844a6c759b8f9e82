"""session.py: Delta on, UTC, ANSI, the project's interpreter on the workers, spark-submit respected."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.config import SparkConfig
from recaug_spark.errors import MissingJarsError
from recaug_spark.jars import resolved_jars
from recaug_spark.session import DELTA_EXTENSION, launched_by_spark_submit, session_conf


def test_session_has_delta_utc_and_ansi(spark: SparkSession) -> None:
    assert DELTA_EXTENSION in spark.conf.get("spark.sql.extensions")
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    assert spark.sparkContext.master == "local[2]"  # spark.master from the config
    assert spark.conf.get("spark.ui.enabled") == "false"


def test_python_workers_run_this_interpreter(spark: SparkSession) -> None:
    def executable(_):  # a plain row UDF, no hints: pandas_udf would be inferred from them
        import sys as worker_sys

        return worker_sys.executable

    worker_python = F.udf(executable, T.StringType())

    (row,) = spark.range(1).select(worker_python("id").alias("exe")).collect()
    assert Path(row.exe).resolve() == Path(sys.executable).resolve()


def test_spark_submit_settings_are_not_overridden() -> None:
    cfg = SparkConfig(delta_version="4.4.0", master="local[3]")
    submitted = session_conf(cfg, local=False)
    assert "spark.master" not in submitted and "spark.jars" not in submitted and "spark.driver.memory" not in submitted
    local = session_conf(cfg, local=True)
    assert local["spark.master"] == "local[3]"
    assert local["spark.pyspark.python"] == sys.executable
    assert all(Path(j).is_file() for j in local["spark.jars"].split(","))


def test_spark_submit_is_detected_by_its_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert not launched_by_spark_submit()
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "12345")
    assert launched_by_spark_submit()


def test_missing_jars_name_the_artifact_and_the_fix(tmp_path: Path) -> None:
    cfg = SparkConfig(delta_version="4.4.0", jars_cache=str(tmp_path / "empty"))
    with pytest.raises(MissingJarsError) as err:
        resolved_jars(cfg)
    message = str(err.value)
    assert "io.delta:delta-spark_4.2_2.13:4.4.0" in message and "make jars" in message


def test_a_jars_dir_without_delta_is_refused(tmp_path: Path) -> None:
    (tmp_path / "other.jar").write_bytes(b"")
    with pytest.raises(MissingJarsError, match="holds no delta-spark jar"):
        resolved_jars(SparkConfig(delta_version="4.4.0", jars_dir=str(tmp_path)))


def test_an_incomplete_cache_is_detected(tmp_path: Path) -> None:
    cfg = SparkConfig(delta_version="4.4.0", jars_cache=str(tmp_path))
    jars = resolved_jars(SparkConfig(delta_version="4.4.0"))  # the real cache, filled by `make setup`
    target = tmp_path / Path(jars[0]).parent.name
    target.mkdir()
    (target / "recaug-jars.json").write_text('{"jars": ["a.jar"]}')
    with pytest.raises(MissingJarsError, match="incomplete"):
        resolved_jars(cfg)


def test_a_jars_dir_is_put_on_the_classpath_as_is(tmp_path: Path) -> None:
    cached = resolved_jars(SparkConfig(delta_version="4.4.0"))
    for jar in cached:
        (tmp_path / Path(jar).name).symlink_to(jar)
    conf = session_conf(SparkConfig(delta_version="4.4.0", jars_dir=str(tmp_path)), local=True)
    assert sorted(conf["spark.jars"].split(",")) == sorted(str(tmp_path / Path(j).name) for j in cached)
