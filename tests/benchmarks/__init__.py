"""The benchmarks (``python -m tests.benchmarks.run``, ``make bench``).

``recaug_spark`` is imported first, before any benchmark imports torch: it sets OpenMP's spin count
(``GOMP_SPINCOUNT``), which libgomp reads once when torch loads, so the package's code runs here with
the setting it has in production, and a benchmark's subprocesses (peers included) inherit it.
"""

import recaug_spark  # noqa: F401
