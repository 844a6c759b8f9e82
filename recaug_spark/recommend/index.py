"""Contiguous integer ids for string keys, computed in Spark without a single-partition window."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

BUCKETS = 64  # fixed, so the numbering does not follow the cluster


def contiguous_index(values: DataFrame, column: str, *, name: str, start: int = 0) -> DataFrame:
    """``(column, name)``: each distinct non-null value of ``column`` numbered ``start .. start + n - 1``.

    The number is ``offset(bucket) + rank within bucket``, bucket = a hash of the value: the ranks come
    from a window partitioned by bucket (no single-partition window), the offsets from the bucket counts
    (at most 64 rows) joined back by broadcast. The same values give the same numbers on any cluster.
    """
    distinct = (
        values.select(column).where(F.col(column).isNotNull()).distinct()
        .withColumn("_bucket", F.pmod(F.xxhash64(column), F.lit(BUCKETS)))
    )  # fmt: skip
    ranked = distinct.withColumn("_rank", F.row_number().over(Window.partitionBy("_bucket").orderBy(column)))
    counts = {r["_bucket"]: r["count"] for r in ranked.groupBy("_bucket").count().collect()}  # <= BUCKETS rows
    offsets, total = [], start
    for bucket in sorted(counts):
        offsets.append((int(bucket), total))
        total += counts[bucket]
    spark = values.sparkSession
    table = spark.createDataFrame(offsets or [(0, start)], "_bucket long, _offset long")
    return ranked.join(F.broadcast(table), "_bucket").select(
        column, (F.col("_offset") + F.col("_rank") - 1).cast("int").alias(name)
    )
