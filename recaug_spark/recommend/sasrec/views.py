"""CL4SRec's augmented views, made on the fly for each training batch by the augment stage's own item
kernels (augment/recipes.py ``item_kernel``: the ops whose specs say ``view``, augment/ops.py: crop, mask,
reorder, substitute, insert) on index sequences.

View ``v`` (0 or 1) of training row ``r`` in epoch ``e`` uses one op drawn uniformly from the configured
ops, and the op's draws, all from the keyed generator by (seed, ``cl<e>:<op position>``, v, r): the same
seed gives the same views whatever the batch a row lands in. An op's token (a mask's) is the model's mask
index; a view that an op would leave empty keeps the original items. Pure numpy: no Spark, no torch.

Crop, mask and reorder also have a batch form here (``BATCH``): the rows that drew the op are edited at
once as a matrix, with the same draws and the same result as the op's item kernel row by row
(tests/unit/test_sasrec.py checks them against each other); a batch of 256 rows then costs one numpy
pass per op instead of 256 kernel calls. The other ops run their item kernel per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from recaug_spark.augment import recipes
from recaug_spark.augment.sequence import SimilarItems, spans
from recaug_spark.config import CropOp, MaskOp, ReorderOp, ViewOp
from recaug_spark.recommend.sasrec.model import PAD
from recaug_spark.rng import Draws

Op = TypeVar("Op", CropOp, MaskOp, ReorderOp)
# (op, items (R, W) left-aligned, lengths (R,), draws of the R rows, mask index) -> (items, lengths)
BatchEdit = Callable[[ViewOp, np.ndarray, np.ndarray, Draws, "int | None"], tuple[np.ndarray, np.ndarray]]


def _as(op: ViewOp, kind: type[Op]) -> Op:
    if not isinstance(op, kind):
        raise TypeError(f"the batch form of {kind.__name__} got a {type(op).__name__}")
    return op


def _gather(items: np.ndarray, source: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``items[r, source[r, j]]`` for j < lengths[r], PAD after."""
    picked = np.take_along_axis(items, np.clip(source, 0, items.shape[1] - 1), axis=1)
    return np.where(np.arange(items.shape[1]) < lengths[:, None], picked, PAD), lengths


def _order_within(lengths: np.ndarray, width: int, draws: Draws, index: int) -> np.ndarray:
    """Per row, the stable argsort of draw ``index`` of its first lengths[r] positions (``spread``'s
    draws, as ``Draws.permutation`` orders them), then the positions past the row's length."""
    u = draws.spread_rows(width).uniform(index)
    u[np.arange(width) >= lengths[:, None]] = np.inf
    order: np.ndarray = np.argsort(u, axis=1, kind="stable")
    return order


def _crop_batch(
    op: ViewOp, items: np.ndarray, lengths: np.ndarray, draws: Draws, _: int | None
) -> tuple[np.ndarray, np.ndarray]:
    start, span = spans(lengths, _as(op, CropOp).eta, draws)
    return _gather(items, start[:, None] + np.arange(items.shape[1]), span)


def _mask_batch(
    op: ViewOp, items: np.ndarray, lengths: np.ndarray, draws: Draws, mask_index: int | None
) -> tuple[np.ndarray, np.ndarray]:
    mask = _as(op, MaskOp)
    width = items.shape[1]
    rank = np.argsort(_order_within(lengths, width, draws, 0), axis=1, kind="stable")  # position -> its rank
    chosen = rank < np.floor(mask.gamma * lengths).astype(np.int64)[:, None]
    if mask.token is not None:
        if mask_index is None:
            raise ValueError("a mask view with a token needs the model's mask index")
        return np.where(chosen, mask_index, items), lengths
    kept = ~chosen & (np.arange(width) < lengths[:, None])
    source = np.argsort(~kept, axis=1, kind="stable")  # the kept positions first, in order
    return _gather(items, source, kept.sum(axis=1))


def _reorder_batch(
    op: ViewOp, items: np.ndarray, lengths: np.ndarray, draws: Draws, _: int | None
) -> tuple[np.ndarray, np.ndarray]:
    width = items.shape[1]
    start, span = spans(lengths, _as(op, ReorderOp).beta, draws)
    shuffled = _order_within(span, width, draws, 1)
    offset = np.arange(width) - start[:, None]
    inside = (offset >= 0) & (offset < span[:, None])
    within = np.take_along_axis(shuffled, np.clip(offset, 0, width - 1), axis=1)
    return _gather(items, np.where(inside, start[:, None] + within, np.arange(width)), lengths)


BATCH: dict[type, BatchEdit] = {CropOp: _crop_batch, MaskOp: _mask_batch, ReorderOp: _reorder_batch}


