"""Which stored generator a stage uses: the newest complete one, or one trained with the same config."""

from __future__ import annotations

from pyspark.sql import SparkSession

from recaug_spark.errors import ArtifactError
from recaug_spark.gan import store
from recaug_spark.lake import Lake


def newest_version(spark: SparkSession, lake: Lake) -> str:
    """The newest complete generator; ArtifactError when there is none."""
    found = store.versions(spark, lake.root)
    if not found:
        raise ArtifactError(f"no generator under {store.directory(lake.root)}; run `recaug train-gan` first")
    return found[-1]


def matching_version(spark: SparkSession, lake: Lake, *, config_hash: str) -> str | None:
    """The newest generator trained with this ``gan``/``run`` config, if any (whatever data it saw)."""
    for version in reversed(store.versions(spark, lake.root)):
        if store.metadata(spark, lake.root, version).get("config_hash") == config_hash:
            return version
    return None
