"""A stateless keyed random generator: every draw is a pure function of (seed, op, copy, row key, index).

Nothing depends on which rows share a batch, partition or executor, so an augmentation gives the same
values on local[1], local[2] or a cluster. A draw hashes its five coordinates with SplitMix64's
finalizer (a bijective 64-bit mixer with full avalanche) and keeps the top 53 bits as a double in
[0, 1); normal draws use Box-Muller on two such uniforms.

Example:
    >>> keys = np.array([1, 2, 3], dtype=np.uint64)
    >>> a = Draws.of(seed=42, op="gaussian_noise", copy=0, keys=keys)
    >>> b = Draws.of(seed=42, op="gaussian_noise", copy=0, keys=keys[1:])
    >>> bool((a.uniform(0)[1:] == b.uniform(0)).all())  # a row's draw ignores its neighbours
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_53 = float(2**53)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x.astype(np.uint64, copy=True)
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return x


def stream_id(seed: int, op: str, copy: int) -> np.uint64:
    """A 64-bit id of (seed, op, copy), stable across processes and Python versions (not ``hash``)."""
    digest = hashlib.blake2b(f"{seed}\x1f{op}\x1f{copy}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@dataclass(frozen=True)
class Draws:
    """Random draws for a set of rows, each a function of its row key only.

    Args:
        stream: :func:`stream_id` of (seed, op, copy).
        keys: one uint64 key per row (e.g. a hash of event_id).
        copy: the copy the draws are for (0-based ``aug_copy``), for kernels whose output depends on the
            copy itself rather than on a draw (``slide_window``: copy c is the c-th most recent window).

    Example:
        >>> draws = Draws.of(seed=1, op="0:slide_window", copy=2, keys=np.array([9], dtype=np.uint64))
        >>> (draws.copy, draws.spread(3).copy)
        (2, 2)
    """

    stream: np.uint64
    keys: np.ndarray
    copy: int = 0

    @classmethod
    def of(cls, *, seed: int, op: str, copy: int, keys: np.ndarray) -> Draws:
        return cls(stream_id(seed, op, copy), np.asarray(keys, dtype=np.uint64), copy)

    def bits(self, index: int) -> np.ndarray:
        """64 random bits per row for draw number ``index``."""
        with np.errstate(over="ignore"):
            salted = self.keys ^ mix64(np.array([self.stream + np.uint64(index) * _GOLDEN], dtype=np.uint64))[0]
        return mix64(mix64(salted) + self.stream)

    def uniform(self, index: int) -> np.ndarray:
        """U[0, 1) per row: the top 53 bits of :meth:`bits`."""
        return (self.bits(index) >> np.uint64(11)).astype(np.float64) / _TWO_POW_53

    def normal(self, index: int) -> np.ndarray:
        """N(0, 1) per row by Box-Muller (uses uniform draws ``2 index`` and ``2 index + 1``)."""
        u1 = 1.0 - self.uniform(2 * index)  # (0, 1]: log is finite
        u2 = self.uniform(2 * index + 1)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def spread(self, n: int) -> Draws:
        """Draws for ``n`` positions of one keyed item (e.g. the events of one user's sequence)."""
        if len(self.keys) != 1:
            raise ValueError(f"spread needs exactly one key, got {len(self.keys)}")
        return Draws(self.stream, self.spread_rows(n).keys[0], self.copy)

    def spread_rows(self, n: int) -> Draws:
        """Draws for ``n`` positions of every row at once (keys of shape (rows, n)): row r's first m
        positions draw what ``spread(m)`` of row r alone draws, for any m <= n."""
        with np.errstate(over="ignore"):
            steps = (np.arange(n, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
            positions = mix64(self.keys.reshape(-1, 1) + steps.reshape(1, -1))
        return Draws(self.stream, positions, self.copy)

    def permutation(self, index: int) -> np.ndarray:
        """A uniformly random permutation of the rows' positions (argsort of uniform draws)."""
        return np.argsort(self.uniform(index), kind="stable")

    def integers(self, index: int, low: int, high: int | np.ndarray) -> np.ndarray:
        """Integers in [low, high) per row (``high``: one bound, or one per row)."""
        integers: np.ndarray = low + np.floor(self.uniform(index) * (high - low)).astype(np.int64)
        return integers
