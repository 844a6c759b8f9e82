"""The WGAN-GP training loop: critic and generator updates, a fidelity probe per epoch, early stopping.

Each step draws conditions by training-by-sampling, real rows with those conditions, and noise; the
critic minimises E[D(G(z))] - E[D(x)] + lambda * GP (it maximises the Wasserstein estimate), then the
generator minimises -E[D(G(z))] plus the cross-entropy of its output for the conditioned column against
the asked level (so it honours conditions). Every ``probe_every`` epochs the generator samples
``probe_rows`` rows and the probe scores them against held-out real rows (quality/fidelity.py); the
weights of the best probe are kept, and training stops after ``patience`` probes without improvement.

With ``world > 1`` (one process per rank, started by TorchDistributor) each rank draws its own batches
of ``batch_size / world`` rows and the gradients are averaged across ranks before every optimizer step
(all-reduce), which is data-parallel SGD on the global batch. Plain all-reduce rather than
DistributedDataParallel because the gradient penalty differentiates twice, which DDP's hooks do not
support. Pure torch/numpy: no Spark.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from recaug_spark.config import GanModelConfig, GanTrainConfig
from recaug_spark.distributed import agree, all_reduce_grads, pick_device
from recaug_spark.gan.model import Architecture, Critic, Generator, activate, gradient_penalty
from recaug_spark.gan.sample import ConditionLayout, RealRowIndex, flat_spans, generate_rows
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.quality.fidelity import fidelity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochStats:
    """Progress of one epoch."""

    epoch: int
    critic_loss: float
    generator_loss: float
    gradient_penalty: float
    seconds: float
    fidelity: float | None  # the probe's overall score (None when not probed this epoch)


@dataclass
class TrainedGenerator:
    """What training returns: the best generator's weights (CPU tensors) and how it got there."""

    state: dict[str, torch.Tensor]
    architecture: Architecture
    history: list[EpochStats] = field(default_factory=list)
    best_epoch: int = 0
    best_fidelity: float | None = None
    stopped_early: bool = False
    device: str = "cpu"
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        """JSON-able training metadata (for the artifact)."""
        return {
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "best_fidelity": self.best_fidelity,
            "stopped_early": self.stopped_early,
            "device": self.device,
            "seconds": round(self.seconds, 3),
            "history": [asdict(h) for h in self.history],
        }


