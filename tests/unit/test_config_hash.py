"""The config hashes are pinned: they are written into Delta tables (gold/pipeline_runs, norm_stats versions,
generator metadata), so a change to them, or to what enters them, makes every stage recompute its inputs.

If a change of the config models is meant to change a hash (a new key, a new default), update the pins
in the same commit and say so; field descriptions never enter a hash.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recaug_spark.config import RecaugConfig, default_conf_dir, load_config

SECTIONS = (
    "lake", "spark", "run", "ingest", "source", "preprocess", "split", "augment", "gan", "generate", "policy",
    "evaluate", "maintain", "refresh",
)  # fmt: skip
OVERRIDES = (
    "run.seed=7",
    "augment.ops=[{op: crop, eta: 0.5}, {op: slide_window, length: 5, copies: 3}]",
    "evaluate.sasrec.contrastive.lambda=0.3",
    "split.mode=leave_last",
    "spark.conf={spark.sql.ansi.enabled: 'true'}",
)
DEFAULT_SECTIONS = {
    "lake": "0f611866be65378a", "spark": "02012ea18c904a1c", "run": "8fdb797283c49a23", "ingest": "fa7ea6dac9d0cba3",
    "source": "b34d655e110a4c3e", "preprocess": "35cbf27da41b2878", "split": "447c11cb5765ed09",
    "augment": "e0d0e3d24a1392d0", "gan": "7a83f57835282869", "generate": "92c144ba0578ca03",
    "policy": "73c5a6e3e5c14e34", "evaluate": "c580e22b0552e5d7", "maintain": "eba6c8030323cece",
    "refresh": "4b2711cbb2e9e364",
}  # fmt: skip
PINNED = {  # name: (--conf files under the packaged conf/, --set overrides, config_hash, changed section hashes)
    "default": ((), (), "274589e48d128067", {}),
    "overrides": (
        (),
        OVERRIDES,
        "731d4c845416f89d",
        {
            "spark": "0c78c8256d4e035b", "run": "43a4ef518e93c89a", "split": "b371ece1b3d6afb7",
            "augment": "99c3b1a5c8df324a", "evaluate": "dbddfa890ab5ce84",
        },
    ),
    "taobao": (
        ("sources/taobao.yaml",),
        (),
        "6e50da737ec77447",
        {
            "source": "665bac3c4ffda8f8", "preprocess": "c1e5f87bbd4edc42", "augment": "42e78da0a9572276",
            "gan": "f7131b78c6ecd37e", "evaluate": "7a5e3c3d1708f7b8",
        },
    ),
    "completejourney": (
        ("sources/completejourney.yaml",),
        (),
        "9588ec2de976b44b",
        {
            "source": "0f2f120b1c14ef52", "preprocess": "22ac6f925a935d9d", "gan": "8fcfe09bd0be476f",
            "evaluate": "d2a3b75fd57c4d4e",
        },
    ),
}  # fmt: skip


def pinned_config(files: tuple[str, ...], overrides: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> RecaugConfig:
    """The config of ``files`` and ``overrides`` with every machine-dependent path fixed: the lake root, the
    home directory (spark.jars_cache) and the data directory (the packaged sources' paths)."""
    monkeypatch.setenv("HOME", "/home/pin")
    monkeypatch.setenv("RECAUG_DATA_DIR", "/data")
    conf = Path(str(default_conf_dir()))
    return load_config([conf / f for f in files], overrides, lake_root="/pinned/lake")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_config_and_section_hashes_are_pinned(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    files, overrides, whole, changed = PINNED[name]
    cfg = pinned_config(files, overrides, monkeypatch)
    assert {s: cfg.section_hash(s) for s in SECTIONS} == {**DEFAULT_SECTIONS, **changed}
    assert cfg.config_hash() == whole
    assert cfg.config_hash() == cfg.section_hash(*SECTIONS)


def test_the_hash_reads_values_only() -> None:
    """A value's alias does not matter (contrastive.lambda hashes as its field name), nor does its spelling."""
    base = {"spark": {"delta_version": "4.4.0"}, "source": {"kind": "demo"}}
    by_alias = RecaugConfig.model_validate({**base, "evaluate": {"sasrec": {"contrastive": {"lambda": 0.1}}}})
    by_name = RecaugConfig.model_validate({**base, "evaluate": {"sasrec": {"contrastive": {"weight": 0.1}}}})
    default = RecaugConfig.model_validate(base)
    assert by_alias.config_hash() == by_name.config_hash() == default.config_hash()
