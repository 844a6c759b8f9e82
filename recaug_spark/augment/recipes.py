"""The op registry: for each configured op, its shape and the kernel it runs (pure; no Spark).

Every op of ``augment.ops`` is one recipe: ``copies`` copies of each source row (row ops) or of each
user's recent training sequence (sequence ops), each kept with probability ``p`` and transformed by
one kernel. Row ops run through the generic scalar Arrow UDF (augment/spark.py ``column_op``),
sequence ops through the generic grouped one (``sequence_op``); this module only says which kernel,
with which parameters, from the op's spec and the quantities :class:`Fitted` on the training rows.

Categorical jitter runs as a row op on level indices: the stage encodes an attribute's value as its
index among the observed levels (a double, NaN when missing or rare), the kernel draws a new index
with the observed frequencies, and the stage decodes it; missing values stay missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recaug_spark.augment import numeric, sequence
from recaug_spark.augment.context import categorical_jitter
from recaug_spark.augment.frames import ColumnKernel, FrameEdit, item_edit, session_shift
from recaug_spark.augment.sequence import SimilarItems
from recaug_spark.config import (
    AugmentOp,
    CategoricalJitterOp,
    CropOp,
    FeatureMaskOp,
    GaussianNoiseOp,
    InsertOp,
    JitterOp,
    MaskOp,
    RandomScalingOp,
    ReorderOp,
    RotationOp,
    SaltAndPepperOp,
    SlideWindowOp,
    SubsetSplitOp,
    SubstituteOp,
    TimeShiftOp,
)
from recaug_spark.rng import Draws

ROW, SEQUENCE = "row", "sequence"
LEVEL = "_aug_level"  # the level index column a categorical jitter reads and writes


@dataclass(frozen=True)
class Levels:
    """An attribute's observed values (most frequent first) and their training counts."""

    values: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Fitted:
    """Training-row quantities the kernels need: column standard deviations (relative noise),
    quantiles (salt and pepper), attribute levels (categorical jitter)."""

    std: Mapping[str, float] = field(default_factory=dict)
    quantiles: Mapping[tuple[str, float], float] = field(default_factory=dict)
    levels: Mapping[str, Levels] = field(default_factory=dict)


def label(index: int, spec: Any) -> str:
    """The op's random stream name: its position in the list and its name (``0:gaussian_noise``)."""
    return f"{index}:{spec.op}"


def descriptor(index: int, spec: AugmentOp) -> str:
    """The op with every parameter, as written to ``aug_ops``: ``0:gaussian_noise(column=price, ...)``."""
    params = ", ".join(f"{k}={v}" for k, v in spec.model_dump(mode="json", exclude={"op"}).items())
    return f"{label(index, spec)}({params})"


# -- row ops ----------------------------------------------------------------------------------------------


def _one(kernel: Callable[[np.ndarray, Draws], np.ndarray]) -> ColumnKernel:
    return lambda values, draws: [kernel(values[0], draws)]


def _gaussian(spec: GaussianNoiseOp, fitted: Fitted) -> ColumnKernel:
    sigma = spec.sigma * fitted.std[spec.column] if spec.relative else spec.sigma
    return _one(lambda x, d: numeric.gaussian_noise(x, d, sigma=sigma))


def _salt_and_pepper(spec: SaltAndPepperOp, fitted: Fitted) -> ColumnKernel:
    salt = fitted.quantiles[(spec.column, spec.salt_quantile)]
    pepper = fitted.quantiles[(spec.column, spec.pepper_quantile)]
    return _one(lambda x, d: numeric.salt_and_pepper(x, d, p=spec.share, salt=salt, pepper=pepper))


def _categorical(spec: CategoricalJitterOp, fitted: Fitted) -> ColumnKernel:
    levels = fitted.levels[spec.attr]
    indices = np.arange(len(levels.values), dtype=np.float64)

    def kernel(index: np.ndarray, draws: Draws) -> np.ndarray:
        jittered = categorical_jitter(index, draws, p=spec.share, choices=indices, weights=levels.counts)
        return np.where(np.isnan(index), np.nan, jittered.astype(np.float64))

    return _one(kernel)


def _rotation(spec: RotationOp, fitted: Fitted) -> ColumnKernel:
    del fitted
    return lambda v, d: list(numeric.rotation(v[0], v[1], d, theta=spec.theta, low=spec.low, high=spec.high))


