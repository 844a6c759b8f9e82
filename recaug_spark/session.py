"""The one place that builds a SparkSession: Delta enabled, local mode or spark-submit.

Under spark-submit (detected by the gateway it hands to Python) the master, ``--conf`` settings and
``--jars``/``--packages`` given there are respected: this module only fills in settings that were not
given. In local mode it picks ``spark.master`` (default ``local[*]``), puts the cached Delta jars on the
classpath, and makes Python workers use this interpreter.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from py4j.java_gateway import JavaClass
from pyspark import SparkConf, SparkContext, StorageLevel
from pyspark.logger import PySparkLogger
from pyspark.sql import SparkSession

from recaug_spark.config import SparkConfig, default_conf_dir
from recaug_spark.errors import MissingJarsError
from recaug_spark.jars import delta_coordinate, fetch_command, resolved_jars

log = logging.getLogger(__name__)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
JIT_HUGE_METHODS = "-XX:-DontCompileHugeMethods"


def launched_by_spark_submit() -> bool:
    """True when this Python process was started by spark-submit (or the pyspark shell).

    spark-submit starts the JVM first and passes its gateway port to Python; plain ``python`` or
    ``recaug`` has no gateway yet, and the session launches one itself.
    """
    return "PYSPARK_GATEWAY_PORT" in os.environ


def local_cores(master: str) -> int:
    """Cores of a local master (``local``, ``local[4]``, ``local[*]``, ``local[4,2]``).

    Example:
        >>> local_cores("local[3]"), local_cores("local"), local_cores("local[2,4]")
        (3, 1, 2)
    """
    inside = master.partition("[")[2].rstrip("]").split(",")[0]
    if not inside:
        return 1
    return os.cpu_count() or 1 if inside == "*" else int(inside)


PERSIST_LEVELS = {
    "memory_and_disk_deser": StorageLevel.MEMORY_AND_DISK_DESER,
    "memory_and_disk": StorageLevel.MEMORY_AND_DISK,
    "disk_only": StorageLevel.DISK_ONLY,
}


def storage_level(cfg: SparkConfig) -> StorageLevel:
    """The storage level of the frames a stage reads more than once (``spark.persist_level``).

    In memory (as objects) by default. With a heap smaller than the data, use ``disk_only``: the
    in-memory levels first unroll each partition in the heap (a hundred MB and more at 5 x 10^7
    events) before giving up and writing it to disk, and two of those at once ran a 2 GiB heap out of
    memory.
    """
    return PERSIST_LEVELS[cfg.persist_level]


def ml_storage_level(cfg: SparkConfig) -> str:
    """The level, by Spark's name, at which Spark ML's ALS caches its rating blocks and factors:
    ``DISK_ONLY`` under ``spark.persist_level=disk_only``, else ALS's own default.

    Example:
        >>> from recaug_spark.config import SparkConfig
        >>> ml_storage_level(SparkConfig(delta_version="4.4.0", persist_level="disk_only"))
        'DISK_ONLY'
    """
    return "DISK_ONLY" if cfg.persist_level == "disk_only" else "MEMORY_AND_DISK"


def session_conf(cfg: SparkConfig, *, local: bool) -> dict[str, str]:
    """The settings recaug wants; build_session applies each only where spark-submit set none.

    Example:
        >>> from recaug_spark.config import SparkConfig
        >>> conf = session_conf(SparkConfig(delta_version="4.4.0", ui_enabled=False), local=False)
        >>> conf["spark.sql.session.timeZone"], conf["spark.ui.enabled"], "spark.jars" in conf
        ('UTC', 'false', False)
    """
    conf = {
        "spark.app.name": cfg.app_name,
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(cfg.arrow_batch_size),
        "spark.ui.enabled": str(cfg.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        # Whole-stage codegen of a wide validation projection exceeds the JVM's 8000-byte limit for
        # JIT compilation; without this the method stays interpreted and parsing runs ~3x slower.
        "spark.executor.extraJavaOptions": JIT_HUGE_METHODS,
    }
    if local:
        log4j = Path(str(default_conf_dir() / "log4j2.properties"))  # local mode: an installed package
        conf |= {
            "spark.master": cfg.master or "local[*]",
            "spark.driver.memory": cfg.driver_memory,
            "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
            "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile=file:{log4j} {JIT_HUGE_METHODS}",
            "spark.jars": ",".join(resolved_jars(cfg)),
            # Delta rebuilds table state in this many tasks; its default (50) costs seconds per
            # commit on a single machine.
            "spark.databricks.delta.snapshotPartitions": str(local_cores(cfg.master or "local[*]")),
        }
    conf |= cfg.conf
    return conf


def build_session(cfg: SparkConfig, *, app_name: str | None = None) -> SparkSession:
    """Build (or return the active) SparkSession with Delta Lake enabled.

    Args:
        cfg: The ``spark`` section of the config.
        app_name: Overrides ``cfg.app_name`` (the CLI passes ``recaug-<stage>``).

    Returns:
        A session whose JVM can load Delta, in UTC, with ANSI mode on.

    Raises:
        MissingJarsError: when the Delta jars are neither cached (local mode) nor given to spark-submit.
    """
    submitted = launched_by_spark_submit()
    given: dict[str, str] = {}
    if submitted:
        SparkContext._ensure_initialized()  # attach to the JVM spark-submit started
        given = dict(SparkConf().getAll())
    else:
        # Python workers must run this interpreter (the project's venv), not whatever is on PATH.
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    wanted = session_conf(cfg, local=not submitted)
    if app_name:
        wanted["spark.app.name"] = app_name
    builder = SparkSession.builder
    for key, value in wanted.items():
        if key not in given:
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.log_level)
    _quiet_error_context_loggers(cfg.log_level)
    _require_delta(spark, cfg, submitted=submitted)
    log.debug("session %s on %s", spark.sparkContext.appName, spark.sparkContext.master)
    return spark


def _quiet_error_context_loggers(level: str) -> None:
    """PySpark logs every analysis error it raises, as JSON on stderr, before the caller sees it.

    recaug catches some of those errors to report them as one line (a bad rule names its config key),
    so these loggers follow ``spark.log_level``: silent unless it is DEBUG.
    """
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.CRITICAL + 1)


def _require_delta(spark: SparkSession, cfg: SparkConfig, *, submitted: bool) -> None:
    """Fail at once, with the fix, when the JVM cannot load Delta (instead of at the first write)."""
    delta_table = spark.sparkContext._jvm.io.delta.tables.DeltaTable  # type: ignore[union-attr]
    if isinstance(delta_table, JavaClass):
        return
    coordinate = delta_coordinate(cfg.delta_version)
    if submitted:
        raise MissingJarsError(
            f"the Spark driver cannot load Delta Lake: pass --packages {coordinate} to spark-submit, or "
            f"--jars with the files of `python -m recaug_spark.jars list` (cache them first: {fetch_command()})"
        )
    raise MissingJarsError(
        f"Delta Lake classes are missing although spark.jars was set; the cache may be corrupt: delete "
        f"{Path(resolved_jars(cfg)[0]).parent} and run `{fetch_command()}`"
    )


@contextmanager
def session_settings(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """Set session confs for the duration of a block, then restore them (unset ones unset)."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)
