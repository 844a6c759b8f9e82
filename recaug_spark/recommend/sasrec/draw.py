"""Items drawn from a trained SASRec's next-item distribution (pure numpy/torch, no Spark).

Given right-aligned histories (model indices, ``0`` the padding), :func:`draw` appends ``steps`` items
one at a time: at each step the model reads the history and the items drawn so far, its scores over
the catalogue are divided by a temperature, restricted to the items the step allows (a category, and
not the history's own items when asked), cut to the nucleus of mass ``top_p`` and sampled by inverse
CDF with one keyed uniform per (row, step). The uniforms come from the caller's keyed generator
(recaug_spark/rng.py), so a row's items depend on its key, not on the rows it shares a batch with
(up to the float rounding of a batched forward pass). Model-based synthetic items and pseudo_prior's
reversed histories are both this kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recaug_spark.recommend.sasrec.model import SASRec

ANY = -1
"""A step's category that restricts nothing."""


@dataclass(frozen=True)
class Sampling:
    """How a next item is drawn from the model's scores.

    Args:
        temperature: scores are divided by it before the softmax (< 1 sharper, > 1 flatter).
        top_p: the nucleus: the most probable items whose mass first reaches ``top_p`` (1 = all).
        exclude_seen: leave out the history's items and those already drawn.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    exclude_seen: bool = True

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


def nucleus(probabilities: torch.Tensor, top_p: float) -> torch.Tensor:
    """Per row, the smallest set of most probable columns whose mass reaches ``top_p`` (ties by column
    ascending), the rest set to 0; not renormalised (:func:`inverse_cdf` scales by the row's total).

    Example:
        >>> nucleus(torch.tensor([[0.125, 0.5, 0.375]]), 0.8).tolist()
        [[0.0, 0.5, 0.375]]
    """
    if top_p >= 1:
        return probabilities
    ordered, columns = torch.sort(probabilities, dim=1, descending=True, stable=True)
    before = torch.cumsum(ordered, dim=1) - ordered  # the mass of the more probable columns
    keep = before < top_p * ordered.sum(dim=1, keepdim=True)
    keep[:, 0] = True
    kept = torch.zeros_like(probabilities)
    return kept.scatter(1, columns, torch.where(keep, ordered, torch.zeros_like(ordered)))


def inverse_cdf(weights: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Per row, the column c whose cumulative weight first exceeds ``u x total`` (``uniforms`` in [0, 1)):
    column c with probability weight / total; a zero-weight column is never drawn.

    Example:
        >>> inverse_cdf(torch.tensor([[0.0, 1.0, 3.0]]), torch.tensor([0.2])).tolist()  # 0.8 < 1
        [1]
    """
    cumulative = torch.cumsum(weights, dim=1)
    target = uniforms.to(cumulative.dtype)[:, None] * cumulative[:, -1:]
    drawn = torch.searchsorted(cumulative, target, right=True)[:, 0]
    return torch.clamp(drawn, max=weights.shape[1] - 1)


@torch.no_grad()
def draw(
    model: SASRec,
    histories: np.ndarray,
    uniforms: np.ndarray,
    sampling: Sampling,
    *,
    categories: np.ndarray | None = None,
    item_category: np.ndarray | None = None,
    seen: np.ndarray | None = None,
) -> np.ndarray:
    """``steps`` items after each history, each read back as history for the next.

    Args:
        model: the network (put in eval mode here).
        histories: (B, L) int64, right-aligned model indices (0 the padding), L <= the model's max_len.
        uniforms: (B, steps) in [0, 1): the keyed draws, one per row and step.
        sampling: temperature, nucleus and whether seen items are left out.
        categories: (B, steps) int64, the category code each step's item must have (:data:`ANY`: any).
            A step whose category has no unseen item draws from the unseen items of any category, and
            one with no unseen item at all from the whole catalogue.
        item_category: (items,) int64, each model column's category code (column c = index c + 1).
        seen: (B, any) int64 model indices (0 the padding) seen besides the histories' own (a history
            longer than the model reads): never drawn when ``sampling.exclude_seen``.

    Returns:
        (B, steps) int64 model indices (>= 1: catalogue items only).
    """
    model.eval()
    rows, steps = uniforms.shape
    items = model.arch.items
    if (categories is None) != (item_category is None):
        raise ValueError("categories and item_category come together")
    context = torch.from_numpy(np.ascontiguousarray(histories, dtype=np.int64))
    excluded = torch.zeros(rows, items + 1, dtype=torch.bool)
    excluded.scatter_(1, context, True)
    if seen is not None:
        excluded.scatter_(1, torch.from_numpy(np.ascontiguousarray(seen, dtype=np.int64)), True)
    drawn = np.zeros((rows, steps), dtype=np.int64)
    for step in range(steps):
        scores = model.logits(model.last_hidden(context)).double() / sampling.temperature
        allowed = torch.ones(rows, items, dtype=torch.bool)
        if categories is not None and item_category is not None:
            wanted = torch.from_numpy(categories[:, step].astype(np.int64))[:, None]
            allowed = (torch.from_numpy(item_category.astype(np.int64))[None, :] == wanted) | (wanted == ANY)
        if sampling.exclude_seen:
            unseen = ~excluded[:, 1:]
            narrowed = allowed & unseen
            allowed = torch.where(narrowed.any(dim=1, keepdim=True), narrowed, unseen)
        allowed[~allowed.any(dim=1)] = True
        probabilities = torch.softmax(scores.masked_fill(~allowed, -torch.inf), dim=1)
        column = inverse_cdf(nucleus(probabilities, sampling.top_p), torch.from_numpy(uniforms[:, step]))
        index = column + 1
        drawn[:, step] = index.numpy()
        excluded[torch.arange(rows), index] = True
        context = torch.cat([context[:, 1:], index[:, None]], dim=1)
    return drawn