class ViewMaker:
    """Two views of every row of a batch of right-aligned index sequences.

    Example:
        >>> from recaug_spark.config import ReorderOp
        >>> maker = ViewMaker((ReorderOp(op="reorder", beta=1.0),), seed=1, mask_index=None, similar={})
        >>> one, two = maker.views(np.array([[0, 1, 2, 3]]), np.array([5]), epoch=0, width=4)
        >>> int(one[0, 0]), sorted(one[0, 1:].tolist()), sorted(two[0, 1:].tolist())  # shuffled, still right-aligned
        (0, [1, 2, 3], [1, 2, 3])
    """

    def __init__(
        self,
        ops: Sequence[ViewOp],
        *,
        seed: int,
        mask_index: int | None,
        similar: Mapping[int, Sequence[int]],
        batched: bool = True,
    ) -> None:
        table = SimilarItems(similar)
        self.similar = dict(similar)
        self.ops = tuple(ops)
        self.seed = seed
        self.mask_index = mask_index
        self.kernels = [recipes.item_kernel(op, recipes.Lookups(similar=lambda: table)) for op in self.ops]
        self.tokens = [recipes.token(op) for op in self.ops]
        # ``batched=False`` runs every op's item kernel row by row (the reference the batch forms match).
        self.batch = [BATCH.get(type(op)) if batched and (t is None or mask_index is not None) else None
                      for op, t in zip(self.ops, self.tokens, strict=True)]  # fmt: skip

    def spec(self) -> dict[str, object]:
        """What rebuilds this maker in another process (its kernels are closures)."""
        return {"ops": self.ops, "seed": self.seed, "mask_index": self.mask_index, "similar": self.similar}

    def views(self, rows: np.ndarray, keys: np.ndarray, *, epoch: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(B, width) right-aligned views 0 and 1 of ``rows`` (B, any), ``keys`` the rows' stable ids."""
        keys = np.asarray(keys, dtype=np.uint64)
        rows = np.asarray(rows, dtype=np.int64)
        lengths = (rows != PAD).sum(axis=1)
        items = np.take_along_axis(rows, np.argsort(rows == PAD, axis=1, kind="stable"), axis=1)  # left-aligned
        if items.shape[1] < width:  # room for a row an op lengthens (insert) up to the view's width
            items = np.pad(items, ((0, 0), (0, width - items.shape[1])), constant_values=PAD)
        label = f"cl{epoch}"
        out = []
        for view in (0, 1):
            choice = Draws.of(seed=self.seed, op=f"{label}:choice", copy=view, keys=keys).uniform(0)
            picks = np.minimum((choice * len(self.ops)).astype(np.int64), len(self.ops) - 1)
            edited, edited_lengths = items.copy(), lengths.copy()
            for pick in np.unique(picks):
                at = np.flatnonzero(picks == pick)
                draws = Draws.of(seed=self.seed, op=f"{label}:{pick}", copy=view, keys=keys[at])
                batch = self.batch[pick]
                if batch is not None:
                    edited[at], edited_lengths[at] = batch(
                        self.ops[pick], items[at], lengths[at], draws, self.mask_index
                    )
                else:
                    for r in at:
                        values = self._edit_row(pick, items[r, : lengths[r]], keys[r], draws.stream, view)
                        values = values[-width:] if len(values) else values  # the view keeps the last width
                        edited_lengths[r] = len(values)
                        edited[r] = PAD
                        edited[r, : len(values)] = values
            empty = edited_lengths == 0  # an op left nothing: the original items
            edited[empty], edited_lengths[empty] = items[empty], lengths[empty]
            out.append(_right_aligned(edited, edited_lengths, width))
        return out[0], out[1]

    def _edit_row(self, pick: int, items: np.ndarray, key: np.uint64, stream: np.uint64, view: int) -> np.ndarray:
        """One row through the op's item kernel (its token replaced by the mask index)."""
        edited = self.kernels[pick](items.astype(object), Draws(stream, np.array([key], dtype=np.uint64), view)).items
        token = self.tokens[pick]
        if token is not None:
            if self.mask_index is None:
                raise ValueError(
                    f"view op {type(self.ops[pick]).__name__} writes a token: the model needs a mask index"
                )
            edited = np.where(edited == token, self.mask_index, edited)
        return np.asarray(edited, dtype=np.int64)


def _right_aligned(items: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The last ``width`` of each row's first lengths[r] items, right-aligned, PAD before."""
    source = lengths[:, None] - width + np.arange(width)
    picked = np.take_along_axis(items, np.clip(source, 0, items.shape[1] - 1), axis=1)
    aligned: np.ndarray = np.where(source >= 0, picked, PAD)
    return aligned
