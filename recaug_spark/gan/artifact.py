"""The generator artifact: tensors-only weights plus metadata JSON, verified on every load.

``models/generator/<version>/`` holds two files:

* ``generator.pt``: the generator's state dict, saved with ``torch.save`` and loaded with
  ``torch.load(..., weights_only=True)`` (tensors only, no pickled code);
* ``metadata.json``: the format, the version, the architecture, the transformer's parameters (mixture
  modes, category levels and shares: summaries, never rows), the column schema, the training metadata
  (input Delta versions, config hash, epochs, probe history) and the SHA-256 of ``generator.pt``. The
  architecture and the transformer are frozen dataclasses written and read by gan/codec.py.

The metadata is written last, so a directory without it is an unfinished write and is ignored. Loading
checks the format, the version, the weights' digest, that the transformer's width matches the
architecture and that the weights fit the network: a tampered or mismatched artifact fails with an
:class:`~recaug_spark.errors.ArtifactError` naming the file and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from recaug_spark import tensors
from recaug_spark.errors import ArtifactError
from recaug_spark.gan.codec import from_json, to_json
from recaug_spark.gan.model import Architecture, Generator
from recaug_spark.gan.transform import DataTransformer

FORMAT = "recaug-generator/1"
WEIGHTS = "generator.pt"
METADATA = tensors.METADATA
FILES = (WEIGHTS, METADATA)
_FIX = "retrain with `recaug train-gan`"


@dataclass(frozen=True)
class GeneratorArtifact:
    """A trained generator as it travels: to the lake, and as broadcast bytes to the executors."""

    version: str
    architecture: Architecture
    transformer: DataTransformer
    weights: bytes
    info: Mapping[str, Any]  # schema, training, inputs: everything else of metadata.json

    @classmethod
    def pack(
        cls, state: Mapping[str, torch.Tensor], *, version: str, architecture: Architecture,
        transformer: DataTransformer, info: Mapping[str, Any],
    ) -> GeneratorArtifact:  # fmt: skip
        """Serialise a state dict (tensors only) with its metadata."""
        return cls(version, architecture, transformer, tensors.state_bytes(state), dict(info))

    def files(self) -> dict[str, bytes]:
        """The artifact's files by name (weights first: metadata is written last)."""
        fields = {"architecture": to_json(self.architecture), "transformer": to_json(self.transformer), **self.info}
        meta = tensors.metadata_bytes(self.weights, format=FORMAT, version=self.version, fields=fields)
        return {WEIGHTS: self.weights, METADATA: meta}

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], *, where: str) -> GeneratorArtifact:
        """Rebuild and verify an artifact from its files (``where`` names it in errors)."""
        meta = tensors.verified_metadata(files, weights=WEIGHTS, where=f"generator {where}", format=FORMAT, fix=_FIX)
        try:
            arch = from_json(Architecture, meta["architecture"], what="architecture")
            transformer = from_json(DataTransformer, meta["transformer"], what="transformer")
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{where}/{METADATA}: bad architecture or transformer ({exc})") from exc
        if transformer.output_dim != arch.data_dim:
            raise ArtifactError(
                f"{where}: the transformer encodes {transformer.output_dim} columns but the generator outputs "
                f"{arch.data_dim}: metadata and weights do not belong together"
            )
        info = tensors.without(meta, ("architecture", "transformer"))
        artifact = cls(str(meta.get("version")), arch, transformer, files[WEIGHTS], info)
        artifact.generator()  # the weights must load into the network now, not on an executor later
        return artifact

    def generator(self) -> Generator:
        """The generator in eval mode with the weights loaded (tensors only)."""
        where = f"generator {self.version}"
        state = tensors.load_state(self.weights, where=where)
        return tensors.load_into(Generator(self.architecture), state, where=where)
