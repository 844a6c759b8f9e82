"""The generator artifact: tensors-only weights plus metadata JSON, verified on every load.

``models/generator/<version>/`` holds two files:

* ``generator.pt``: the generator's state dict, saved with ``torch.save`` and loaded with
  ``torch.load(..., weights_only=True)`` (tensors only, no pickled code);
* ``metadata.json``: the format, the version, the architecture, the transformer's parameters (mixture
  modes, category levels and shares: summaries, never rows), the column schema, the training metadata
  (input Delta versions, config hash, epochs, probe history) and the SHA-256 of ``generator.pt``.

The metadata is written last, so a directory without it is an unfinished write and is ignored. Loading
checks the format, the version, the weights' digest, that the transformer's width matches the
architecture and that the weights fit the network: a tampered or mismatched artifact fails with an
:class:`~recaug_spark.errors.ArtifactError` naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from recaug_spark.errors import ArtifactError
from recaug_spark.gan.model import Architecture, Generator
from recaug_spark.gan.transform import DataTransformer

FORMAT = "recaug-generator/1"
WEIGHTS = "generator.pt"
METADATA = "metadata.json"
FILES = (WEIGHTS, METADATA)


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
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, buffer)
        return cls(version, architecture, transformer, buffer.getvalue(), dict(info))

    def files(self) -> dict[str, bytes]:
        """The artifact's files by name (weights first: metadata is written last)."""
        metadata = {
            "format": FORMAT,
            "version": self.version,
            "weights_sha256": hashlib.sha256(self.weights).hexdigest(),
            "architecture": asdict(self.architecture),
            "transformer": self.transformer.to_dict(),
            **self.info,
        }
        return {WEIGHTS: self.weights, METADATA: json.dumps(metadata, sort_keys=True, indent=1).encode()}

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], *, where: str) -> GeneratorArtifact:
        """Rebuild and verify an artifact from its files (``where`` names it in errors)."""
        missing = [name for name in FILES if name not in files]
        if missing:
            raise ArtifactError(
                f"generator artifact {where} lacks {missing}: an unfinished write; retrain with `recaug train-gan`"
            )
        try:
            meta = json.loads(files[METADATA])
        except ValueError as exc:
            raise ArtifactError(f"{where}/{METADATA} is not valid JSON ({exc}); the artifact is damaged") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise ArtifactError(f"{where}/{METADATA}: format {found!r}, expected {FORMAT!r}; retrain with this version")
        digest = hashlib.sha256(files[WEIGHTS]).hexdigest()
        if digest != meta.get("weights_sha256"):
            raise ArtifactError(
                f"{where}/{WEIGHTS} does not match the digest in {METADATA} (sha256 {digest[:12]}... vs "
                f"{str(meta.get('weights_sha256'))[:12]}...): the artifact was modified or mixed with another; "
                "retrain with `recaug train-gan` or restore it"
            )
        try:
            arch = Architecture(
                **{**meta["architecture"], "generator_dims": tuple(meta["architecture"]["generator_dims"])}
            )
            transformer = DataTransformer.from_dict(meta["transformer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{where}/{METADATA}: bad architecture or transformer ({exc})") from exc
        if transformer.output_dim != arch.data_dim:
            raise ArtifactError(
                f"{where}: the transformer encodes {transformer.output_dim} columns but the generator outputs "
                f"{arch.data_dim}: metadata and weights do not belong together"
            )
        info = {
            k: v
            for k, v in meta.items()
            if k not in ("format", "version", "weights_sha256", "architecture", "transformer")
        }
        artifact = cls(str(meta.get("version")), arch, transformer, files[WEIGHTS], info)
        artifact.generator()  # the weights must load into the network now, not on an executor later
        return artifact

    def generator(self) -> Generator:
        """The generator in eval mode with the weights loaded (tensors only)."""
        try:
            state = torch.load(io.BytesIO(self.weights), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for a bad file
            raise ArtifactError(f"generator {self.version}: cannot load {WEIGHTS} as tensors ({exc})") from exc
        generator = Generator(self.architecture)
        try:
            generator.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ArtifactError(f"generator {self.version}: weights do not fit the architecture ({first})") from exc
        return generator.eval()
