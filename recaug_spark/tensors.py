"""Tensors-only model artifacts: a state dict saved with ``torch.save`` beside a metadata JSON that
carries its SHA-256, read back with ``torch.load(..., weights_only=True)`` (no pickled code).

The generator (gan/artifact.py) and SASRec (recommend/sasrec/artifact.py) share these checks: files
present (the metadata is written last, so without it the write is unfinished), metadata JSON of the
expected format, weights matching their digest. Each failure is an
:class:`~recaug_spark.errors.ArtifactError` naming the file and the fix. Pure: no Spark.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import torch

from recaug_spark.errors import ArtifactError

METADATA = "metadata.json"


def state_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    """A state dict as ``torch.save`` bytes (CPU, contiguous tensors only).

    Example:
        >>> data = state_bytes({"w": torch.ones(2)})
        >>> load_state(data, where="x")["w"].tolist()
        [1.0, 1.0]
    """
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def load_state(data: bytes, *, where: str) -> dict[str, torch.Tensor]:
    """The tensors of ``state_bytes`` output, loaded with ``weights_only=True``."""
    try:
        state: dict[str, torch.Tensor] = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        return state
    except Exception as exc:  # torch raises several types for a bad file
        raise ArtifactError(f"{where}: cannot load the weights as tensors ({exc})") from exc


def metadata_bytes(weights: bytes, *, format: str, version: str, fields: Mapping[str, Any]) -> bytes:
    """The metadata JSON: format, version, the weights' digest, then ``fields``."""
    head = {"format": format, "version": version, "weights_sha256": hashlib.sha256(weights).hexdigest()}
    return json.dumps({**head, **fields}, sort_keys=True, indent=1).encode()


def verified_metadata(files: Mapping[str, bytes], *, weights: str, where: str, format: str, fix: str) -> dict[str, Any]:
    """The metadata of an artifact's ``files`` once they are complete, of ``format`` and match their digest.

    ``fix`` is the command that makes a new artifact (named in the errors).
    """
    missing = [name for name in (weights, METADATA) if name not in files]
    if missing:
        raise ArtifactError(f"artifact {where} lacks {missing}: an unfinished write; {fix}")
    try:
        meta = json.loads(files[METADATA])
    except ValueError as exc:
        raise ArtifactError(f"{where}/{METADATA} is not valid JSON ({exc}); the artifact is damaged") from exc
    if not isinstance(meta, dict) or meta.get("format") != format:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ArtifactError(f"{where}/{METADATA}: format {found!r}, expected {format!r}; {fix}")
    digest = hashlib.sha256(files[weights]).hexdigest()
    if digest != meta.get("weights_sha256"):
        raise ArtifactError(
            f"{where}/{weights} does not match the digest in {METADATA} (sha256 {digest[:12]}... vs "
            f"{str(meta.get('weights_sha256'))[:12]}...): the artifact was modified or mixed with another; "
            f"{fix} or restore it"
        )
    return meta


def without(meta: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """``meta`` less the header fields and ``keys`` (what an artifact keeps as free-form info)."""
    drop = {"format", "version", "weights_sha256", *keys}
    return {k: v for k, v in meta.items() if k not in drop}


M = TypeVar("M", bound=torch.nn.Module)
V = TypeVar("V")


def load_into(module: M, state: Mapping[str, torch.Tensor], *, where: str) -> M:
    """``module`` with ``state`` loaded, in eval mode; a mismatch names the artifact."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ArtifactError(f"{where}: weights do not fit the architecture ({first})") from exc
    return module.eval()


class WorkerCache:
    """Models rebuilt on this Python worker from broadcast bytes, by digest: an LRU behind a lock.

    Lives as long as the worker process (``spark.python.worker.reuse``, Spark's default); a new worker
    rebuilds from the broadcast. Each entry is one model (a few MB to a few hundred MB for a large
    catalogue's embeddings), so the LRU is small.

    Example:
        >>> cache = WorkerCache(size=1)
        >>> cache.get("a", lambda: [1]), cache.get("a", lambda: [2]), cache.get("b", lambda: [3])
        ([1], [1], [3])
    """

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, Any] = OrderedDict()

    def get(self, digest: str, build: Callable[[], V]) -> V:
        """The entry for ``digest``, built by ``build()`` on first use (a digest is always built alike)."""
        with self.lock:
            if digest not in self.entries:
                self.entries[digest] = build()
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
            self.entries.move_to_end(digest)
            entry: V = self.entries[digest]
            return entry
