"""Small files next to the lake (model artifacts, reports): local paths directly, URIs through Hadoop.

A lake root may be a local directory or a URI (``s3a://``, ``abfss://``, ``hdfs://``, ``file:``); the
Delta tables go through Spark either way, and so do these files when the root is a URI (through the
JVM's Hadoop FileSystem, which has the same credentials and connectors as the tables).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_local(path: str) -> bool:
    """Whether ``path`` is a plain local path (no scheme).

    Example:
        >>> is_local("/tmp/lake"), is_local("s3a://bucket/lake"), is_local("file:/tmp/lake")
        (True, False, False)
    """
    return not _URI.match(path)


def join(root: str, *parts: str) -> str:
    """``root/part/...`` for paths and URIs alike.

    Example:
        >>> join("s3a://b/lake/", "models", "generator")
        's3a://b/lake/models/generator'
    """
    return "/".join([root.rstrip("/"), *[p.strip("/") for p in parts]])


def _fs(spark: SparkSession, path: str) -> tuple[Any, Any]:  # py4j handles: FileSystem, Path
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def write_bytes(spark: SparkSession, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (parents created), replacing any file there."""
    if is_local(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
        return
    fs, hadoop_path = _fs(spark, path)
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(data))
    finally:
        stream.close()


def read_bytes(spark: SparkSession, path: str) -> bytes:
    """The content of the file at ``path``; FileNotFoundError when there is none."""
    if is_local(path):
        return Path(path).read_bytes()
    fs, hadoop_path = _fs(spark, path)
    if not fs.exists(hadoop_path):
        raise FileNotFoundError(path)
    stream = fs.open(hadoop_path)
    try:
        return bytes(stream.readAllBytes())  # py4j hands a Java byte[] over as one bytearray
    finally:
        stream.close()


def list_dirs(spark: SparkSession, path: str) -> list[str]:
    """Names of the sub-directories of ``path`` (empty when it does not exist)."""
    if is_local(path):
        p = Path(path)
        return sorted(child.name for child in p.iterdir() if child.is_dir()) if p.is_dir() else []
    fs, hadoop_path = _fs(spark, path)
    if not fs.exists(hadoop_path):
        return []
    return sorted(s.getPath().getName() for s in fs.listStatus(hadoop_path) if s.isDirectory())


def list_files(spark: SparkSession, path: str) -> list[str]:
    """Names of the files directly under ``path`` (empty when it does not exist)."""
    if is_local(path):
        p = Path(path)
        return sorted(child.name for child in p.iterdir() if child.is_file()) if p.is_dir() else []
    fs, hadoop_path = _fs(spark, path)
    if not fs.exists(hadoop_path):
        return []
    return sorted(s.getPath().getName() for s in fs.listStatus(hadoop_path) if s.isFile())
