"""The SASRec artifact: tensors-only weights plus metadata JSON, as it travels to the lake
(``models/seqrec/<version>/``) and, as broadcast bytes, to the executors that score.

``sasrec.pt`` is the state dict (loaded with ``weights_only=True``); ``metadata.json`` holds the format,
the version, the weights' SHA-256, the architecture, the item index (``item_ids[i]`` is model index
``i + 1``), the training summary and the inputs. No training rows or sequences: the item index is the
catalogue, not anyone's history. Pure: no Spark.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from recaug_spark import tensors
from recaug_spark.errors import ArtifactError
from recaug_spark.recommend.sasrec.model import Architecture, SASRec

FORMAT = "recaug-seqrec/1"
WEIGHTS = "sasrec.pt"
METADATA = tensors.METADATA
FILES = (WEIGHTS, METADATA)
_FIX = "rerun `recaug evaluate`, which trains it again"


@dataclass(frozen=True)
class SasrecArtifact:
    """A trained SASRec with its item index.

    Example:
        >>> arch = Architecture(items=2, max_len=3, hidden=4, inner=4, layers=1, heads=1, dropout=0.0)
        >>> packed = SasrecArtifact.pack(SASRec(arch).state_dict(), version="v1", architecture=arch,
        ...                              item_ids=("a", "b"), info={})
        >>> SasrecArtifact.from_files(packed.files(), where="x").item_ids
        ('a', 'b')
    """

    version: str
    architecture: Architecture
    item_ids: tuple[str, ...]
    weights: bytes
    info: Mapping[str, Any]

    @classmethod
    def pack(
        cls, state: Mapping[str, torch.Tensor], *, version: str, architecture: Architecture,
        item_ids: tuple[str, ...], info: Mapping[str, Any],
    ) -> SasrecArtifact:  # fmt: skip
        """Serialise a state dict (tensors only) with the item index and metadata."""
        return cls(version, architecture, tuple(item_ids), tensors.state_bytes(state), dict(info))

    @property
    def digest(self) -> str:
        """SHA-256 of the weights (keys the executors' model cache)."""
        return hashlib.sha256(self.weights).hexdigest()

    def files(self) -> dict[str, bytes]:
        """The artifact's files by name (weights first: metadata is written last)."""
        fields = {"architecture": asdict(self.architecture), "item_ids": list(self.item_ids), **self.info}
        meta = tensors.metadata_bytes(self.weights, format=FORMAT, version=self.version, fields=fields)
        return {WEIGHTS: self.weights, METADATA: meta}

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], *, where: str) -> SasrecArtifact:
        """Rebuild and verify an artifact from its files; the weights are loaded into the network now."""
        meta = tensors.verified_metadata(files, weights=WEIGHTS, where=f"sasrec {where}", format=FORMAT, fix=_FIX)
        try:
            arch = Architecture(**meta["architecture"])
            item_ids = tuple(str(i) for i in meta["item_ids"])
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"sasrec {where}/{METADATA}: bad architecture or item index ({exc})") from exc
        if len(item_ids) != arch.items:
            raise ArtifactError(
                f"sasrec {where}: {len(item_ids)} item ids for a model of {arch.items} items: metadata and "
                "weights do not belong together"
            )
        artifact = cls(
            str(meta["version"]), arch, item_ids, files[WEIGHTS], tensors.without(meta, ("architecture", "item_ids"))
        )
        artifact.model()
        return artifact

    def model(self) -> SASRec:
        """The network in eval mode with the weights loaded (tensors only)."""
        where = f"sasrec {self.version}"
        return tensors.load_into(SASRec(self.architecture), tensors.load_state(self.weights, where=where), where=where)
