"""Where generator artifacts live: ``<lake.root>/models/generator/<version>/``, written and read whole."""

from __future__ import annotations

import json

from pyspark.sql import SparkSession

from recaug_spark import storage
from recaug_spark.errors import ArtifactError
from recaug_spark.gan.artifact import FILES, METADATA, GeneratorArtifact

MODELS = "models/generator"


def directory(root: str, version: str | None = None) -> str:
    """The artifacts' directory, or one version's."""
    return storage.join(root, MODELS, *([version] if version else []))


def save(spark: SparkSession, root: str, artifact: GeneratorArtifact) -> str:
    """Write the artifact (metadata last: a directory without it is ignored); returns its directory."""
    where = directory(root, artifact.version)
    for name, data in artifact.files().items():  # weights first, metadata last
        storage.write_bytes(spark, storage.join(where, name), data)
    return where


def read_files(spark: SparkSession, root: str, version: str) -> dict[str, bytes]:
    """The raw files of one version (what the executors get)."""
    where = directory(root, version)
    present = storage.list_files(spark, where)
    if METADATA not in present:
        found = ", ".join(versions(spark, root)) or "none"
        raise ArtifactError(f"no complete generator at {where} (versions: {found}); run `recaug train-gan` first")
    return {name: storage.read_bytes(spark, storage.join(where, name)) for name in FILES if name in present}


def load(spark: SparkSession, root: str, version: str) -> GeneratorArtifact:
    """Read and verify one version."""
    return GeneratorArtifact.from_files(read_files(spark, root, version), where=directory(root, version))


def versions(spark: SparkSession, root: str) -> list[str]:
    """Complete versions (with metadata), oldest first (versions are run ids: they sort by time)."""
    base = directory(root)
    return [v for v in storage.list_dirs(spark, base) if METADATA in storage.list_files(spark, storage.join(base, v))]


def metadata(spark: SparkSession, root: str, version: str) -> dict[str, object]:
    """One version's metadata.json, unverified (for choosing a version; loading verifies)."""
    meta: dict[str, object] = json.loads(storage.read_bytes(spark, storage.join(directory(root, version), METADATA)))
    return meta