def train(
    data: np.ndarray,
    transformer: DataTransformer,
    holdout: pd.DataFrame,
    *,
    model: GanModelConfig,
    params: GanTrainConfig,
    epochs: int,
    seed: int,
    rank: int = 0,
    world: int = 1,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainedGenerator:
    """Train a conditional WGAN-GP on the encoded rows ``data`` (from ``transformer.transform``).

    Args:
        data: Encoded training rows, float32 (n, transformer.output_dim).
        transformer: The fitted transformer (its spans shape the activation and the conditions).
        holdout: Held-out real rows (decoded) for the fidelity probe.
        model: Network sizes.
        params: Training settings (batch size, learning rates, lambda, probe, patience).
        epochs: The epoch budget (``gan.epochs``); early stopping may end sooner.
        seed: Seeds the networks' initial weights and every draw.
        rank: This process's rank (distributed training); only rank 0 probes.
        world: Number of processes; gradients are all-reduced when > 1.
        on_epoch: Called with each epoch's stats (progress reporting).
    """
    started = time.perf_counter()
    device = pick_device(params.device, key="gan.train.device")
    torch.manual_seed(seed)  # initial weights only: equal on every rank
    layout = ConditionLayout.of(transformer)
    spans = flat_spans(transformer)
    arch = Architecture(
        data_dim=transformer.output_dim,
        cond_dim=layout.cond_dim,
        embedding_dim=model.embedding_dim,
        generator_dims=tuple(model.generator_dims),
    )
    generator = Generator(arch).to(device)
    critic = Critic(arch.data_dim + arch.cond_dim, model.critic_dims, pac=model.pac, dropout=model.dropout).to(device)
    opt_g = torch.optim.Adam(
        generator.parameters(), lr=params.generator_lr, betas=params.betas, weight_decay=params.weight_decay
    )
    opt_d = torch.optim.Adam(
        critic.parameters(), lr=params.critic_lr, betas=params.betas, weight_decay=params.weight_decay
    )
    rng = np.random.default_rng([seed, rank])
    torch_rng = torch.Generator(device=device).manual_seed(seed * 7919 + rank)
    rows = RealRowIndex(data, layout)
    real_all = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)).to(device)
    batch = max(model.pac, (params.batch_size // world) // model.pac * model.pac)
    steps = max(1, len(data) // params.batch_size)
    columns = list(transformer.columns)
    continuous = [c.name for c in transformer.continuous]
    categorical = [c.name for c in transformer.categorical]

    def conditions(n: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        column, level = layout.draw(n, rng, log_frequency=True)
        return column, level, torch.from_numpy(layout.vectors(column, level)).to(device)

    def fake_rows(cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn((cond.shape[0], arch.embedding_dim), generator=torch_rng, device=device)
        raw = generator(z, cond)
        return raw, activate(raw, spans, generator=torch_rng)

    result = TrainedGenerator(state={}, architecture=arch, device=str(device))
    best: dict[str, torch.Tensor] | None = None
    since_best = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        generator.train()
        critic.train()
        d_total = g_total = gp_total = 0.0
        for _ in range(steps):
            for _ in range(params.critic_steps):
                column, level, cond = conditions(batch)
                real = real_all[torch.from_numpy(rows.draw(column, level, rng)).to(device)]
                with torch.no_grad():
                    _, fake = fake_rows(cond)
                real_c, fake_c = torch.cat([real, cond], dim=1), torch.cat([fake, cond], dim=1)
                eps = torch.rand((batch // model.pac, 1), generator=torch_rng, device=device)
                gp = gradient_penalty(critic, real_c, fake_c, eps)
                loss_d = critic(fake_c).mean() - critic(real_c).mean() + params.gp_lambda * gp
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                all_reduce_grads(critic, world)
                opt_d.step()
            column, level, cond = conditions(batch)
            raw, fake = fake_rows(cond)
            loss_g = -critic(torch.cat([fake, cond], dim=1)).mean() + _condition_loss(raw, layout, column, level)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            all_reduce_grads(generator, world)
            opt_g.step()
            d_total += float(loss_d.detach())
            g_total += float(loss_g.detach())
            gp_total += float(gp.detach())
        score = None
        stop = False
        if rank == 0 and (epoch % params.probe_every == 0 or epoch == epochs):
            generator.eval()
            cond_np = layout.vectors(
                *layout.draw(params.probe_rows, np.random.default_rng([seed, 99]), log_frequency=False)
            )
            probe = generate_rows(
                generator, transformer, spans, cond_np, embedding_dim=arch.embedding_dim, seed=seed + 99, device=device
            )
            score = fidelity(holdout[columns], probe[columns], continuous=continuous, categorical=categorical).overall
            if result.best_fidelity is None or score > result.best_fidelity:
                result.best_fidelity, result.best_epoch, since_best = score, epoch, 0
                best = copy.deepcopy({k: v.detach().cpu() for k, v in generator.state_dict().items()})
            else:
                since_best += 1
                stop = since_best >= params.patience
        stats = EpochStats(
            epoch=epoch,
            critic_loss=d_total / steps,
            generator_loss=g_total / steps,
            gradient_penalty=gp_total / steps,
            seconds=time.perf_counter() - t0,
            fidelity=score,
        )
        result.history.append(stats)
        if on_epoch is not None and rank == 0:
            on_epoch(stats)
        if agree(stop, world, device):
            result.stopped_early = epoch < epochs
            break
    result.state = best if best is not None else {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    result.seconds = time.perf_counter() - started
    return result


def _condition_loss(raw: torch.Tensor, layout: ConditionLayout, column: np.ndarray, level: np.ndarray) -> torch.Tensor:
    """Mean cross-entropy of the generator's logits for each row's conditioned column vs its level."""
    losses = []
    for c, (start, size) in enumerate(zip(layout.data_starts, layout.sizes, strict=True)):
        pick = np.flatnonzero(column == c)
        if len(pick):
            target = torch.from_numpy(level[pick]).to(raw.device)
            logits = raw[torch.from_numpy(pick).to(raw.device), start : start + size]
            losses.append(nn.functional.cross_entropy(logits, target, reduction="sum"))
    return torch.stack(losses).sum() / raw.shape[0] if losses else raw.new_zeros(())
