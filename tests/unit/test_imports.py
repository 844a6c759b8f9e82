"""Imports point one way: kernels and config never import pyspark (STYLE.md, rule 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_MODULES = [
    "recaug_spark.config",
    "recaug_spark.errors",
    "recaug_spark.sources.synthetic_shop",
    "recaug_spark.augment.rng",
    "recaug_spark.augment.numeric",
    "recaug_spark.augment.sequence",
    "recaug_spark.augment.context",
    "recaug_spark.augment.frames",
    "recaug_spark.augment.recipes",
]

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark.") or name == "py4j" or name.startswith("py4j."):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
import importlib
importlib.import_module(sys.argv[1])
"""


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_without_pyspark(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER, module], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
