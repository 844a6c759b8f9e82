"""How one configured op runs, read from its spec (augment/ops.py): its random stream, its descriptor, the
columns its kernel takes, and its kernel bound to its parameters (pure; no Spark).

Every op of ``augment.ops`` is one recipe: ``copies`` copies of each source row (row ops) or of each
user's recent training sequence (sequence ops), each kept with probability ``p`` and transformed by
one kernel. Row ops run through the generic scalar Arrow UDF (augment/spark.py ``column_op``),
sequence ops through the generic grouped one (``sequence_op``); this module only says which kernel,
with which parameters, from the op's spec and the quantities :class:`Fitted` on the training rows.

An op's attributes (categorical jitter's ``attr``) reach its kernel as level indices: the stage encodes
an attribute's value as its index among the observed levels (a double, NaN when missing or rare), the
kernel draws a new index, and the stage decodes it; missing values stay missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recaug_spark.augment import ops
from recaug_spark.augment.frames import ColumnKernel, FrameEdit, item_edit
from recaug_spark.augment.ops import ROW, SEQUENCE, Fitted, ItemKernel, Levels, Lookups, Need

__all__ = [
    "LEVEL", "ROW", "SEQUENCE", "Fitted", "ItemKernel", "Levels", "Lookups", "column_kernel", "columns",
    "descriptor", "eligible", "frame_edit", "item_kernel", "label", "level_columns", "needs_prior", "needs_similar",
    "shape", "token",
]  # fmt: skip

LEVEL = "_aug_level"  # prefix of the level index columns a row op's attributes are passed as


def label(index: int, spec: Any) -> str:
    """The op's random stream name: its position in the list and its name (``0:gaussian_noise``)."""
    return f"{index}:{spec.op}"


def descriptor(index: int, spec: ops.AugmentOp) -> str:
    """The op with every parameter, as written to ``aug_ops``: ``0:gaussian_noise(column=price, ...)``."""
    params = ", ".join(f"{k}={v}" for k, v in spec.model_dump(mode="json", exclude={"op"}).items())
    return f"{label(index, spec)}({params})"


def shape(spec: ops.AugmentOp) -> str:
    """``row`` or ``sequence``.

    Example:
        >>> from recaug_spark.config import CropOp
        >>> shape(CropOp(op="crop"))
        'sequence'
    """
    return ops.of(spec).shape


def level_columns(spec: ops.AugmentOp) -> tuple[str, ...]:
    """The level index column of each attribute a row op rewrites (the stage adds and drops them)."""
    return tuple(f"{LEVEL}{k}" for k in range(len(ops.of(spec).attributes_of(spec))))


def columns(spec: ops.AugmentOp) -> tuple[str, ...]:
    """The columns a row op's kernel reads and rewrites: its numeric columns, then a level index per attribute.

    Example:
        >>> from recaug_spark.config import CategoricalJitterOp, RotationOp
        >>> columns(RotationOp(op="rotation", columns=("price", "quantity"))), columns(
        ...     CategoricalJitterOp(op="categorical_jitter", attr="device"))
        (('price', 'quantity'), ('_aug_level0',))
    """
    return (*ops.of(spec).columns_of(spec), *level_columns(spec))


def column_kernel(spec: ops.AugmentOp, fitted: Fitted) -> ColumnKernel:
    """The kernel of a row op, its parameters resolved against the training quantities."""
    op = ops.of(spec)
    if op.shape != ROW or op.kernel is None:
        raise TypeError(f"op '{op.name}' is not a row op")
    kernel: ColumnKernel = op.kernel(spec, fitted)
    return kernel


def item_kernel(spec: ops.AugmentOp, lookups: Lookups) -> ItemKernel:
    """The item kernel of a sequence op that edits items only (substitute and insert look items up in
    ``lookups.similar()``, pseudo_prior its model in ``lookups.prior()``)."""
    op = ops.of(spec)
    if op.items is None:
        raise TypeError(f"op '{op.name}' has no item kernel (it is not a sequence op that edits items only)")
    return op.items(spec, lookups)


def frame_edit(spec: ops.AugmentOp, lookups: Lookups) -> FrameEdit:
    """The edit of a sequence op (its lookups as :func:`item_kernel`'s)."""
    op = ops.of(spec)
    if op.shape != SEQUENCE:
        raise TypeError(f"op '{op.name}' is not a sequence op")
    if op.items is not None:
        return item_edit(op.items(spec, lookups))
    edit: FrameEdit = op.kernel(spec, lookups)  # type: ignore[misc]
    return edit


def needs_similar(spec: ops.AugmentOp) -> bool:
    """Whether the op reads the similar-items table."""
    return Need.SIMILAR_ITEMS in ops.of(spec).needs


def needs_prior(spec: ops.AugmentOp) -> bool:
    """Whether the op draws from the reversed-sequence model (pseudo_prior)."""
    return Need.PRIOR_MODEL in ops.of(spec).needs


def token(spec: ops.AugmentOp) -> object | None:
    """The item the op writes in place of an edited one (a mask token), None when it writes none."""
    name = ops.of(spec).token
    return getattr(spec, name) if name else None


def eligible(spec: ops.AugmentOp, short_max: int) -> Callable[[int], bool]:
    """Which sequence lengths the op applies to: any (but none) when its spec says ``short``, else those
    longer than ``short_max``; at most its ``max_length`` parameter's value when it names one.

    Example:
        >>> from recaug_spark.config import CropOp, InsertOp
        >>> [eligible(s, 3)(3) for s in (CropOp(op="crop"), InsertOp(op="insert"))]
        [False, True]
    """
    op = ops.of(spec)
    longest = getattr(spec, op.max_length) if op.max_length else None
    return lambda n: n > 0 and (op.short or n > short_max) and (longest is None or n <= longest)
