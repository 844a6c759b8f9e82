"""CL4SRec's augmented views, made on the fly for each training batch by the augment stage's own item
kernels (augment/recipes.py ``item_kernel``: the ops whose specs say ``view``, augment/ops.py: crop, mask,
reorder, substitute, insert) on index sequences.

View ``v`` (0 or 1) of training row ``r`` in epoch ``e`` uses one op drawn uniformly from the configured
ops, and the op's draws, all from the keyed generator by (seed, ``cl<e>``, v, r): the same seed gives
the same views whatever the batch a row lands in. An op's token (a mask's) is the model's mask index; a view
that an op would leave empty keeps the original items. Pure numpy: no Spark, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from recaug_spark.augment import recipes
from recaug_spark.augment.sequence import SimilarItems
from recaug_spark.config import ViewOp
from recaug_spark.recommend.sasrec.model import PAD
from recaug_spark.rng import Draws


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
        self, ops: Sequence[ViewOp], *, seed: int, mask_index: int | None, similar: Mapping[int, Sequence[int]]
    ) -> None:
        table = SimilarItems(similar)
        self.similar = dict(similar)
        self.ops = tuple(ops)
        self.seed = seed
        self.mask_index = mask_index
        self.kernels = [recipes.item_kernel(op, lambda: table) for op in self.ops]
        self.tokens = [recipes.token(op) for op in self.ops]

    def spec(self) -> dict[str, object]:
        """What rebuilds this maker in another process (its kernels are closures)."""
        return {"ops": self.ops, "seed": self.seed, "mask_index": self.mask_index, "similar": self.similar}

    def views(self, rows: np.ndarray, keys: np.ndarray, *, epoch: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(B, width) right-aligned views 0 and 1 of ``rows`` (B, any), ``keys`` the rows' stable ids."""
        keys = np.asarray(keys, dtype=np.uint64)
        label = f"cl{epoch}"
        out = []
        for view in (0, 1):
            choice = Draws.of(seed=self.seed, op=f"{label}:choice", copy=view, keys=keys).uniform(0)
            picks = np.minimum((choice * len(self.ops)).astype(np.int64), len(self.ops) - 1)
            matrix = np.zeros((len(rows), width), dtype=np.int64)
            for i, (row, key, pick) in enumerate(zip(rows, keys, picks, strict=True)):
                items = row[row != PAD]
                draws = Draws.of(seed=self.seed, op=f"{label}:{pick}", copy=view, keys=np.array([key]))
                edited = self.kernels[pick](items.astype(object), draws).items
                token = self.tokens[pick]
                if token is not None:
                    edited = np.where(edited == token, self.mask_index, edited)
                values = np.asarray(edited, dtype=np.int64) if len(edited) else items
                values = values[-width:]
                matrix[i, width - len(values) :] = values
            out.append(matrix)
        return out[0], out[1]
