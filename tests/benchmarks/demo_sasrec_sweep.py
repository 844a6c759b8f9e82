"""SASRec settings on the demo shop's validation slice: the runs behind conf/local.yaml's demo profile.

``.venv/bin/python -m tests.benchmarks.demo_sasrec_sweep '[{"max_len": 5, "loss": "full_softmax"}, ...]'``
trains once per JSON object (``SasrecConfig`` updates over the demo's config) on bench demo-floor's data
(the training period, every window, the first 5,000 users' last item held back) and prints one JSON
line per run (tests/benchmarks/sasrec_sweep.py's ``sweep``: the best step and measures, the steps run,
seconds and the validation curve). Nothing here reads the test period.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from recaug_spark.config import load_config
from tests.benchmarks.bench_demo_floor import demo_training_lists, training_data
from tests.benchmarks.sasrec_sweep import sweep


def main(updates: list[dict[str, Any]]) -> None:
    cfg = load_config()
    lists, items, _ = demo_training_lists(cfg)
    sweep(lambda max_len: training_data(lists, items, max_len), cfg.evaluate.sasrec, updates, seed=cfg.run.seed)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
