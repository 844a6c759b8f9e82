"""augment.ops: every op validated before any work, with the dotted key and the fix in the message."""

from __future__ import annotations

import pytest

from recaug_spark.config import OP_MODELS, CropOp, GaussianNoiseOp, SlideWindowOp, SubsetSplitOp
from recaug_spark.errors import ConfigError
from tests.conftest import test_config


def test_the_default_ops_and_every_op_name() -> None:
    cfg = test_config()
    assert [type(op) for op in cfg.augment.ops][:2] == [GaussianNoiseOp, CropOp]
    assert sorted(OP_MODELS) == sorted([
        "gaussian_noise", "salt_and_pepper", "random_scaling", "rotation", "jitter", "feature_mask",
        "crop", "mask", "reorder", "substitute", "insert", "slide_window", "subset_split", "pseudo_prior", "time_shift",
        "categorical_jitter",
    ])  # fmt: skip


def test_ops_parse_from_yaml_with_their_parameters() -> None:
    ops = test_config("augment.ops=[{op: rotation, columns: [price, quantity], theta: 0.5, copies: 3}, {op: mask}]")
    rotation, mask = ops.augment.ops
    assert (rotation.columns, rotation.theta, rotation.copies, rotation.p) == (("price", "quantity"), 0.5, 3, 1.0)
    assert (mask.gamma, mask.token) == (0.2, None)


def test_the_da4rec_ops_parse_with_their_parameters_and_defaults() -> None:
    cfg = test_config(
        "augment.ops=[{op: slide_window, length: 5, stride: 2, copies: 4}, {op: subset_split, dropout: 0.4},"
        " {op: slide_window}, {op: subset_split}]"
    )
    window, subset, default_window, default_subset = cfg.augment.ops
    assert (type(window), window.length, window.stride, window.copies, window.p) == (SlideWindowOp, 5, 2, 4, 1.0)
    assert (type(subset), subset.dropout, subset.copies) == (SubsetSplitOp, 0.4, 1)
    assert (default_window.length, default_window.stride, default_subset.dropout) == (20, 1, 0.25)
    assert SlideWindowOp.model_fields["length"].description and SubsetSplitOp.model_fields["dropout"].description


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("augment.ops=[{op: blur, column: price}]", r"'augment\.ops\[0\]'.*unknown op; known ops: categorical_jitter"),
        ("augment.ops=[{op: crop}, {op: crop, eta: 1.5}]", r"'augment\.ops\[1\]\.eta'.*less than or equal to 1"),
        ("augment.ops=[{op: jitter, column: price}]", r"'augment\.ops\[0\]\.r'.*required key is missing"),
        ("augment.ops=[{op: random_scaling, column: price, low: 2, high: 1}]", r"'high' must be greater than 'low'"),
        ("augment.ops=[{op: crop, eta: 0.5, sigma: 1}]", r"'augment\.ops\[0\]\.sigma'"),
        ("augment.ops=[{op: crop, p: 1.2}]", r"'augment\.ops\[0\]\.p'"),
        ("augment.ops=[{op: slide_window, length: 0}]", r"'augment\.ops\[0\]\.length'.*greater than or equal to 1"),
        ("augment.ops=[{op: crop}, {op: slide_window, stride: 0}]", r"'augment\.ops\[1\]\.stride'"),
        ("augment.ops=[{op: subset_split, dropout: 1.0}]", r"'augment\.ops\[0\]\.dropout'.*less than 1"),
        ("augment.ops=[{op: subset_split, dropout: 0}]", r"'augment\.ops\[0\]\.dropout'.*greater than 0"),
    ],
)
def test_bad_ops_fail_with_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        test_config(override)
