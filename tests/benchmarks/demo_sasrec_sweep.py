"""SASRec settings on the demo shop's validation slice: the runs behind conf/local.yaml's demo profile.

``.venv/bin/python -m tests.benchmarks.demo_sasrec_sweep '[{"max_len": 5, "loss": "full_softmax"}, ...]'``
trains once per JSON object (``SasrecConfig`` updates over the demo's config) on bench demo-floor's data
(the training period, every window, the first 5,000 users' last item held back) and prints one JSON
line per run: windows, the best step and MRR, the steps run, seconds and the validation curve
(step, MRR, seconds). Nothing here reads the test period.
"""

from __future__ import annotations

import json
import sys
import time

from recaug_spark.config import load_config
from recaug_spark.recommend.sasrec.train import Validation, train
from tests.benchmarks.bench_demo_floor import demo_training_lists, training_data


def main(updates: list[dict[str, object]]) -> None:
    cfg = load_config()
    lists, items, _ = demo_training_lists(cfg)
    for update in updates:
        conf = cfg.evaluate.sasrec.model_copy(update=update)
        data = training_data(lists, items, conf.max_len)
        curve: list[tuple[int, float, float]] = []

        def record(stats: Validation, curve: list[tuple[int, float, float]] = curve) -> None:
            curve.append((stats.step, round(stats.mrr, 4), round(stats.seconds, 1)))

        started = time.perf_counter()
        trained = train(data, conf, seed=cfg.run.seed, on_validation=record)
        run = {
            "update": update, "windows": len(data.sequences), "best": [trained.best_step, round(trained.best_mrr, 4)],
            "steps": trained.steps_run, "seconds": round(time.perf_counter() - started, 1), "curve": curve,
        }  # fmt: skip
        print(json.dumps(run), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
