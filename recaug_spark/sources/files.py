"""Input files: listing them through Hadoop's FileSystem (local, HDFS, S3, ...) and reading raw lines."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recaug_spark.config import DelimitedFormat
from recaug_spark.errors import InputError
from recaug_spark.sources.records import RAW_RECORD, SOURCE_FILE, parse_header

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class InputFile:
    """One input file as the filesystem reports it; (path, size, mtime) identify its content."""

    path: str
    size: int
    modification_time: int


def list_files(spark: SparkSession, patterns: Sequence[str]) -> list[InputFile]:
    """Expand files, directories (recursively, skipping ``_`` and ``.`` names) and globs.

    A pattern that matches nothing contributes nothing; the caller decides whether that is an error.
    """
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    found: dict[str, InputFile] = {}
    for pattern in patterns:
        path = jvm.org.apache.hadoop.fs.Path(pattern)  # type: ignore[union-attr]
        fs = path.getFileSystem(hadoop_conf)
        for status in fs.globStatus(path) or []:
            if status.isDirectory():
                listing = fs.listFiles(status.getPath(), True)
                while listing.hasNext():
                    _add(found, listing.next())
            else:
                _add(found, status)
    return sorted(found.values())


def _add(found: dict[str, InputFile], status: object) -> None:
    path = status.getPath()  # type: ignore[attr-defined]
    if path.getName().startswith(("_", ".")):
        return
    text = path.toString()
    found[text] = InputFile(text, int(status.getLen()), int(status.getModificationTime()))  # type: ignore[attr-defined]


def fingerprint(files: Sequence[InputFile]) -> str:
    """A short hash of a set of files' identities: the same files give the same batch id.

    Example:
        >>> fingerprint([InputFile("file:/a.csv", 10, 1)]) == fingerprint([InputFile("file:/a.csv", 10, 1)])
        True
    """
    digest = hashlib.sha256()
    for f in sorted(files):
        digest.update(f"{f.path}\0{f.size}\0{f.modification_time}\n".encode())
    return digest.hexdigest()[:12]


def read_lines(spark: SparkSession, files: Sequence[InputFile]) -> DataFrame:
    """Raw lines of ``files`` (compressed files are decompressed by their extension), with their file."""
    return (
        spark.read.format("text")
        .load([f.path for f in files])
        .select(F.col("value").alias(RAW_RECORD), F.col("_metadata.file_path").alias(SOURCE_FILE))
    )


def field_names(spark: SparkSession, files: Sequence[InputFile], fmt: DelimitedFormat) -> tuple[str, ...]:
    """The record's field names: ``format.columns``, checked against the first file's header if it has one."""
    if not fmt.header:
        assert fmt.columns is not None  # guaranteed by DelimitedFormat's validator
        return fmt.columns
    first = spark.read.format("text").load(files[0].path).first()
    if first is None:
        if fmt.columns:
            return fmt.columns
        raise InputError(f"{files[0].path} is empty, so it has no header to take field names from")
    header = parse_header(first[0], fmt)
    if fmt.columns and [c.lower() for c in fmt.columns] != [h.lower() for h in header]:
        raise InputError(
            f"the header of {files[0].path} is {list(header)} but format.columns is {list(fmt.columns)}; "
            f"fix format.columns or the file"
        )
    return fmt.columns or header
