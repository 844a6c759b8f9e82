"""Scoring kernels for SASRec (pure numpy/torch/pyarrow, no Spark): index lists as right-aligned
matrices, and each user's top K over the full catalogue with their training items left out and ties
broken by item id ascending (the same order as every other model's lists, recommend/ranking.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.model import SASRec


def right_aligned(lists: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """(n, width) int64: each list's last ``width`` values at the right, 0 (the padding) before them.

    Example:
        >>> right_aligned(pa.array([[1, 2, 3], [4], []]), 2).tolist()
        [[2, 3], [0, 4], [0, 0]]
    """
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    offsets = lists.offsets.to_numpy().astype(np.int64) - lists.offsets[0].as_py()
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    n = len(lists)
    lengths = np.minimum(np.diff(offsets), width)
    out = np.zeros((n, width), dtype=np.int64)
    rows = np.repeat(np.arange(n), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, width - np.repeat(lengths, lengths) + within] = values[np.repeat(offsets[1:] - lengths, lengths) + within]
    return out


@dataclass(frozen=True)
class Scorer:
    """A model ready to rank: the network, and its columns in item id order."""

    model: SASRec
    order: np.ndarray  # model column (0-based) of each item, in item id order
    sorted_ids: np.ndarray  # item ids in id order (object array)

    @classmethod
    def of(cls, artifact: SasrecArtifact) -> Scorer:
        ids = np.asarray(artifact.item_ids, dtype=object)
        order = np.argsort(ids.astype(str), kind="stable")  # code point order = UTF-8 byte order (Spark's)
        return cls(artifact.model(), order, ids[order])

    @torch.no_grad()
    def top(self, seqs: np.ndarray, seen: np.ndarray, k: int) -> list[list[str]]:
        """Each row's ``k`` best item ids: ``seqs`` (B, max_len) right-aligned inputs, ``seen`` (B, any)
        indices to leave out (0 = padding); ties by item id; fewer when the catalogue runs out."""
        inputs = torch.from_numpy(seqs)
        scores = self.model.logits(self.model.last_hidden(inputs)).double().numpy()
        padded = np.concatenate([np.zeros((len(scores), 1)), scores], axis=1)
        np.put_along_axis(padded, seen, -np.inf, axis=1)
        ranked = top_k_columns(padded[:, 1:][:, self.order], k)
        return [self.sorted_ids[row[np.isfinite(score)]].tolist() for row, score in ranked]


def top_k_columns(scores: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row, the columns of the ``k`` largest scores, best first, ties by column ascending, with
    their scores (-inf scores included: the caller drops them).

    Example:
        >>> [c.tolist() for c, _ in top_k_columns(np.array([[1.0, 3.0, 3.0, 2.0]]), 3)]
        [[1, 2, 3]]
    """
    n, width = scores.shape
    k = min(k, width)
    if k == 0:
        return [(np.empty(0, dtype=np.int64), np.empty(0)) for _ in range(n)]
    threshold = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # the k-th largest per row
    greater = scores > threshold
    equal = scores == threshold
    need = k - greater.sum(axis=1, keepdims=True)
    chosen = greater | (equal & (np.cumsum(equal, axis=1) <= need))  # exactly k per row, smallest columns first
    columns = np.nonzero(chosen)[1].reshape(n, k)
    values = np.take_along_axis(scores, columns, axis=1)
    best = np.argsort(-values, axis=1, kind="stable")  # stable: equal scores keep column order
    columns, values = np.take_along_axis(columns, best, axis=1), np.take_along_axis(values, best, axis=1)
    return list(zip(columns, values, strict=True))
