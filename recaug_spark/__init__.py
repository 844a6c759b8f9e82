"""recaug-spark: PySpark jobs that augment e-commerce recommendation data on Delta Lake."""

import os
from importlib.metadata import PackageNotFoundError, version

# OpenMP threads that wait for work spin only briefly (1,000 spins) before they sleep: set before
# anything imports torch, whose OpenMP runtime (libgomp) reads it once. Spinning threads hold their
# cores between parallel regions, so training beside another busy process collapsed (25x slower, a GAN
# epoch; SASRec 2.5x) instead of sharing the cores; never spinning (OMP_WAIT_POLICY=PASSIVE) costs a
# small model 30-60% alone. tests/benchmarks/bench_seqrec_share.py measures the three. A user's own
# OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

try:
    __version__ = version("recaug-spark")
except PackageNotFoundError:  # running from a --py-files zip without package metadata
    __version__ = "0.1.0"

__all__ = ["__version__"]
