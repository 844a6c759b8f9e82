"""The thin Spark layer of augmentation: one generic wrapper per shape, any kernel inside.

* copies: a native ``explode`` of ``sequence(0, copies - 1)`` (cheaper than a Python round trip, and
  it keeps map columns such as ``attrs`` out of Arrow);
* column ops: one scalar ``arrow_udf`` (:func:`column_op`) that runs a numeric kernel over Arrow
  batches, drawing from the keyed generator by (seed, op label, copy, row key), so a row's result
  never depends on the rows it is batched or partitioned with; which copies are kept (probability
  ``p``) is a native keyed draw (:func:`kept`), so dropped copies never reach Python;
* sequence ops: one grouped UDF by user (:func:`sequence_op`, ``applyInArrow``) that edits each user's
  time-ordered, truncated history with any frame edit (augment/frames.py: :func:`item_edit` for the
  sequence kernels, :func:`session_shift` for time shifts).

Row keys are ``xxhash64`` of a stable id (event_id for rows, user_id for sequences, the session for
time shifts), computed by Spark. The computations inside the UDFs live in augment/frames.py (pure).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment import similar
from recaug_spark.augment.frames import (
    CHANGED,
    COPY,
    KEY,
    SEQUENCE_COLUMNS,
    SESSION_KEY,
    SOURCE_EVENT_ID,
    ColumnKernel,
    FrameEdit,
    Rows,
    SequenceRecipe,
    apply_kernel,
    edit_sequence,
    keys_of,
)
from recaug_spark.rng import stream_id


def with_key(df: DataFrame, id_column: str, key: str = KEY) -> DataFrame:
    """Add the 64-bit row key of ``id_column`` (xxhash64, the same on every executor)."""
    return df.withColumn(key, F.xxhash64(id_column))


def keyed_sequences(events: DataFrame, *, gap_minutes: float) -> DataFrame:
    """``events`` keyed for :func:`sequence_op`: the user's key and the key of each event's session
    (session_id, or gaps over ``gap_minutes``)."""
    sessions = similar.with_sessions(events, gap_minutes=gap_minutes)
    return with_key(with_key(sessions, "session", SESSION_KEY), "user_id")


def expand_copies(df: DataFrame, copies: int) -> DataFrame:
    """Each row ``copies`` times, numbered by ``aug_copy`` (0 .. copies - 1)."""
    return df.withColumn(COPY, F.explode(F.sequence(F.lit(0), F.lit(copies - 1))))


def gate_draw(*, seed: int, label: str) -> Column:
    """U[0, 1) per (row key, copy) for the ``<label>/apply`` stream, as a native Spark expression:
    the top 53 bits of ``xxhash64(key, copy, stream id)``. A stateless function of the same
    coordinates as every other draw, computed in the JVM so that dropped copies never reach Python."""
    stream = int(np.uint64(stream_id(seed, f"{label}/apply", 0)).astype(np.int64))
    bits = F.xxhash64(F.col(KEY), F.col(COPY), F.lit(stream).cast("long"))
    return F.shiftrightunsigned(bits, 11).cast("double") / float(2**53)


def kept(*, seed: int, label: str, p: float) -> Column:
    """Whether a row's copy is transformed and kept: its gate draw is below ``p``."""
    return gate_draw(seed=seed, label=label) < F.lit(p)


def output_type(n: int) -> T.DataType:
    """The type of :func:`column_op`'s result over ``n`` columns: a double, or a struct of doubles
    ``out0`` ... ``out<n-1>``."""
    if n == 1:
        return T.DoubleType()
    return T.StructType([T.StructField(f"out{i}", T.DoubleType()) for i in range(n)])


def _nan_as_null(values: np.ndarray) -> pa.Array:
    """``values`` as a float64 Arrow array, NaN as null: the array ``pa.array(values, from_pandas=True)``
    gives (as a pandas UDF's conversion does), at a fifth to a half of its cost."""
    nan = np.isnan(values)
    return pa.array(values, pa.float64(), mask=nan if nan.any() else None)


