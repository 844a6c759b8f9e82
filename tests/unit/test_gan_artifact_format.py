"""The generator artifact's format holds across code changes: a recorded artifact loads and decodes to
its recorded rows, and an artifact built now writes the recorded metadata byte for byte (no Spark).

``data/gan_generator_v1/`` was written by the code before gan/transform.py was split (commit f19540d):
``generator.pt`` and ``metadata.json`` are :func:`recorded_artifact`'s files, ``samples.json`` is
:func:`sample_rows` of it. Never regenerate them to make a test pass: a failure here means an artifact
already in a lake (``models/generator/<version>/``) would no longer load or would decode differently.

Loading, decoding and writing are pinned byte for byte. Fitting the transformer again (the mixtures'
EM) is pinned to 1e-9 relative: numpy's exp and log differ in the last bits between CPUs (on an AMD
EPYC host the refit's means moved by 1e-13 relative against the recording machine's), which changes no
format and no decoded row.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recaug_spark.gan.artifact import FILES, METADATA, WEIGHTS, GeneratorArtifact
from recaug_spark.gan.model import Architecture, Generator
from recaug_spark.gan.sample import ConditionLayout, flat_spans, generate_rows
from recaug_spark.gan.transform import DataTransformer

RECORDED = Path(__file__).resolve().parent / "data" / "gan_generator_v1"
SAMPLES = "samples.json"
CONTINUOUS = ("price", "hour")
CATEGORICAL = ("event_type", "shop")
VERSION = "compat-v1"
INFO = {"note": "recorded before gan/transform.py was split"}


def small_frame() -> pd.DataFrame:
    """Two-cluster prices with 2 decimals (some missing), integer hours, event types, shops beyond top_k."""
    rng = np.random.default_rng(20)
    n = 400
    price = np.abs(np.round(np.where(rng.random(n) < 0.7, rng.gamma(2.0, 1.5, n), rng.normal(40.0, 5.0, n)), 2))
    price[rng.random(n) < 0.1] = np.nan
    shop = rng.choice(np.array(["north", "south", "east", "west", "harbour"], dtype=object), n)
    shop[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "price": price,
            "hour": rng.integers(0, 24, n).astype(float),
            "event_type": rng.choice(["view", "cart", "purchase"], n, p=[0.7, 0.2, 0.1]),
            "shop": shop,
        }
    )


def fit_small() -> DataTransformer:
    return DataTransformer.fit(small_frame(), continuous=CONTINUOUS, categorical=CATEGORICAL, top_k=3, seed=0)


def recorded_artifact(transformer: DataTransformer) -> GeneratorArtifact:
    """An untrained generator (seeded weights) with ``transformer``: the recipe of the recorded files."""
    arch = Architecture(transformer.output_dim, ConditionLayout.of(transformer).cond_dim, 8, (16,))
    torch.manual_seed(0)
    return GeneratorArtifact.pack(
        Generator(arch).state_dict(), version=VERSION, architecture=arch, transformer=transformer, info=INFO
    )


def sample_rows(artifact: GeneratorArtifact) -> pd.DataFrame:
    """64 decoded rows of ``artifact`` under seeded conditions and noise."""
    transformer = artifact.transformer
    layout = ConditionLayout.of(transformer)
    cond = layout.vectors(*layout.draw(64, np.random.default_rng(1), log_frequency=False))
    return generate_rows(
        artifact.generator(), transformer, flat_spans(transformer), cond,
        embedding_dim=artifact.architecture.embedding_dim, seed=2,
    )  # fmt: skip


def recorded_files() -> dict[str, bytes]:
    return {name: (RECORDED / name).read_bytes() for name in FILES}


def recorded_samples() -> pd.DataFrame:
    """samples.json as ``generate_rows`` returns it: float64 continuous (NaN for missing), object levels."""
    columns = json.loads((RECORDED / SAMPLES).read_text())
    dtypes = {name: np.float64 if name in CONTINUOUS else object for name in columns}
    return pd.DataFrame({name: pd.Series(values, dtype=dtypes[name]) for name, values in columns.items()})


def assert_same_fit(found: object, recorded: object, where: str = "transformer") -> None:
    """Equal structure, keys, levels and integers; floats equal to 1e-9 relative (see the module's note)."""
    if isinstance(recorded, dict):
        assert isinstance(found, dict) and sorted(found) == sorted(recorded), where  # order: the byte test
        for key, value in recorded.items():
            assert_same_fit(found[key], value, f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(found, list) and len(found) == len(recorded), where
        for i, (mine, theirs) in enumerate(zip(found, recorded, strict=True)):
            assert_same_fit(mine, theirs, f"{where}[{i}]")
    elif isinstance(recorded, float) and not isinstance(found, bool):
        assert isinstance(found, float) and math.isclose(found, recorded, rel_tol=1e-9), (where, found, recorded)
    else:
        assert found == recorded and type(found) is type(recorded), (where, found, recorded)


def test_a_recorded_artifact_loads_and_decodes_to_the_recorded_rows() -> None:
    artifact = GeneratorArtifact.from_files(recorded_files(), where=str(RECORDED))
    assert artifact.version == VERSION and artifact.info == INFO
    assert_same_fit(fit_small().to_dict(), artifact.transformer.to_dict())
    pd.testing.assert_frame_equal(sample_rows(artifact), recorded_samples(), check_exact=True)


def test_an_artifact_built_now_writes_the_recorded_metadata() -> None:
    recorded = recorded_files()
    loaded = GeneratorArtifact.from_files(recorded, where=str(RECORDED))
    fresh = recorded_artifact(loaded.transformer)
    same_weights = dataclasses.replace(fresh, weights=recorded[WEIGHTS])  # torch.save's bytes may vary by version
    assert same_weights.files()[METADATA] == recorded[METADATA]  # byte for byte: keys, order, numbers
    assert_same_fit(fit_small().to_dict(), json.loads(recorded[METADATA])["transformer"])
