"""The thin Spark layer of synthesis: ``spark.range(n_batches)`` mapped to gan/generate.py's batches.

The driver broadcasts the artifact's bytes and a small :class:`~recaug_spark.gan.generate.Plan`;
``mapInPandas`` hands each task its batch ids. Each Python worker rebuilds the generator once from the
bytes (verifying them) and keeps it in a small locked cache keyed by the artifact's digest, with
torch's threads capped to the task's cores. What a batch holds is decided by
:func:`~recaug_spark.gan.generate.synthesize_batch` alone, so the rows do not depend on the partitioning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pandas as pd
import torch
from pyspark import Broadcast, TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from recaug_spark import tensors
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.generate import Plan, extra_columns, synthesize_batch
from recaug_spark.gan.model import Generator

# What mapInPandas returns (plus one string column per other GAN column, see batch_schema); stage
# generate adds the audit and lineage columns.
BATCH_FIELDS = (
    T.StructField("event_id", T.StringType(), False),
    T.StructField("user_id", T.StringType(), False),
    T.StructField("item_id", T.StringType(), True),
    T.StructField("event_type", T.StringType(), True),
    T.StructField("ts_us", T.LongType(), False),
    T.StructField("quantity", T.DoubleType(), True),
    T.StructField("price", T.DoubleType(), True),
    T.StructField("gen_batch", T.LongType(), False),
)


def batch_schema(columns: Sequence[str]) -> T.StructType:
    """What a batch returns: the canonical fields, then ``gan_<i>`` for the i-th extra column."""
    extra = [T.StructField(f"gan_{i}", T.StringType(), True) for i in range(len(extra_columns(columns)))]
    return T.StructType([*BATCH_FIELDS, *extra])


_CACHE = tensors.WorkerCache()


def cached_generator(digest: str, files: Mapping[str, bytes]) -> tuple[GeneratorArtifact, Generator]:
    """This worker's generator for ``digest`` (built from ``files`` on first use). A module-level
    function, so the tasks' closures refer to the cache by name instead of pickling it."""

    def build() -> tuple[GeneratorArtifact, Generator]:
        artifact = GeneratorArtifact.from_files(files, where=f"broadcast generator {digest[:12]}")
        return artifact, artifact.generator()

    return _CACHE.get(digest, build)


def synthesize(spark: SparkSession, files: Broadcast[dict[str, bytes]], plan: Plan, *, partitions: int) -> DataFrame:
    """``spark.range(batches)`` mapped to synthetic rows on the executors (:func:`batch_schema`)."""

    def batches(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        artifact, generator = cached_generator(plan.digest, files.value)
        context = TaskContext.get()
        torch.set_num_threads(max(1, context.cpus() if context is not None else 1))
        for frame in frames:
            for batch in frame["id"].tolist():
                yield synthesize_batch(artifact, generator, plan, int(batch))

    schema = batch_schema(plan.columns)
    return spark.range(0, plan.batches, 1, numPartitions=partitions).mapInPandas(batches, schema)
