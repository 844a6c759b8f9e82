"""A new op is its kernel plus its spec: a toy row op, registered from this test (no package file edited),
runs through the augment stage, and its rows in gold/augmented_events hold its kernel's values."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from pydantic import Field
from pyspark.sql import SparkSession

from recaug_spark.augment import ops
from recaug_spark.augment.frames import ColumnKernel
from recaug_spark.augment.ops import ROW, AugmentOp, Fitted, Op
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.runs import latest
from recaug_spark.schema import GOLD_AUGMENTED, SILVER_EVENTS, SILVER_SPLIT
from tests.conftest import DEMO_EVENTS, test_config


class AddConstantOp(AugmentOp):
    """x + amount."""

    op: Literal["add_constant"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    amount: float = Field(..., description="What is added to every value.")


def add_constant(params: AddConstantOp, fitted: Fitted) -> ColumnKernel:
    """The kernel, bound to its parameters: each value plus ``amount`` (NaN stays NaN)."""
    amount = params.amount  # the closure carries a float to the executors, not the model
    return lambda values, draws: [np.asarray(values[0], dtype=np.float64) + amount]


ADD_CONSTANT = Op(AddConstantOp, ROW, add_constant, columns=("column",))


@pytest.fixture
def registered() -> Iterator[None]:
    with ops.registered(ADD_CONSTANT):
        yield


@pytest.mark.usefixtures("registered")
def test_a_registered_toy_op_runs_through_the_stage(spark: SparkSession, demo_split_lake: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    shutil.copytree(demo_split_lake, root)
    cfg = test_config(DEMO_EVENTS, "augment.ops=[{op: add_constant, column: price, amount: 2.5, copies: 2}]", lake=root)
    assert type(cfg.augment.ops[0]) is AddConstantOp
    execute("augment", cfg, spark, run_id="toy-1")

    lake = Lake(spark, str(root))
    train_ids = lake.read(SILVER_SPLIT).where("split = 'train'").select("event_id")
    train = lake.read(SILVER_EVENTS).join(train_ids, "event_id", "left_semi").toPandas()
    out = lake.read(GOLD_AUGMENTED).toPandas()
    assert len(out) == 2 * len(train) and sorted(set(out.aug_copy)) == [0, 1]
    assert set(out.aug_ops.map(tuple)) == {("0:add_constant(p=1.0, copies=2, column=price, amount=2.5)",)}
    assert (out.event_id == "aug:0:" + out.aug_copy.astype(str) + ":" + out.source_event_id).all()
    rows = out.merge(train, left_on="source_event_id", right_on="event_id", suffixes=("", "_src"))
    assert len(rows) == len(out)
    np.testing.assert_allclose(rows.price, rows.price_src + 2.5, rtol=1e-12)  # NaN (null) stays NaN
    for column in ("user_id", "item_id", "event_type", "ts", "quantity"):
        assert rows[column].equals(rows[f"{column}_src"]), column
    run = latest(lake).where("stage = 'augment'").first()
    assert run.row_counts["op0_add_constant"] == len(out)