ROW_KERNELS: dict[type[AugmentOp], Callable[[Any, Fitted], ColumnKernel]] = {
    GaussianNoiseOp: _gaussian,
    SaltAndPepperOp: _salt_and_pepper,
    RandomScalingOp: lambda s, f: _one(lambda x, d: numeric.random_scaling(x, d, low=s.low, high=s.high)),
    RotationOp: _rotation,
    JitterOp: lambda s, f: _one(lambda x, d: numeric.jitter(x, d, r=s.r)),
    FeatureMaskOp: lambda s, f: _one(
        lambda x, d: numeric.feature_mask(x, d, p=s.share, fill=np.nan if s.fill is None else s.fill)
    ),
    CategoricalJitterOp: _categorical,
}


def columns(spec: AugmentOp) -> tuple[str, ...]:
    """The numeric columns a row op reads and rewrites (categorical jitter: the encoded level)."""
    if isinstance(spec, RotationOp):
        return tuple(spec.columns)
    if isinstance(spec, CategoricalJitterOp):
        return (LEVEL,)
    return (spec.column,)  # type: ignore[attr-defined]


def column_kernel(spec: AugmentOp, fitted: Fitted) -> ColumnKernel:
    """The kernel of a row op, its parameters resolved against the training quantities."""
    return ROW_KERNELS[type(spec)](spec, fitted)


# -- sequence ops -----------------------------------------------------------------------------------------

Similar = Callable[[], SimilarItems]  # resolved on the executor (a broadcast's value)

ItemKernel = Callable[[np.ndarray, Draws], sequence.Edit]

# The sequence ops that edit items only: one kernel each (the augment stage wraps them as frame edits,
# SASRec's contrastive views call them directly on index sequences).
ITEM_KERNELS: dict[type[AugmentOp], Callable[[Any, Similar], ItemKernel]] = {
    CropOp: lambda s, _: lambda items, d: sequence.crop(items, d, eta=s.eta),
    MaskOp: lambda s, _: lambda items, d: sequence.mask(items, d, gamma=s.gamma, token=s.token),
    ReorderOp: lambda s, _: lambda items, d: sequence.reorder(items, d, beta=s.beta),
    SubstituteOp: lambda s, similar: lambda items, d: sequence.substitute(items, d, ratio=s.ratio, similar=similar()),
    InsertOp: lambda s, similar: lambda items, d: sequence.insert(items, d, ratio=s.ratio, similar=similar()),
    SlideWindowOp: lambda s, _: lambda items, d: sequence.slide_window(items, d, length=s.length, stride=s.stride),
    SubsetSplitOp: lambda s, _: lambda items, d: sequence.subset_split(items, d, dropout=s.dropout),
}


def _as_frame_edit(make: Callable[[Any, Similar], ItemKernel]) -> Callable[[Any, Similar], FrameEdit]:
    return lambda spec, similar: item_edit(make(spec, similar))


SEQUENCE_EDITS: dict[type[AugmentOp], Callable[[Any, Similar], FrameEdit]] = {
    **{op: _as_frame_edit(make) for op, make in ITEM_KERNELS.items()},
    TimeShiftOp: lambda s, _: session_shift(s.within),
}


def item_kernel(spec: AugmentOp, similar: Similar) -> ItemKernel:
    """The item kernel of an item-editing sequence op (substitute and insert look items up in ``similar()``)."""
    return ITEM_KERNELS[type(spec)](spec, similar)


def shape(spec: AugmentOp) -> str:
    """``row`` or ``sequence``."""
    if type(spec) in ROW_KERNELS:
        return ROW
    if type(spec) in SEQUENCE_EDITS:
        return SEQUENCE
    raise TypeError(f"no kernel registered for op {type(spec).__name__}")


def frame_edit(spec: AugmentOp, similar: Similar) -> FrameEdit:
    """The edit of a sequence op (substitute and insert look items up in ``similar()``)."""
    return SEQUENCE_EDITS[type(spec)](spec, similar)


def needs_similar(spec: AugmentOp) -> bool:
    return isinstance(spec, SubstituteOp | InsertOp)


def eligible(spec: AugmentOp, short_max: int) -> Callable[[int], bool]:
    """Which sequence lengths the op applies to (short ones get insert and substitute only;
    a time shift moves sessions and applies to any length)."""
    if isinstance(spec, TimeShiftOp):
        return lambda n: n > 0
    name: str = spec.op  # type: ignore[attr-defined]
    return lambda n: sequence.allowed(name, n, short_max)
