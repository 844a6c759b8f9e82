"""The SASRec network (Kang and McAuley, ICDM 2018, in RecBole's form): item embeddings tied with the
output layer, learned positions, and ``layers`` post-norm blocks of causal multi-head self-attention
and a GELU feed-forward.

Sequences are right-aligned rows of item indices, ``0`` the padding: index ``i >= 1`` is catalogue
item ``i - 1`` of the artifact's item list. Position ``t``'s output reads positions ``<= t`` only
(the causal mask). Attention is torch's fused ``scaled_dot_product_attention``: a batch without
padding (training batches are bucketed by length, recommend/sasrec/train.py) runs its plain causal
kernel; with padding, a real query never attends a padded key and a padded query attends only itself
(so no row is fully masked and every output stays finite). Pure torch: no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

PAD = 0


@dataclass(frozen=True)
class Architecture:
    """What fixes the network's shapes (saved in the artifact's metadata)."""

    items: int  # catalogue size; embedding rows = items + 1 (index 0 is the padding)
    max_len: int
    hidden: int
    inner: int
    layers: int
    heads: int
    dropout: float
    mask_token: bool = False  # one more embedding row (index items + 1): CL4SRec's mask, never a prediction


class Dropout(nn.Module):
    """Inverted dropout from ``torch.rand`` (on the CPU about twice as fast as ``nn.Dropout``'s
    Bernoulli draws, which took half of a training step); same expectation, same seeding."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * (torch.rand_like(x) >= self.p) * (1.0 / (1.0 - self.p))


class Block(nn.Module):
    """One post-norm transformer block: x = LN(x + MHA(x)); x = LN(x + FFN(x))."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.heads = arch.heads
        self.dropout = arch.dropout
        self.qkv = nn.Linear(arch.hidden, 3 * arch.hidden)
        self.out = nn.Linear(arch.hidden, arch.hidden)
        self.norm1 = nn.LayerNorm(arch.hidden, eps=1e-12)
        self.ff = nn.Sequential(
            nn.Linear(arch.hidden, arch.inner), nn.GELU(), Dropout(arch.dropout), nn.Linear(arch.inner, arch.hidden)
        )
        self.norm2 = nn.LayerNorm(arch.hidden, eps=1e-12)
        self.drop = Dropout(arch.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``x`` (B, L, H); ``mask`` (B, 1, L, L) bool (True = attend), or None for plain causal attention."""
        b, length, hidden = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, hidden // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, dropout_p=self.dropout if self.training else 0.0
        )
        attended = attended.transpose(1, 2).reshape(b, length, hidden)
        x = self.norm1(x + self.drop(self.out(attended)))
        out: torch.Tensor = self.norm2(x + self.drop(self.ff(x)))
        return out


class SASRec(nn.Module):
    """Causal self-attention next-item model.

    Example:
        >>> torch.manual_seed(0) and None
        >>> model = SASRec(Architecture(items=5, max_len=4, hidden=8, inner=16, layers=1, heads=2, dropout=0.0))
        >>> model.logits(model(torch.tensor([[0, 1, 2, 3]]))).shape  # one score per position and item
        torch.Size([1, 4, 5])
    """

    causal: torch.Tensor  # the registered buffer: (max_len, max_len) lower-triangular bool

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.items = nn.Embedding(arch.items + 1 + arch.mask_token, arch.hidden, padding_idx=PAD)
        self.positions = nn.Embedding(arch.max_len, arch.hidden)
        self.norm = nn.LayerNorm(arch.hidden, eps=1e-12)
        self.drop = Dropout(arch.dropout)
        self.blocks = nn.ModuleList(Block(arch) for _ in range(arch.layers))
        self.apply(_init)
        self.register_buffer("causal", torch.tril(torch.ones(arch.max_len, arch.max_len, dtype=torch.bool)))

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """Hidden states (B, L, H) of right-aligned index rows ``seqs`` (B, L), L <= max_len.

        Positions count from the right: the last column is always position ``max_len - 1``, so a batch
        cut to its longest row (leading all-padding columns dropped) gives the same outputs.
        """
        length = seqs.shape[1]
        positions = torch.arange(self.arch.max_len - length, self.arch.max_len, device=seqs.device)
        x: torch.Tensor = self.drop(self.norm(self.items(seqs) + self.positions(positions)[None]))
        padded = seqs == PAD
        mask = None
        if bool(padded.any()):  # a real query skips padded keys; a padded query sees itself only
            causal = self.causal[:length, :length]
            mask = (causal & ~padded[:, None, None, :]) | torch.eye(length, dtype=torch.bool, device=seqs.device)
        for block in self.blocks:
            x = block(x, mask)
        return x

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores of every catalogue item (..., items) for hidden states (..., H): the tied embeddings."""
        scores: torch.Tensor = hidden @ self.items.weight[1 : self.arch.items + 1].T
        return scores

    def last_hidden(self, seqs: torch.Tensor) -> torch.Tensor:
        """The user representation (B, H): the output at the last position of each right-aligned row."""
        hidden: torch.Tensor = self(seqs)
        return hidden[:, -1]


def _init(module: nn.Module) -> None:
    """RecBole's initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
