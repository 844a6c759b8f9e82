"""The keyed random generator's old address: it lives in :mod:`recaug_spark.rng` (used outside augment).

Kept for ``gan/generate.py``, whose import moves with the split of ``gan/`` under way; nothing else
imports from here.
"""

from recaug_spark.rng import Draws, mix64, stream_id

__all__ = ["Draws", "mix64", "stream_id"]