def column_op(kernel: ColumnKernel, columns: Sequence[str], *, seed: int, label: str) -> Column:
    """The kernel's output over ``columns``, of :func:`output_type` (a struct for several outputs:
    rotation). Nulls in reach the kernel as NaN; NaN out is null.

    Needs ``_aug_key`` and ``aug_copy`` columns (see :func:`with_key`, :func:`expand_copies`); filter
    the rows with :func:`kept` first. Inputs are plain columns, not a struct, and a single output is
    not wrapped in one: Spark's Arrow conversion of structs costs about a third of the throughput.

    A scalar Arrow UDF (``arrow_udf``), not a pandas one: the kernel reads each Arrow batch's buffers
    as numpy arrays (zero-copy where a column has no nulls) and its outputs go back as Arrow arrays,
    with no pandas Series either way. On this project's benchmark machine those conversions cost the
    Python worker about 100 ns of CPU a row, more than the keyed draws and the costliest kernel
    together (gaussian_noise, about 70); bench augment reports both kinds' do-nothing round trips.
    """
    result_type = output_type(len(columns))

    def run(key: pa.Array, copy: pa.Array, *values: pa.Array) -> pa.Array:
        arrays = [v.to_numpy(zero_copy_only=False) for v in values]  # double columns: null -> NaN
        results = apply_kernel(kernel, arrays, keys_of(key.to_numpy()), copy.to_numpy(), seed=seed, label=label)
        outputs = [_nan_as_null(r) for r in results]
        if isinstance(result_type, T.StructType):
            return pa.StructArray.from_arrays(outputs, names=result_type.names)
        return outputs[0]

    # pyspark's stub types only arrow_udf(f, returnType, functionType); the kind comes from run's type hints here.
    udf = F.arrow_udf(run, result_type)  # type: ignore[call-overload]
    out: Column = udf(F.col(KEY), F.col(COPY), *[F.col(c).cast("double") for c in columns])
    return out


def column_outputs(op: Column, n: int) -> list[Column]:
    """The ``n`` outputs of :func:`column_op` as columns."""
    result_type = output_type(n)
    return [op[name] for name in result_type.names] if isinstance(result_type, T.StructType) else [op]


def sequence_op(df: DataFrame, edit: FrameEdit, recipe: SequenceRecipe) -> DataFrame:
    """Edit every user's time-ordered events with ``edit`` (a grouped Arrow UDF, one call per user).

    ``df`` needs the SEQUENCE_COLUMNS, ``_aug_key`` being the user's key and ``_aug_session_key`` the
    event's session's. Histories are truncated to the most recent ``max_history`` events before Arrow
    sees them, so one heavy user cannot exhaust memory.

    ``applyInArrow`` rather than ``applyInPandas``: Spark converts every group to a pandas frame, which
    on this project's benchmark machine caps a do-nothing ``applyInPandas`` at 340 users/s against
    1,788 for ``applyInArrow`` (the same grouping; the edit then works on numpy columns).
    """
    recent = Window.partitionBy("user_id").orderBy(F.desc("ts"), F.desc("event_id"))
    bounded = (
        df.select(*SEQUENCE_COLUMNS)
        .withColumn("_n", F.row_number().over(recent))
        .where(F.col("_n") <= recipe.max_history)
        .drop("_n")
    )
    schema = T.StructType(
        [*bounded.schema.fields, T.StructField(SOURCE_EVENT_ID, T.StringType()),
         T.StructField(CHANGED, T.BooleanType()), T.StructField(COPY, T.IntegerType())]
    )  # fmt: skip

    def run(table: pa.Table) -> pa.Table:
        edited = edit_sequence(rows_of(table), edit, recipe)
        return table_of(edited, table.schema)

    return bounded.groupBy("user_id").applyInArrow(run, schema)


def rows_of(table: pa.Table) -> Rows:
    """An Arrow table as numpy columns (strings as objects, timestamps as int64 microseconds)."""

    def numpy(column: pa.ChunkedArray) -> np.ndarray:
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64())
        values: np.ndarray = column.to_numpy(zero_copy_only=False)
        return values

    return {name: numpy(column) for name, column in zip(table.column_names, table.columns, strict=True)}


def table_of(rows: Rows, schema: pa.Schema) -> pa.Table:
    """Numpy columns back as an Arrow table: the input ``schema``'s columns with their types, then
    source_event_id, changed and aug_copy."""
    fields = [*schema, pa.field(SOURCE_EVENT_ID, pa.string()), pa.field(CHANGED, pa.bool_()),
              pa.field(COPY, pa.int32())]  # fmt: skip
    arrays = []
    for field in fields:
        values = rows[field.name]
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values.astype(np.int64), pa.int64()).cast(pa.timestamp("us", tz=field.type.tz)))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
