"""Condition vectors and sampling: how rows are drawn from a generator, in training and on executors.

A condition names one categorical column and one of its levels (a one-hot in that column's block of the
condition vector). Training draws the column uniformly and the level by log-frequency
(training-by-sampling: rare levels are seen often enough to be learnt), then picks a real row with that
level for the critic. Generation draws levels by their plain frequency, or takes them from the caller
(a fixed level, a table of cold-start users' segments). Every draw comes from generators the caller
seeds, so a batch is a function of its seed only. Pure numpy/torch/pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from recaug_spark.gan.columns import SpanInfo
from recaug_spark.gan.model import Generator, activate
from recaug_spark.gan.transform import DataTransformer


@dataclass(frozen=True)
class ConditionLayout:
    """Where each categorical column lives in the data matrix and in the condition vector.

    Example:
        >>> layout = ConditionLayout.of(DataTransformer.fit(
        ...     pd.DataFrame({"t": ["a", "a", "b"], "x": [1.0, 2.0, 3.0]}), continuous=["x"], categorical=["t"]))
        >>> layout.cond_dim, layout.vectors(np.array([0]), np.array([1])).tolist()
        (2, [[0.0, 1.0]])
    """

    columns: tuple[str, ...]
    data_starts: tuple[int, ...]  # first matrix column of each categorical's one-hot span
    sizes: tuple[int, ...]  # levels per column
    cond_starts: tuple[int, ...]  # first condition-vector position of each column
    frequencies: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, transformer: DataTransformer) -> ConditionLayout:
        spans = transformer.categorical_spans()
        freq = {c.name: c.frequencies for c in transformer.categorical}
        sizes = tuple(size for _, _, size in spans)
        return cls(
            columns=tuple(name for name, _, _ in spans),
            data_starts=tuple(start for _, start, _ in spans),
            sizes=sizes,
            cond_starts=tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)[:-1]])) if sizes else (),
            frequencies=tuple(tuple(freq[name]) for name, _, _ in spans),
        )

    @property
    def cond_dim(self) -> int:
        return int(sum(self.sizes))

    def column_index(self, name: str) -> int:
        """Position of categorical column ``name``; ValueError naming the known ones otherwise."""
        if name not in self.columns:
            raise ValueError(f"'{name}' is not a categorical column of the generator; it has {list(self.columns)}")
        return self.columns.index(name)

    def vectors(self, column: np.ndarray, level: np.ndarray) -> np.ndarray:
        """One-hot condition vectors (float32) for (column index, level index) per row."""
        out = np.zeros((len(column), self.cond_dim), dtype=np.float32)
        if len(column):
            out[np.arange(len(column)), np.asarray(self.cond_starts)[column] + level] = 1.0
        return out

    def draw(self, n: int, rng: np.random.Generator, *, log_frequency: bool) -> tuple[np.ndarray, np.ndarray]:
        """A column (uniform) and a level (by frequency, or log(1 + frequency x n_levels)) per row."""
        column = rng.integers(0, len(self.columns), size=n)
        level = np.zeros(n, dtype=np.int64)
        u = rng.random(n)
        for c, freq in enumerate(self.frequencies):  # one vectorized draw per column, not per row
            p = np.asarray(freq, dtype=np.float64)
            if log_frequency:
                p = np.log1p(p * 10_000.0)  # log of counts per 10k rows: rare levels get a fair share
            cdf = np.cumsum(p / p.sum())
            rows = column == c
            level[rows] = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(p) - 1)
        return column, level


class RealRowIndex:
    """Training-by-sampling: for a (column, level), a uniformly drawn real row with that level.

    Keeps, per categorical column, the row order sorted by level (int32 positions, in memory only;
    nothing of it goes into the artifact).
    """

    def __init__(self, data: np.ndarray, layout: ConditionLayout) -> None:
        self.order: list[np.ndarray] = []
        self.bounds: list[np.ndarray] = []
        for start, size in zip(layout.data_starts, layout.sizes, strict=True):
            levels = data[:, start : start + size].argmax(axis=1)
            self.order.append(np.argsort(levels, kind="stable").astype(np.int32))
            self.bounds.append(np.searchsorted(np.sort(levels), np.arange(size + 1)))

    def draw(self, column: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Row positions, one per (column, level); a level without rows gets a random row."""
        u = rng.random(len(column))
        rows = np.empty(len(column), dtype=np.int64)
        for c, (order, bounds) in enumerate(zip(self.order, self.bounds, strict=True)):
            pick = column == c
            lo, hi = bounds[level[pick]], bounds[level[pick] + 1]
            empty = hi == lo
            lo, hi = np.where(empty, 0, lo), np.where(empty, len(order), hi)
            rows[pick] = order[lo + np.floor(u[pick] * (hi - lo)).astype(np.int64)]
        return rows


def generate_rows(
    generator: Generator,
    transformer: DataTransformer,
    spans: Sequence[SpanInfo],
    cond: np.ndarray,
    *,
    embedding_dim: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Rows from ``generator`` (in eval mode) under the condition vectors ``cond``, one row each.

    The noise and the Gumbel draws come from a torch generator seeded with ``seed``: the same seed and
    conditions give the same rows, whatever else runs in the process.
    """
    torch_rng = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        z = torch.randn((len(cond), embedding_dim), generator=torch_rng, device=device)
        raw = generator(z, torch.from_numpy(cond).to(device))
        data = activate(raw, spans, generator=torch_rng, hard=True)
    return transformer.inverse_transform(data.cpu().numpy())


def flat_spans(transformer: DataTransformer) -> list[SpanInfo]:
    """Every span of the transformer's output, in matrix order."""
    return [span for _, column_spans in transformer.spans() for span in column_spans]
