"""The infrastructure sections every stage reads: where the lake lives, how Spark starts, the run's seed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from recaug_spark.config.types import Frozen, PathStr


class LakeConfig(Frozen):
    """Where the lake lives. Tables are Delta directories under ``root`` (see lake.py)."""

    root: PathStr = Field(
        "./lakehouse",
        description="Lake root: a directory (a relative path is taken from the working directory) or a URI "
        "such as s3a://bucket/lake. `--lake PATH` sets it.",
    )
    max_attempts: int = Field(
        5, ge=1, description="Tries of a stage that lost a Delta commit race to a concurrent writer."
    )
    retry_base_seconds: float = Field(
        1.0, ge=0, description="First backoff after a lost race, in seconds (doubles each try, +-50% jitter)."
    )


class SparkConfig(Frozen):
    """How session.py builds the SparkSession.

    Settings given by spark-submit (master, --conf, --jars, --packages) always win over these.
    """

    master: str | None = Field(
        None,
        description="Master in local mode (e.g. local[2]); null = local[*]. spark-submit's --master always wins.",
    )
    app_name: str = Field("recaug-spark", description="Spark application name (the CLI uses recaug-<stage>).")
    driver_memory: str = Field(
        "4g", description="Driver heap in local mode, a JVM size such as 4g (ignored under spark-submit)."
    )
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions.")
    ui_enabled: bool = Field(True, description="Start the Spark UI (off in the tests).")
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"] = Field("WARN", description="Spark's log level.")
    arrow_batch_size: int = Field(
        10_000, ge=1, description="spark.sql.execution.arrow.maxRecordsPerBatch: rows per Arrow batch of a UDF."
    )
    persist_level: Literal["memory_and_disk_deser", "memory_and_disk", "disk_only"] = Field(
        "memory_and_disk_deser",
        description="Storage level of the frames a stage reads more than once; disk_only when the heap is "
        "smaller than the data (ALS then caches its blocks on disk too).",
    )
    delta_version: str = Field(
        ...,
        description="Version of the io.delta:delta-spark jar (Maven Central has no jar for the pip package's "
        "4.4.1, so the packaged conf says 4.4.0; the Python API is the same).",
    )
    jars_dir: PathStr | None = Field(
        None, description="A directory of jars to use instead of the cache (offline clusters); null = the cache."
    )
    jars_cache: PathStr = Field("~/.cache/recaug-spark/jars", description="Where `make jars` puts the resolved jars.")
    maven_repositories: tuple[str, ...] = Field(
        ("https://repo1.maven.org/maven2/",),
        description="Repositories Ivy resolves the jars from, in order (mirrors).",
    )
    conf: dict[str, str] = Field(
        default_factory=dict, description="Extra Spark settings (key: value), never overriding spark-submit's."
    )


class RunConfig(Frozen):
    """Settings shared by every stage of a run."""

    seed: int = Field(
        42, ge=0, le=2**63 - 1, description="The seed of every keyed random draw and of model training in a run."
    )
