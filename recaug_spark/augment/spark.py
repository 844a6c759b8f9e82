"""The thin Spark layer of augmentation: one generic wrapper per shape, any kernel inside.

* copies: a native ``explode`` of ``sequence(0, copies - 1)`` (cheaper than a Python round trip, and
  it keeps map columns such as ``attrs`` out of Arrow);
* column ops: one scalar ``pandas_udf`` (:func:`column_op`) that runs a numeric kernel over Arrow
  batches, drawing from the keyed generator by (seed, op label, copy, row key), so a row's result
  never depends on the rows it is batched or partitioned with;
* sequence ops: one ``applyInPandas`` grouped by user (:func:`sequence_op`) that edits each user's
  time-ordered, truncated history with any frame edit (sequence kernels through :func:`item_edit`).

Row keys are ``xxhash64`` of a stable id (event_id for rows, user_id for sequences), computed by Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment.rng import Draws
from recaug_spark.augment.sequence import Edit

KEY = "_aug_key"
COPY = "aug_copy"
APPLIED = "applied"
ColumnKernel = Callable[[list[np.ndarray], Draws], list[np.ndarray]]


def with_key(df: DataFrame, id_column: str) -> DataFrame:
    """Add the 64-bit row key of ``id_column`` (xxhash64, the same on every executor)."""
    return df.withColumn(KEY, F.xxhash64(id_column))


def expand_copies(df: DataFrame, copies: int) -> DataFrame:
    """Each row ``copies`` times, numbered by ``aug_copy`` (0 .. copies - 1)."""
    return df.withColumn(COPY, F.explode(F.sequence(F.lit(0), F.lit(copies - 1))))


def keys_of(series: pd.Series) -> np.ndarray:
    """Spark's signed 64-bit keys as the generator's unsigned ones (same bits)."""
    return series.to_numpy(dtype=np.int64).view(np.uint64)


def apply_kernel(
    kernel: ColumnKernel,
    values: list[np.ndarray],
    keys: np.ndarray,
    copies: np.ndarray,
    *,
    seed: int,
    label: str,
    p: float,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The pure computation inside :func:`column_op`, per distinct copy: whether each row's copy is
    transformed (a draw of the ``<label>/apply`` stream below ``p``) and the kernel's outputs."""
    applied = np.zeros(len(keys), dtype=bool)
    outputs = [np.full(len(keys), np.nan) for _ in values]
    for copy in np.unique(copies):
        rows = copies == copy
        gate = Draws.of(seed=seed, op=f"{label}/apply", copy=int(copy), keys=keys[rows])
        applied[rows] = gate.uniform(0) < p
        draws = Draws.of(seed=seed, op=label, copy=int(copy), keys=keys[rows])
        for output, result in zip(outputs, kernel([v[rows] for v in values], draws), strict=True):
            output[rows] = result
    return applied, outputs


def column_op(kernel: ColumnKernel, columns: Sequence[str], *, seed: int, label: str, p: float) -> Column:
    """A struct column (``applied``, ``out0`` ... ``out<n-1>``) from a numeric kernel over ``columns``.

    Needs ``_aug_key`` and ``aug_copy`` columns (see :func:`with_key`, :func:`expand_copies`).
    """
    fields = [
        T.StructField(APPLIED, T.BooleanType()),
        *[T.StructField(f"out{i}", T.DoubleType()) for i in range(len(columns))],
    ]

    def run(key: pd.Series, copy: pd.Series, values: pd.DataFrame) -> pd.DataFrame:
        arrays = [values[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in values.columns]
        applied, outputs = apply_kernel(kernel, arrays, keys_of(key), copy.to_numpy(), seed=seed, label=label, p=p)
        return pd.DataFrame({APPLIED: applied, **{f"out{i}": o for i, o in enumerate(outputs)}})

    udf = F.pandas_udf(run, T.StructType(fields))  # type: ignore[call-overload]
    inputs = F.struct(*[F.col(c).cast("double").alias(c) for c in columns])
    return udf(F.col(KEY), F.col(COPY), inputs)


# -- sequences ------------------------------------------------------------------------------------------

SOURCE_EVENT_ID = "source_event_id"
CHANGED = "changed"
SEQUENCE_COLUMNS = ("user_id", "event_id", "item_id", "event_type", "ts", "session_id", KEY)
FrameEdit = Callable[[pd.DataFrame, Draws], pd.DataFrame]


def item_edit(kernel: Callable[[np.ndarray, Draws], Edit]) -> FrameEdit:
    """A sequence kernel on item ids as an edit of the sequence's rows: every output row copies its
    source row, takes the kernel's item and records the source event and whether it changed."""

    def edit(rows: pd.DataFrame, draws: Draws) -> pd.DataFrame:
        result = kernel(rows["item_id"].to_numpy(dtype=object), draws)
        out = rows.iloc[result.source].reset_index(drop=True)
        out[SOURCE_EVENT_ID] = out["event_id"]
        out["item_id"] = result.items
        out[CHANGED] = result.changed
        return out

    return edit


@dataclass(frozen=True)
class SequenceRecipe:
    """How one op runs over sequences: its draws (seed, label), gate ``p``, ``copies``, the history
    bound, and which sequence lengths it applies to."""

    seed: int
    label: str
    p: float
    copies: int
    max_history: int
    eligible: Callable[[int], bool]


def edit_sequence(rows: pd.DataFrame, edit: FrameEdit, recipe: SequenceRecipe) -> pd.DataFrame:
    """The pure computation of :func:`sequence_op` for one user's rows: the most recent ``max_history``
    events, in time order, edited once per copy that the ``<label>/apply`` draw (below ``p``) keeps."""
    rows = rows.sort_values(["ts", "event_id"], kind="stable").tail(recipe.max_history).reset_index(drop=True)
    outputs = []
    if len(rows) and recipe.eligible(len(rows)):
        key = keys_of(rows[KEY].head(1))
        for copy in range(recipe.copies):
            gate = Draws.of(seed=recipe.seed, op=f"{recipe.label}/apply", copy=copy, keys=key)
            if gate.uniform(0)[0] < recipe.p:
                edited = edit(rows, Draws.of(seed=recipe.seed, op=recipe.label, copy=copy, keys=key))
                outputs.append(edited.assign(**{COPY: np.int32(copy)}))
    columns = [*rows.columns, SOURCE_EVENT_ID, CHANGED, COPY]
    return pd.concat(outputs, ignore_index=True)[columns] if outputs else pd.DataFrame(columns=columns)


def sequence_op(df: DataFrame, edit: FrameEdit, recipe: SequenceRecipe) -> DataFrame:
    """Edit every user's time-ordered events with ``edit`` (``applyInPandas`` grouped by user).

    ``df`` needs the SEQUENCE_COLUMNS, ``_aug_key`` being the user's key. Histories are truncated to the
    most recent ``max_history`` events before Arrow sees them, so one heavy user cannot exhaust memory.
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

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return edit_sequence(rows, edit, recipe)

    return bounded.groupBy("user_id").applyInPandas(run, schema)
