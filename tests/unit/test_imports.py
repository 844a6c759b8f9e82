"""Imports point one way: kernels and config never import pyspark (STYLE.md, rule 2)."""

from __future__ import annotations

import subprocess
import sys

PURE_MODULES = [
    "recaug_spark.config",
    "recaug_spark.errors",
    "recaug_spark.sources.synthetic_shop",
    "recaug_spark.rng",
    "recaug_spark.augment.numeric",
    "recaug_spark.augment.sequence",
    "recaug_spark.augment.context",
    "recaug_spark.augment.frames",
    "recaug_spark.augment.recipes",
    "recaug_spark.gan.checks",
    "recaug_spark.gan.mixture",
    "recaug_spark.gan.columns",
    "recaug_spark.gan.codec",
    "recaug_spark.gan.transform",
    "recaug_spark.gan.model",
    "recaug_spark.gan.sample",
    "recaug_spark.gan.train",
    "recaug_spark.gan.artifact",
    "recaug_spark.gan.generate",
    "recaug_spark.quality.fidelity",
    "recaug_spark.quality.privacy",
    "recaug_spark.report.quality",
    "recaug_spark.tensors",
    "recaug_spark.distributed",
    "recaug_spark.recommend.metrics",
    "recaug_spark.recommend.sasrec.model",
    "recaug_spark.recommend.sasrec.train",
    "recaug_spark.recommend.sasrec.artifact",
    "recaug_spark.recommend.sasrec.topk",
    "recaug_spark.recommend.sasrec.views",
]

BLOCKER = """
import importlib
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark.") or name == "py4j" or name.startswith("py4j."):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
failed = []
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        failed.append(f"{module}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_pure_modules_import_without_pyspark() -> None:
    """One interpreter imports them all (torch and pandas load once); the output names each failure."""
    result = subprocess.run([sys.executable, "-c", BLOCKER, *PURE_MODULES], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
