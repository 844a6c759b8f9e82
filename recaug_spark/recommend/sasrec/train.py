"""SASRec training: next-item cross-entropy at every position, a budget of optimizer steps, early
stopping on a validation slice.

Batches are bucketed by length: each pass over the sequences is a random order, stably sorted by
length and cut into batches of about ``batch_size`` x the mean number of targets per sequence targets,
in shuffled batch order. A batch then holds sequences of (nearly) one length: no work on padding
beyond the bucket, and every step sees about the same number of targets, so each target weighs the
same in the loss whatever the length of its sequence.

Loss: ``sampled_softmax`` (the default), cross-entropy of the target against ``negatives`` items shared
by the batch, drawn uniformly or, for a ``popularity_negatives`` share, by training popularity, with
the logQ correction: each negative's logit is shifted by ``-log(K q)`` (q its sampling probability)
so that ``exp(pos) + sum exp(neg - log(K q))`` is an unbiased estimate of the full partition function;
a negative equal to the target (an accidental hit) is masked out. ``full_softmax``: against every item.

Validation every ``eval_every`` steps: each validation user's last training item ranked over the full
catalogue with the items of the input left out, ties broken by item index against the target. Model
selection reads the MRR (the mean of 1 / rank: every rank counts, so it cannot freeze on zeros the way
NDCG@10 of a few thousand users does); NDCG@10 and HR@10 are logged beside it. Training stops after
``steps`` or, once ``min_steps`` are done, after ``patience`` validations without a better MRR; the
best validation's weights are kept. The test period is never seen here.

Seeded: the initial weights, the batches, the dropout masks and the negatives all derive from
``seed``, so the same data and config give the same weights on the same device and thread count.
Pure torch/numpy: no Spark.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from recaug_spark.config import SasrecConfig
from recaug_spark.distributed import agree, all_reduce_grads, available_cores, pick_device
from recaug_spark.recommend.sasrec.model import PAD, Architecture, SASRec
from recaug_spark.recommend.sasrec.views import ViewMaker

log = logging.getLogger(__name__)

VALIDATION_K = 10


@dataclass(frozen=True)
class TrainingData:
    """The tensors training reads, built in Spark (recommend/sasrec/sequences.py).

    ``sequences``: (n, max_len + 1) int64, right-aligned item indices (0 = padding): position t's
    input is column t, its target column t + 1. ``weights`` (n,): each sequence's weight in the loss
    (None: all 1), the sum over the equal sequences it stands for (a real window counts 1, an augmented
    or synthetic one ``augmented_weight`` / ``synthetic_weight``). ``valid_inputs`` (m, max_len) and
    ``valid_targets`` (m,): each validation user's history without its last training item, and that item.
    """

    sequences: np.ndarray
    valid_inputs: np.ndarray
    valid_targets: np.ndarray
    items: int
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.sequences.ndim != 2 or self.valid_inputs.ndim != 2:
            raise ValueError("sequences and valid_inputs must be 2-d index matrices")
        if len(self.valid_inputs) != len(self.valid_targets):
            raise ValueError(f"{len(self.valid_inputs)} validation inputs but {len(self.valid_targets)} targets")
        if self.weights is not None and self.weights.shape != (len(self.sequences),):
            raise ValueError(f"{self.weights.shape} weights for {len(self.sequences)} sequences")

    @property
    def targets(self) -> np.ndarray:
        """Targets per training sequence: its items less one (the first item is only an input)."""
        counts: np.ndarray = np.maximum((self.sequences != PAD).sum(axis=1) - 1, 0)
        return counts

    def popularity(self) -> np.ndarray:
        """(items,) how often each item is a training target, by weight (index i + 1 at position i)."""
        inputs = self.sequences[:, :-1] != PAD
        targets = self.sequences[:, 1:][inputs]
        weights = None if self.weights is None else np.broadcast_to(self.weights[:, None], inputs.shape)[inputs]
        counts: np.ndarray = np.bincount(targets, weights=weights, minlength=self.items + 1)[1:]
        return counts


@dataclass(frozen=True)
class Validation:
    """One validation (one log line): the step, the mean training loss since the previous validation,
    the validation measures and the seconds since training began."""

    step: int
    loss: float
    mrr: float
    ndcg_at_10: float
    hr_at_10: float
    seconds: float


@dataclass
class TrainedSasrec:
    """The best validation's weights (CPU tensors) and how training got there."""

    state: dict[str, torch.Tensor]
    architecture: Architecture
    history: list[Validation] = field(default_factory=list)
    best: Validation | None = None
    steps_run: int = 0
    stopped_early: bool = False
    device: str = "cpu"
    threads: int = 1
    loss: str = "sampled_softmax"
    seconds: float = 0.0

    @property
    def best_step(self) -> int:
        return self.best.step if self.best else 0

    @property
    def best_mrr(self) -> float:
        return self.best.mrr if self.best else 0.0

    @property
    def best_ndcg(self) -> float:
        return self.best.ndcg_at_10 if self.best else 0.0

    def summary(self) -> dict[str, object]:
        """JSON-able training metadata (for the artifact and the report)."""
        return {
            "steps_run": self.steps_run, "best_step": self.best_step, "best_mrr": self.best_mrr,
            "best_ndcg_at_10": self.best_ndcg, "stopped_early": self.stopped_early, "device": self.device,
            "threads": self.threads, "loss": self.loss, "seconds": round(self.seconds, 3),
            "history": [asdict(h) for h in self.history],
        }  # fmt: skip


