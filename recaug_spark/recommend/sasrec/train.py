"""SASRec training: next-item cross-entropy at every position, early stopping on a validation slice.

Loss: full softmax over the catalogue while it has at most ``full_softmax_max_items`` items; above
that, sampled softmax with ``negatives`` uniform negatives shared by the batch and the logQ
correction (gSASRec-style): each negative's logit is shifted by ``-log(K q) = log(N / K)`` so that
``exp(pos) + sum exp(neg + log(N / K))`` is an unbiased estimate of the full partition function; a
negative equal to the target (an accidental hit) is masked out.

Validation (early stopping, ``patience``, budget ``epochs``): NDCG@10 of each validation user's last
training item, ranked over the full catalogue with the items of the input left out and ties broken by
item index (the item id order's proxy is not needed: a tie with the target counts against it only for
smaller indices). The weights of the best epoch are kept. The test period is never seen here.

Seeded: the initial weights, the shuffling, the dropout masks and the negatives all derive from
``seed``, so the same data and config give the same weights on the same device and thread count.
Pure torch/numpy: no Spark.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from recaug_spark.config import SasrecConfig
from recaug_spark.distributed import agree, all_reduce_grads, pick_device
from recaug_spark.recommend.sasrec.model import PAD, Architecture, SASRec
from recaug_spark.recommend.sasrec.views import ViewMaker

log = logging.getLogger(__name__)

VALIDATION_K = 10


@dataclass(frozen=True)
class TrainingData:
    """The tensors training reads, built in Spark (recommend/sasrec/sequences.py).

    ``sequences``: (n, max_len + 1) int64, right-aligned item indices (0 = padding): position t's
    input is column t, its target column t + 1. ``valid_inputs`` (m, max_len) and ``valid_targets``
    (m,): each validation user's history without its last training item, and that item.
    """

    sequences: np.ndarray
    valid_inputs: np.ndarray
    valid_targets: np.ndarray
    items: int

    def __post_init__(self) -> None:
        if self.sequences.ndim != 2 or self.valid_inputs.ndim != 2:
            raise ValueError("sequences and valid_inputs must be 2-d index matrices")
        if len(self.valid_inputs) != len(self.valid_targets):
            raise ValueError(f"{len(self.valid_inputs)} validation inputs but {len(self.valid_targets)} targets")


@dataclass(frozen=True)
class EpochStats:
    """Progress of one epoch (one log line)."""

    epoch: int
    loss: float
    ndcg_at_10: float
    seconds: float
    sequences_per_second: float


@dataclass
class TrainedSasrec:
    """The best epoch's weights (CPU tensors) and how training got there."""

    state: dict[str, torch.Tensor]
    architecture: Architecture
    history: list[EpochStats] = field(default_factory=list)
    best_epoch: int = 0
    best_ndcg: float = 0.0
    stopped_early: bool = False
    device: str = "cpu"
    loss: str = "full_softmax"
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        """JSON-able training metadata (for the artifact and the report)."""
        return {
            "epochs_run": len(self.history), "best_epoch": self.best_epoch, "best_ndcg_at_10": self.best_ndcg,
            "stopped_early": self.stopped_early, "device": self.device, "loss": self.loss,
            "seconds": round(self.seconds, 3), "history": [asdict(h) for h in self.history],
        }  # fmt: skip


