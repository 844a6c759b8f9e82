"""pseudo_prior's kernel, after ASReP (Liu et al., SIGIR 2021): a SASRec trained on reversed training
sequences reads a short history backwards and draws the ``k`` items that came *before* it, so a short
user's copy becomes a plausible longer history (pure numpy/torch; the model is trained in
augment/prior_model.py and reaches the executors as a broadcast artifact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recaug_spark.augment.sequence import Edit
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.draw import Sampling, draw
from recaug_spark.recommend.sasrec.model import SASRec
from recaug_spark.rng import Draws


@dataclass(frozen=True)
class PriorModel:
    """The reversed-sequence SASRec and its catalogue: model index ``i >= 1`` is ``item_ids[i - 1]``."""

    model: SASRec
    item_ids: np.ndarray  # object array
    index: dict[object, int]

    @classmethod
    def of(cls, artifact: SasrecArtifact) -> PriorModel:
        ids = np.asarray(artifact.item_ids, dtype=object)
        return cls(artifact.model().eval(), ids, {item: i + 1 for i, item in enumerate(ids.tolist())})


def pseudo_prior(items: np.ndarray, draws: Draws, *, k: int, sampling: Sampling, prior: PriorModel) -> Edit:
    """``k`` drawn items, then the sequence: the model reads the sequence newest first (its items outside
    the catalogue left out) and draws the item before it, ``k`` times; the draws (one uniform per
    generated position) are the sequence's, so they depend on its key only.

    Returns:
        Output rows ``0 .. k - 1`` are the drawn items, oldest first, each derived from the first event
        (``source`` 0, ``changed``); rows ``k ..`` are the sequence unchanged.
    """
    items = np.asarray(items)
    n = len(items)
    known = [prior.index[item] for item in items.tolist() if item in prior.index]
    width = prior.model.arch.max_len
    backwards = np.asarray(known[::-1][-width:], dtype=np.int64)
    history = np.zeros((1, width), dtype=np.int64)
    if len(backwards):
        history[0, width - len(backwards) :] = backwards
    uniforms = draws.spread(k).uniform(0)[None, :]
    everything = np.asarray(known, dtype=np.int64)[None, :]
    drawn = draw(prior.model, history, uniforms, sampling, seen=everything)[0]  # the item before the first, ...
    before = prior.item_ids[drawn[::-1] - 1]
    out = np.concatenate([before, items.astype(object)])
    source = np.concatenate([np.zeros(k, dtype=np.int64), np.arange(n)])
    changed = np.concatenate([np.ones(k, dtype=bool), np.zeros(n, dtype=bool)])
    return Edit(source, out, changed)
