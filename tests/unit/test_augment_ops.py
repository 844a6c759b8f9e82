"""The op registry (augment/ops.py): every packaged op is one consistent spec, and an op registered from
outside the package (its parameters model, kernel and spec only) is accepted by the config, checked
against the source, and run by the recipes; removed, it is gone again (no Spark)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from pydantic import Field

from recaug_spark import source_columns
from recaug_spark.augment import frames, ops, recipes, sequence
from recaug_spark.augment.ops import ROW, SEQUENCE, AugmentOp, Fitted, Op
from recaug_spark.config import OP_MODELS, VIEW_OPS, AugmentConfig
from recaug_spark.errors import ConfigError
from recaug_spark.rng import Draws
from tests.conftest import test_config
from tests.unit.test_config_hash import PINNED, pinned_config


class ShiftOp(AugmentOp):
    """x + amount."""

    op: Literal["shift"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    amount: float = Field(1.0, description="What is added.")


def _shift(params: ShiftOp, fitted: Fitted) -> frames.ColumnKernel:
    amount = params.amount
    return lambda values, draws: [values[0] + amount]


class LastOp(AugmentOp):
    """Keep a sequence's last event."""

    op: Literal["last"] = Field(..., description="Selects this op.")


def _last(params: LastOp, lookups: ops.Lookups) -> ops.ItemKernel:
    return lambda items, draws: sequence.Edit(np.array([len(items) - 1]), items[-1:], np.zeros(1, dtype=bool))


SHIFT = Op(ShiftOp, ROW, _shift, columns=("column",))
LAST = Op(LastOp, SEQUENCE, items=_last, short=True, view=True)


def test_the_packaged_ops_are_the_config_union_in_order() -> None:
    assert list(ops.OPS) == list(OP_MODELS) == [op.name for op in ops.PACKAGED]
    assert VIEW_OPS == ("crop", "mask", "reorder", "substitute", "insert")
    assert [op.name for op in ops.PACKAGED if ops.Need.SIMILAR_ITEMS in op.needs] == ["substitute", "insert"]
    assert all(op.params is OP_MODELS[op.name] for op in ops.PACKAGED)


def test_short_sequences_get_only_the_ops_whose_spec_says_short() -> None:
    names = ("crop", "mask", "reorder", "substitute", "insert", "slide_window", "subset_split", "time_shift")
    specs = AugmentConfig.model_validate({"ops": [{"op": name} for name in names]}).ops
    assert [s.op for s in specs if recipes.eligible(s, 3)(3)] == ["substitute", "insert", "time_shift"]
    assert all(recipes.eligible(s, 3)(4) for s in specs)
    assert not any(recipes.eligible(s, 3)(0) for s in specs)


def test_an_op_registered_from_outside_is_configured_checked_and_run() -> None:
    with ops.registered(SHIFT, LAST):
        cfg = test_config("augment.ops=[{op: shift, column: quantity, amount: 2.5}, {op: last, copies: 2}]")
        shift, last = cfg.augment.ops
        assert (type(shift), shift.amount, type(last), last.copies) == (ShiftOp, 2.5, LastOp, 2)
        assert "shift" in cfg.model_dump(mode="json")["augment"]["ops"][0].values()
        views = test_config("evaluate.sasrec.contrastive.ops=[{op: last}]").evaluate.sasrec.contrastive.ops
        assert type(views[0]) is LastOp
        with pytest.raises(ConfigError, match=r"'augment\.ops\[0\]\.amount'"):
            test_config("augment.ops=[{op: shift, column: price, amount: x}]")
        with pytest.raises(ConfigError, match=r"unknown op; known ops: categorical_jitter, .*, last, .*, shift"):
            test_config("augment.ops=[{op: blur}]")

        assert source_columns.op_columns(shift) == ("quantity",)
        assert (recipes.shape(shift), recipes.columns(shift), recipes.shape(last)) == (ROW, ("quantity",), SEQUENCE)
        draws = Draws.of(seed=1, op="0:shift", copy=0, keys=np.arange(3, dtype=np.uint64))
        shifted = recipes.column_kernel(shift, Fitted())([np.array([1.0, 2.0, np.nan])], draws)[0]
        assert shifted[:2].tolist() == [3.5, 4.5] and np.isnan(shifted[2])
        items = np.array(["a", "b", "c"], dtype=object)
        assert recipes.item_kernel(last, ops.Lookups())(items, draws).items.tolist() == ["c"]
        assert recipes.eligible(last, 3)(1) and recipes.descriptor(1, last) == "1:last(p=1.0, copies=2)"
    with pytest.raises(ConfigError, match=r"'augment\.ops\[0\]'.*unknown op; known ops: categorical_jitter"):
        test_config("augment.ops=[{op: shift, column: price}]")
    with pytest.raises(ConfigError, match="unknown view op; known: crop, mask, reorder, substitute, insert"):
        test_config("evaluate.sasrec.contrastive.ops=[{op: last}]")
    assert "shift" not in ops.OPS and "last" not in OP_MODELS


@pytest.mark.parametrize("name", ["default", "overrides"])
def test_registering_an_op_changes_no_pinned_hash(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    files, overrides, whole, _ = PINNED[name]
    with ops.registered(SHIFT, LAST):
        assert pinned_config(files, overrides, monkeypatch).config_hash() == whole
    assert pinned_config(files, overrides, monkeypatch).config_hash() == whole


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (Op(ShiftOp, ROW, columns=("column",)), "row op 'shift' needs a kernel"),
        (Op(ShiftOp, ROW, _shift, columns=("nope",)), r"\['nope'\] are not parameters of ShiftOp"),
        (Op(LastOp, SEQUENCE), "sequence op 'last' needs either a kernel"),
        (Op(LastOp, SEQUENCE, view=True, kernel=lambda p, s: frames.session_shift("day")), "needs items"),
        (Op(ShiftOp, "batch", _shift), "shape must be 'row' or 'sequence'"),
        (ops.CROP, "an augment op named 'crop' is registered already"),
    ],
)
def test_an_inconsistent_or_taken_spec_is_refused(spec: Op, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ops.register(spec)
    assert list(ops.OPS) == [op.name for op in ops.PACKAGED]
