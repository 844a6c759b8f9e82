"""pseudo_prior's kernel (augment/prior.py) under hypothesis: the drawn items come first, from the
catalogue and outside the history, the history follows unchanged, and the draw is a function of the key."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.augment.prior import PriorModel, pseudo_prior
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.draw import Sampling
from recaug_spark.recommend.sasrec.model import Architecture, SASRec
from recaug_spark.rng import Draws

CATALOGUE = tuple(f"i{j:02d}" for j in range(15))


def _prior() -> PriorModel:
    torch.manual_seed(1)
    arch = Architecture(items=len(CATALOGUE), max_len=4, hidden=8, inner=8, layers=1, heads=1, dropout=0.0)
    packed = SasrecArtifact.pack(SASRec(arch).state_dict(), version="t", architecture=arch, item_ids=CATALOGUE, info={})
    return PriorModel.of(SasrecArtifact.from_files(packed.files(), where="test"))


PRIOR = _prior()


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.integers(0, 16), min_size=1, max_size=8),  # 15, 16: items outside the catalogue
    k=st.integers(1, 5),
    key=st.integers(0, 2**63),
    top_p=st.sampled_from([0.5, 1.0]),
)
def test_the_prior_is_k_new_catalogue_items_before_the_unchanged_history(
    picks: list[int], k: int, key: int, top_p: float
) -> None:
    items = np.array([CATALOGUE[p] if p < len(CATALOGUE) else f"new{p}" for p in picks], dtype=object)
    draws = Draws.of(seed=7, op="0:pseudo_prior", copy=0, keys=np.array([key], dtype=np.uint64))
    edit = pseudo_prior(items, draws, k=k, sampling=Sampling(top_p=top_p), prior=PRIOR)
    n = len(items)
    assert len(edit.items) == n + k
    assert edit.items[k:].tolist() == items.tolist() and edit.source.tolist() == [0] * k + list(range(n))
    assert edit.changed.tolist() == [True] * k + [False] * n
    drawn = edit.items[:k].tolist()
    assert set(drawn) <= set(CATALOGUE) and len(set(drawn)) == k and not set(drawn) & set(items.tolist())
    again = pseudo_prior(items, draws, k=k, sampling=Sampling(top_p=top_p), prior=PRIOR)
    assert again.items.tolist() == edit.items.tolist()