def full_softmax_loss(model: SASRec, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the target index (1-based) against every catalogue item."""
    return F.cross_entropy(model.logits(hidden), targets - 1)


def sampled_softmax_loss(
    model: SASRec, hidden: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """Mean sampled-softmax cross-entropy with uniform ``negatives`` (K indices, 1-based) and logQ.

    Example:
        >>> torch.manual_seed(0) and None
        >>> m = SASRec(Architecture(items=4, max_len=2, hidden=4, inner=4, layers=1, heads=1, dropout=0.0))
        >>> h, t = torch.randn(3, 4), torch.tensor([1, 2, 3])
        >>> full = sampled_softmax_loss(m, h, t, torch.tensor([1, 2, 3, 4]))  # K = N: every item once
        >>> bool(torch.isclose(full, full_softmax_loss(m, h, t)))  # the target is masked among negatives
        True
    """
    table = model.items.weight
    positive = (hidden * table[targets]).sum(-1, keepdim=True)
    shift = math.log(model.arch.items / len(negatives))  # -log(K q), q = 1 / N
    sampled = hidden @ table[negatives].T + shift
    sampled = sampled.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    return (torch.logsumexp(torch.cat([positive, sampled], dim=1), dim=1) - positive[:, 0]).mean()


def info_nce(first: torch.Tensor, second: torch.Tensor, *, tau: float) -> torch.Tensor:
    """CL4SRec's InfoNCE: for 2B views (B, H) + (B, H), each view's partner is the positive and the other
    2B - 2 views of the batch the negatives; dot-product similarity / ``tau``; the mean cross-entropy.

    Example:
        >>> a, b = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(info_nce(a, b, tau=1.0).item(), 4)  # -log(e / (e + 1 + 1)) for every view
        0.5514
    """
    views = torch.cat([first, second])
    similarity = (views @ views.T / tau).fill_diagonal_(float("-inf"))
    n = len(first)
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(views.device)
    return F.cross_entropy(similarity, partner)


def batches(n: int, size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """A shuffled pass over ``range(n)`` in batches of ``size`` (the last one smaller)."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, size):
        yield order[start : start + size]


def step_loss(model: SASRec, seqs: torch.Tensor, *, negatives: torch.Tensor | None) -> torch.Tensor:
    """The loss of one batch of (B, max_len + 1) sequences: every position with an item and a next item."""
    used = int((seqs != PAD).any(0).nonzero()[0, 0]) if bool((seqs != PAD).any()) else seqs.shape[1] - 1
    seqs = seqs[:, min(used, seqs.shape[1] - 2) :]  # right-aligned: drop the leading all-padding columns
    inputs, targets = seqs[:, :-1], seqs[:, 1:]
    valid = (inputs != PAD) & (targets != PAD)
    if not bool(valid.any()):  # nothing to predict (an empty share of a batch): a zero loss, zero gradients
        return model.items.weight.sum() * 0.0
    hidden = model(inputs)[valid]
    if negatives is None:
        return full_softmax_loss(model, hidden, targets[valid])
    return sampled_softmax_loss(model, hidden, targets[valid], negatives)


def mask_items(scores: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``scores`` (B, N) with the items of ``indices`` (B, any; 1-based, 0 = padding) set to -inf.

    Example:
        >>> mask_items(torch.zeros(1, 3), torch.tensor([[0, 3, 1]])).tolist()
        [[-inf, 0.0, -inf]]
    """
    padded = torch.cat([torch.zeros_like(scores[:, :1]), scores], dim=1)  # column 0: the padding
    return padded.scatter(1, indices, float("-inf"))[:, 1:]


@torch.no_grad()
def validation_ndcg(model: SASRec, inputs: torch.Tensor, targets: torch.Tensor, *, chunk: int = 1024) -> float:
    """Mean NDCG@10 of ``targets`` (one relevant item each) over the catalogue, input items left out."""
    if len(targets) == 0:
        return 0.0
    model.eval()
    total = 0.0
    for start in range(0, len(targets), chunk):
        seqs, target = inputs[start : start + chunk], targets[start : start + chunk]
        scores = mask_items(model.logits(model.last_hidden(seqs)), seqs)
        own = scores.gather(1, (target - 1)[:, None])
        index = torch.arange(scores.shape[1], device=scores.device)[None, :]
        rank = ((scores > own) | ((scores == own) & (index < (target - 1)[:, None]))).sum(1)
        total += torch.where(rank < VALIDATION_K, 1.0 / torch.log2(rank.double() + 2), 0.0).sum().item()
    return total / len(targets)


def train(
    data: TrainingData,
    conf: SasrecConfig,
    *,
    seed: int,
    views: ViewMaker | None = None,
    rank: int = 0,
    world: int = 1,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainedSasrec:
    """Train SASRec on ``data`` with ``conf``; the weights of the epoch with the best validation NDCG@10.

    With ``views`` (the variant ``real+contrastive``), each batch adds ``contrastive.lambda`` x the
    InfoNCE loss of two views of its sequences (recommend/sasrec/views.py). With ``world > 1`` (one
    process per rank, recaug_spark/distributed.py) every rank shuffles alike and takes its share of each
    batch, gradients are averaged before each step, and rank 0 validates and decides for all.
    Torch threads: ``conf.threads``, or every core of the machine (set explicitly, restored after).
    """
    started = time.perf_counter()
    device = pick_device(conf.device, key="evaluate.sasrec.device")
    threads = torch.get_num_threads()
    if world == 1:
        torch.set_num_threads(conf.threads or os.cpu_count() or 1)
    try:
        arch = Architecture(
            items=data.items, max_len=conf.max_len, hidden=conf.hidden, inner=conf.inner, layers=conf.layers,
            heads=conf.heads, dropout=conf.dropout, mask_token=views is not None and views.mask_index is not None,
        )  # fmt: skip
        torch.manual_seed(seed)  # initial weights (equal on every rank) and dropout
        model = SASRec(arch).to(device)
        if world > 1:
            torch.manual_seed(seed * 7919 + rank)  # each rank its own dropout masks
        optimizer = torch.optim.Adam(model.parameters(), lr=conf.lr, weight_decay=conf.weight_decay)
        generator = torch.Generator().manual_seed(seed)  # shuffling and negatives, on the CPU
        sampled = data.items > conf.full_softmax_max_items
        sequences = torch.from_numpy(data.sequences).to(device)
        valid_inputs = torch.from_numpy(data.valid_inputs).to(device)
        valid_targets = torch.from_numpy(data.valid_targets).to(device)
        result = TrainedSasrec(
            state={}, architecture=arch, device=str(device), loss="sampled_softmax" if sampled else "full_softmax"
        )
        best, since_best = -1.0, 0
        for epoch in range(1, conf.epochs + 1):
            tick = time.perf_counter()
            model.train()
            total, steps = 0.0, 0
            for batch in batches(len(sequences), conf.batch_size, generator):
                negatives = None
                if sampled:
                    negatives = torch.randint(1, data.items + 1, (conf.negatives,), generator=generator).to(device)
                rows = batch[rank::world]
                loss = step_loss(model, sequences[rows.to(device)], negatives=negatives)
                if views is not None and len(rows):
                    pair = views.views(data.sequences[rows.numpy()], rows.numpy(), epoch=epoch, width=conf.max_len)
                    first, second = (model.last_hidden(torch.from_numpy(v).to(device)) for v in pair)
                    loss = loss + conf.contrastive.weight * info_nce(first, second, tau=conf.contrastive.tau)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                all_reduce_grads(model, world)
                optimizer.step()
                total, steps = total + loss.item(), steps + 1
            ndcg = validation_ndcg(model, valid_inputs, valid_targets) if rank == 0 else 0.0
            seconds = time.perf_counter() - tick
            stats = EpochStats(epoch, total / max(steps, 1), ndcg, seconds, len(sequences) / max(seconds, 1e-9))
            result.history.append(stats)
            if rank == 0:
                log.info(
                    "sasrec epoch %d/%d: loss %.4f, validation NDCG@10 %.4f, %.1f s, %s x %d",
                    epoch, conf.epochs, stats.loss, ndcg, seconds, device, world,
                )  # fmt: skip
            if on_epoch is not None:
                on_epoch(stats)
            if agree(ndcg > best, world, device):
                best, since_best = ndcg, 0
                result.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                result.best_epoch, result.best_ndcg = epoch, ndcg
            else:
                since_best += 1
                if since_best >= conf.patience:
                    result.stopped_early = True
                    break
        result.seconds = time.perf_counter() - started
        return result
    finally:
        torch.set_num_threads(threads)
