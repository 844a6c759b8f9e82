"""The networks of the conditional tabular WGAN-GP: a residual generator and a packed critic.

The generator maps noise z and a condition vector to raw outputs; :func:`activate` turns them into
the transformer's layout (tanh for a mode-normalized value, a Gumbel-softmax for every one-hot span).
The critic scores ``pac`` rows at a time (PacGAN), which penalises mode collapse: a generator that
repeats itself is easy to spot in a pack. Training minimises over G and maximises over D

    E[D(x)] - E[D(G(z))] - lambda * E[(||grad D(x_hat)||_2 - 1)^2],   x_hat = eps x + (1 - eps) G(z)

(the Wasserstein-GP objective; :func:`gradient_penalty` is the last term). Pure torch: no Spark, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from recaug_spark.gan.columns import SpanInfo


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild the generator from its weights (stored in the artifact).

    Example:
        >>> arch = Architecture(data_dim=7, cond_dim=3, embedding_dim=4, generator_dims=(8,))
        >>> sum(p.numel() for p in Generator(arch).parameters()) > 0
        True
    """

    data_dim: int
    cond_dim: int
    embedding_dim: int
    generator_dims: tuple[int, ...]


class Block(nn.Module):
    """One residual block: ``cat([act(norm(W x)), x])``, so every layer sees the raw input too."""

    def __init__(self, in_dim: int, out_dim: int, *, batch_norm: bool, leaky: bool, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(out_dim))
        layers.append(nn.LeakyReLU(0.2) if leaky else nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.body(x), x], dim=1)


class Generator(nn.Module):
    """z (embedding_dim) + condition (cond_dim) -> raw outputs (data_dim), through residual blocks."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        width = arch.embedding_dim + arch.cond_dim
        blocks: list[nn.Module] = []
        for dim in arch.generator_dims:
            blocks.append(Block(width, dim, batch_norm=True, leaky=False))
            width += dim
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(width, arch.data_dim)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        raw: torch.Tensor = self.out(self.blocks(torch.cat([z, cond], dim=1)))
        return raw


class Critic(nn.Module):
    """Scores packs of ``pac`` rows (data + condition); no batch norm (it would break the penalty)."""

    def __init__(self, input_dim: int, dims: Sequence[int], *, pac: int, dropout: float) -> None:
        super().__init__()
        self.pac = pac
        width = input_dim * pac
        blocks: list[nn.Module] = []
        for dim in dims:
            blocks.append(Block(width, dim, batch_norm=False, leaky=True, dropout=dropout))
            width += dim
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.pac:
            raise ValueError(f"the critic needs a multiple of pac={self.pac} rows, got {x.shape[0]}")
        scores: torch.Tensor = self.out(self.blocks(x.reshape(-1, x.shape[1] * self.pac)))
        return scores


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """E[(||grad D(x_hat)||_2 - 1)^2] at x_hat = eps real + (1 - eps) fake, one eps per pack.

    Args:
        critic: The critic.
        real: Real rows (with their condition), a multiple of ``pac`` rows.
        fake: Generated rows, same shape.
        eps: U[0, 1) draws, one per pack (shape ``(rows / pac, 1)``).
    """
    pac = critic.pac
    weights = eps.repeat_interleave(pac, dim=0)
    mixed = (weights * real + (1 - weights) * fake).requires_grad_(True)
    scores = critic(mixed)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grads.reshape(-1, pac * real.shape[1]).norm(2, dim=1)
    penalty: torch.Tensor = ((norms - 1) ** 2).mean()
    return penalty


def gumbel_softmax(
    logits: torch.Tensor, *, tau: float, generator: torch.Generator | None = None, hard: bool = False
) -> torch.Tensor:
    """softmax((logits + g) / tau) with Gumbel noise g = -log(-log U) from ``generator`` (never the
    global RNG, so sampling is a function of the generator's seed); ``hard`` returns the one-hot argmax."""
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
    exponential = -torch.log(u.clamp_min(1e-20))  # Exp(1) draws, > 0
    g = -torch.log(exponential.clamp_min(1e-20))
    soft = torch.softmax((logits + g) / tau, dim=1)
    if not hard:
        return soft
    return torch.zeros_like(soft).scatter_(1, soft.argmax(dim=1, keepdim=True), 1.0)


def activate(
    raw: torch.Tensor, spans: Sequence[SpanInfo], *, generator: torch.Generator | None = None, hard: bool = False
) -> torch.Tensor:
    """The generator's raw outputs in the transformer's layout: tanh per value, Gumbel-softmax per span."""
    parts, start = [], 0
    for span in spans:
        chunk = raw[:, start : start + span.dim]
        if span.activation == "tanh":
            parts.append(torch.tanh(chunk))
        else:
            parts.append(gumbel_softmax(chunk, tau=0.2, generator=generator, hard=hard))
        start += span.dim
    if start != raw.shape[1]:
        raise ValueError(f"spans cover {start} outputs, the generator has {raw.shape[1]}")
    return torch.cat(parts, dim=1)