def weighted_mean(losses: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``losses``, each counted ``weights`` times (None: once)."""
    return losses.mean() if weights is None else (losses * weights).sum() / weights.sum()


def full_softmax_loss(
    model: SASRec, hidden: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of the target index (1-based) against every catalogue item."""
    return weighted_mean(F.cross_entropy(model.logits(hidden), targets - 1, reduction="none"), weights)


def sampled_softmax_loss(
    model: SASRec,
    hidden: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    log_kq: torch.Tensor | None = None,
    *,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean sampled-softmax cross-entropy with ``negatives`` (K indices, 1-based) shared by the rows and
    the logQ correction ``log_kq`` = log(K q) of each negative (None: uniform, q = 1 / N); each row
    counted ``weights`` times (None: once).

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
    if log_kq is None:
        log_kq = torch.full((len(negatives),), math.log(len(negatives) / model.arch.items), device=hidden.device)
    sampled = hidden @ table[negatives].T - log_kq[None, :]
    sampled = sampled.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    losses = torch.logsumexp(torch.cat([positive, sampled], dim=1), dim=1) - positive[:, 0]
    return weighted_mean(losses, weights)


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


def bucketed_batches(targets: np.ndarray, size: int, generator: torch.Generator) -> Iterator[tuple[int, torch.Tensor]]:
    """Endless ``(pass, rows)``: each pass a random order of the sequences, stably sorted by their number
    of ``targets`` and cut into batches of about ``size`` x mean(targets) targets, in shuffled order.

    Example:
        >>> targets, g = np.array([1, 5, 1, 5, 1, 5]), torch.Generator().manual_seed(0)
        >>> one_pass = [rows for _, (_, rows) in zip(range(3), bucketed_batches(targets, 2, g))]
        >>> sorted(sorted(targets[r.numpy()].tolist()) for r in one_pass)  # runs of the length order, ~6 targets
        [[1, 1, 1, 5], [5], [5]]
    """
    counts = torch.from_numpy(np.asarray(targets, dtype=np.int64))
    budget = max(1.0, size * float(counts.double().mean())) if len(counts) else 1.0
    passes = 0
    while True:
        passes += 1
        order = torch.randperm(len(counts), generator=generator)
        order = order[torch.sort(counts[order], stable=True).indices]
        before = torch.cumsum(counts[order], 0) - counts[order]  # targets ahead of each row in this pass
        chunk = torch.div(before.double(), budget, rounding_mode="floor").long()
        bounds = torch.unique_consecutive(chunk, return_counts=True)[1].tolist()
        batches = torch.split(order, bounds)
        for i in torch.randperm(len(batches), generator=generator).tolist():
            yield passes, batches[i]


def trimmed(seqs: torch.Tensor, keep: int = 1) -> torch.Tensor:
    """Right-aligned rows without their leading all-padding columns (at least ``keep`` columns left)."""
    used = (seqs != PAD).any(0).nonzero()
    first = int(used[0, 0]) if len(used) else seqs.shape[1] - keep
    return seqs[:, min(first, seqs.shape[1] - keep) :]


def step_loss(
    model: SASRec,
    seqs: torch.Tensor,
    *,
    negatives: torch.Tensor | None,
    log_kq: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The mean loss of one batch of (B, max_len + 1) sequences over every position with an item and a
    next item, each sequence's targets counted ``weights`` (B,) times (None: once)."""
    seqs = trimmed(seqs, keep=2)
    inputs, targets = seqs[:, :-1], seqs[:, 1:]
    valid = (inputs != PAD) & (targets != PAD)
    if not bool(valid.any()):  # nothing to predict (an empty share of a batch): a zero loss, zero gradients
        return model.items.weight.sum() * 0.0
    hidden = model(inputs)[valid]
    per_target = None if weights is None else weights[:, None].expand_as(valid)[valid]
    if negatives is None:
        return full_softmax_loss(model, hidden, targets[valid], per_target)
    return sampled_softmax_loss(model, hidden, targets[valid], negatives, log_kq, weights=per_target)


def mask_items(scores: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``scores`` (B, N) with the items of ``indices`` (B, any; 1-based, 0 = padding) set to -inf.

    Example:
        >>> mask_items(torch.zeros(1, 3), torch.tensor([[0, 3, 1]])).tolist()
        [[-inf, 0.0, -inf]]
    """
    padded = torch.cat([torch.zeros_like(scores[:, :1]), scores], dim=1)  # column 0: the padding
    return padded.scatter(1, indices, float("-inf"))[:, 1:]


@torch.no_grad()
def validation_ranks(model: SASRec, inputs: torch.Tensor, targets: torch.Tensor, *, chunk: int = 1024) -> torch.Tensor:
    """The 0-based rank of each target (one relevant item a row) over the catalogue, the input's items
    left out, ties counted against the target only for smaller item indices. Rows are taken in order of
    length, each chunk cut to its longest row."""
    model.eval()
    ranks = torch.zeros(len(targets), dtype=torch.long, device=targets.device)
    order = torch.argsort((inputs != PAD).sum(1), stable=True)
    for start in range(0, len(targets), chunk):
        rows = order[start : start + chunk]
        seqs, target = trimmed(inputs[rows]), targets[rows]
        ranks[rows] = target_ranks(mask_items(model.logits(model.last_hidden(seqs)), seqs), target)
    return ranks


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The 0-based rank of each row's target (1-based item index) in ``scores`` (B, N), ties counted
    against the target only for smaller item indices.

    Example:
        >>> target_ranks(torch.tensor([[1.0, 3.0, 3.0, 2.0]]), torch.tensor([3])).tolist()
        [1]
    """
    own = scores.gather(1, (targets - 1)[:, None])
    index = torch.arange(scores.shape[1], device=scores.device)[None, :]
    return ((scores > own) | ((scores == own) & (index < (targets - 1)[:, None]))).sum(1)


def measures(ranks: torch.Tensor) -> tuple[float, float, float]:
    """(MRR, NDCG@10, HR@10) of 0-based ranks of one relevant item each (zeros for no rows).

    Example:
        >>> [round(m, 4) for m in measures(torch.tensor([0, 1, 10]))]
        [0.5303, 0.5436, 0.6667]
    """
    if len(ranks) == 0:
        return 0.0, 0.0, 0.0
    r = ranks.double()
    hit = r < VALIDATION_K
    mrr = (1.0 / (r + 1)).mean().item()
    ndcg = torch.where(hit, 1.0 / torch.log2(r + 2), 0.0).mean().item()
    return mrr, ndcg, hit.double().mean().item()


def validation_ndcg(model: SASRec, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean NDCG@10 of ``targets`` over the catalogue, input items left out."""
    return measures(validation_ranks(model, inputs, targets))[1]


class Negatives:
    """The shared negatives of one step and their logQ correction, from the training generator."""

    def __init__(self, data: TrainingData, conf: SasrecConfig, device: torch.device) -> None:
        self.k, self.n, self.device = conf.negatives, data.items, device
        self.popular = round(conf.negatives * conf.popularity_negatives) if conf.popularity_negatives > 0 else 0
        counts = torch.from_numpy(data.popularity()).double()
        share = conf.popularity_negatives if self.popular else 0.0
        self.probabilities = counts / counts.sum() if counts.sum() > 0 else torch.full((self.n,), 1.0 / self.n)
        q = (1 - share) / self.n + share * self.probabilities  # the mixture each draw follows, in expectation
        self.log_kq = torch.log(self.k * q).float().to(device)

    def draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(negatives (K,) 1-based indices, log(K q) of each)."""
        uniform = torch.randint(1, self.n + 1, (self.k - self.popular,), generator=generator)
        if self.popular:
            drawn = torch.multinomial(self.probabilities, self.popular, replacement=True, generator=generator) + 1
            uniform = torch.cat([uniform, drawn])
        negatives = uniform.to(self.device)
        return negatives, self.log_kq[negatives - 1]


class Trainer:
    """SASRec training that pauses and goes on: :meth:`advance` runs optimizer steps up to a step count,
    validating every ``eval_every`` steps and after the last of ``steps`` (not at a pause, so that a run
    advanced in pieces equals one run), and keeps the best validation's weights;
    :meth:`use` swaps the training sequences between two advances with the model, the optimizer and the
    random streams kept, and ``then`` = (step, data) makes that swap after that step (pre-training on one
    set, fine-tuning on another, however the run is cut into advances); the time counted is the time spent
    in its calls. :func:`train` is one advance to ``steps``; a search advances candidates a rung at a time
    (recaug_spark/policy/halving.py).

    With ``views`` (the variant ``real+contrastive``), each batch adds ``contrastive.lambda`` x the
    InfoNCE loss of two views of its sequences' inputs (recommend/sasrec/views.py). With ``world > 1``
    (one process per rank, recaug_spark/distributed.py) every rank draws the same batches and takes its
    share of each, gradients are averaged before each step, and rank 0 validates and decides for all.
    Torch threads: ``conf.threads``, or the cores this process may run on (set while a call runs).
    """

    def __init__(
        self,
        data: TrainingData,
        conf: SasrecConfig,
        *,
        seed: int,
        views: ViewMaker | None = None,
        rank: int = 0,
        world: int = 1,
        on_validation: Callable[[Validation], None] | None = None,
        then: tuple[int, TrainingData] | None = None,
    ) -> None:
        self.conf, self.views, self.rank, self.world, self.on_validation = conf, views, rank, world, on_validation
        self.then = then
        self.begun, self.spent = time.perf_counter(), 0.0  # begun: the current call's start
        self.device = pick_device(conf.device, key="evaluate.sasrec.device")
        with self.threads():
            self.arch = Architecture(
                items=data.items, max_len=conf.max_len, hidden=conf.hidden, inner=conf.inner, layers=conf.layers,
                heads=conf.heads, dropout=conf.dropout, mask_token=views is not None and views.mask_index is not None,
            )  # fmt: skip
            torch.manual_seed(seed)  # initial weights (equal on every rank) and dropout
            self.model = SASRec(self.arch).to(self.device)
            if world > 1:
                torch.manual_seed(seed * 7919 + rank)  # each rank its own dropout masks
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=conf.lr, weight_decay=conf.weight_decay)
            self.generator = torch.Generator().manual_seed(seed)  # batches and negatives, on the CPU
            self.result = TrainedSasrec(
                state={}, architecture=self.arch, device=str(self.device), threads=torch.get_num_threads(),
                loss=conf.loss,
            )  # fmt: skip
        self.valid_inputs = torch.from_numpy(data.valid_inputs).to(self.device)
        self.valid_targets = torch.from_numpy(data.valid_targets).to(self.device)
        self.use(data)
        self.step, self.since_best, self.total, self.counted = 0, 0, 0.0, 0
        self.spent = time.perf_counter() - self.begun

    @contextmanager
    def threads(self) -> Iterator[None]:
        """Torch's threads set to this training's (``conf.threads`` or the cores this process may run on)
        for the ``with`` block; a scorer of this trainer's models uses it too."""
        threads = torch.get_num_threads()
        if self.world == 1:
            torch.set_num_threads(self.conf.threads or available_cores())
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def use(self, data: TrainingData) -> None:
        """Train on ``data``'s sequences from the next step on (the validation slice stays the first one's)."""
        if data.items != self.arch.items:
            raise ValueError(f"training data over {data.items} items for a model of {self.arch.items}")
        self.data = data
        self.negatives = Negatives(data, self.conf, self.device) if self.conf.loss == "sampled_softmax" else None
        self.sequences = torch.from_numpy(data.sequences).to(self.device)
        self.weights = None if data.weights is None else torch.from_numpy(data.weights).float().to(self.device)
        self.batches = bucketed_batches(data.targets, self.conf.batch_size, self.generator)

    @property
    def finished(self) -> bool:
        """The budget of ``steps`` is spent or early stopping ended training."""
        return self.result.stopped_early or self.step >= self.conf.steps

    def advance(self, until: int) -> TrainedSasrec:
        """Run steps up to ``until`` (at most ``steps``; none once finished); the result so far."""
        conf, model, device, rank, world = self.conf, self.model, self.device, self.rank, self.world
        last = min(until, conf.steps)
        self.begun = time.perf_counter()
        with self.threads():
            model.train()
            while not self.finished and self.step < last:
                if self.then is not None and self.step >= self.then[0]:
                    self.use(self.then[1])
                    self.then = None
                self.step = step = self.step + 1
                passes, batch = next(self.batches)
                drawn, log_kq = self.negatives.draw(self.generator) if self.negatives is not None else (None, None)
                rows = batch[rank::world].to(device)
                mine = None if self.weights is None else self.weights[rows]
                loss = step_loss(model, self.sequences[rows], negatives=drawn, log_kq=log_kq, weights=mine)
                if self.views is not None and len(rows):
                    keys = rows.cpu().numpy()
                    inputs = self.data.sequences[keys][:, :-1]  # the last column is only ever a target
                    pair = self.views.views(inputs, keys, epoch=passes, width=conf.max_len)
                    # positions count from the right, so a view cut to its longest row reads the same items
                    first, second = (model.last_hidden(trimmed(torch.from_numpy(v)).to(device)) for v in pair)
                    loss = loss + conf.contrastive.weight * info_nce(first, second, tau=conf.contrastive.tau)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                all_reduce_grads(model, world)
                self.optimizer.step()
                self.total, self.counted = self.total + loss.item(), self.counted + 1
                if step % conf.eval_every == 0 or step == conf.steps:
                    self._validate(step)
        self.spent += time.perf_counter() - self.begun
        self.result.seconds = self.spent
        return self.result

    def _validate(self, step: int) -> None:
        """One validation: logged, recorded, the weights kept when the MRR is the best so far, early stopping."""
        conf, model, result = self.conf, self.model, self.result
        ranks = validation_ranks(model, self.valid_inputs, self.valid_targets) if self.rank == 0 else None
        mrr, ndcg, hr = measures(ranks) if ranks is not None else (0.0, 0.0, 0.0)
        model.train()
        seconds = self.spent + time.perf_counter() - self.begun
        stats = Validation(step, self.total / max(self.counted, 1), mrr, ndcg, hr, seconds)
        self.total, self.counted = 0.0, 0
        result.history.append(stats)
        result.steps_run = step
        if self.rank == 0:
            log.info(
                "sasrec step %d/%d: loss %.4f, validation MRR %.4f NDCG@10 %.4f HR@10 %.4f, %.1f s, %s, "
                "%d thread(s) x %d process(es)",
                step, conf.steps, stats.loss, mrr, ndcg, hr, stats.seconds, self.device, result.threads, self.world,
            )  # fmt: skip
        if self.on_validation is not None:
            self.on_validation(stats)
        if agree(result.best is None or mrr > result.best.mrr, self.world, self.device):
            self.since_best = 0
            result.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            result.best = stats
        else:
            self.since_best += 1
            if self.since_best >= conf.patience and step >= conf.min_steps:
                result.stopped_early = True

    def best_model(self) -> SASRec:
        """A model holding the best validation's weights (the current ones before any validation), in eval mode."""
        return self.model_of(self.result.state or self.model.state_dict())

    def model_of(self, state: dict[str, torch.Tensor]) -> SASRec:
        """A model of this training's architecture on its device holding ``state``, in eval mode."""
        model = SASRec(self.arch).to(self.device)
        model.load_state_dict(state)
        return model.eval()


def train(
    data: TrainingData,
    conf: SasrecConfig,
    *,
    seed: int,
    views: ViewMaker | None = None,
    rank: int = 0,
    world: int = 1,
    on_validation: Callable[[Validation], None] | None = None,
    then: tuple[int, TrainingData] | None = None,
) -> TrainedSasrec:
    """Train SASRec on ``data`` with ``conf`` for ``steps`` (or until early stopping); the weights of the
    validation with the best MRR (:class:`Trainer`). ``then``: (step, data): after that step, train on that
    data instead (pre-training on real + augmented sequences, fine-tuning on real)."""
    trainer = Trainer(
        data, conf, seed=seed, views=views, rank=rank, world=world, on_validation=on_validation, then=then
    )
    return trainer.advance(conf.steps)


def pretrain_steps(share: float, conf: SasrecConfig) -> int:
    """The step after which a model pre-trained for ``share`` of the budget goes on with its second data.

    Example:
        >>> pretrain_steps(0.3, SasrecConfig(steps=1000)), pretrain_steps(0.001, SasrecConfig(steps=100))
        (300, 1)
    """
    return max(1, round(share * conf.steps))
