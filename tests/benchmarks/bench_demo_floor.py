"""Benchmark demo-floor: is the demo's SASRec trained to convergence within its budget, and what does it cost?

The demo shop's training period (the generator's events before the split's cutoff day; the bots and
duplicates that preprocess removes are still in them, a few percent of the rows), per-user item lists
as evaluate builds them, every window of ``max_len + 1`` items, the first 5,000 users' last item held
back for validation. SASRec trains twice with the demo's config (conf/local.yaml): with its step budget,
and with 4x the budget (steps, min_steps and patience all 4x). ``ratio`` = the demo budget's selected
validation MRR / the 4x run's, target >= 0.98 (within 2%: the demo's SASRec is not under-trained). Also
recorded: seconds, steps run and the selected step of each, and the demo's SASRec seconds for its
variants (one training per variant of ``evaluate.variants``). ``device``: the config's (``auto`` trains
on CUDA where there is one).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from recaug_spark.config import RecaugConfig, load_config
from recaug_spark.prep.split import quantile_day
from recaug_spark.recommend.sasrec.topk import right_aligned
from recaug_spark.recommend.sasrec.train import TrainingData, train
from recaug_spark.sources.demo import shop_spec
from recaug_spark.sources.synthetic_shop import events_of_chunk
from tests.benchmarks.demo_sequences import item_lists

TARGET = 0.98
VALIDATION_USERS = 5_000
UNIX_DAY_0 = date(1970, 1, 1)


def demo_training_lists(cfg: RecaugConfig) -> tuple[list[list[int]], int, int]:
    """The demo shop's training-period item lists (per user), the catalogue size and the events kept."""
    spec = shop_spec(cfg.source, cfg.run.seed)  # type: ignore[arg-type]
    chunks = [events_of_chunk(spec, chunk) for chunk in range(spec.n_chunks)]
    frame = pd.DataFrame({
        "user": np.concatenate([c.user for c in chunks]),
        "item": np.concatenate([c.item for c in chunks]),
        "ts": np.concatenate([c.ts_ms for c in chunks]),
    })  # fmt: skip
    day = frame.ts // 86_400_000
    per_day = day.value_counts().sort_index()
    cutoff = quantile_day([(UNIX_DAY_0 + timedelta(days=int(d)), int(n)) for d, n in per_day.items()],
                          cfg.split.cutoff_quantile)  # fmt: skip
    training = frame[day < (cutoff - UNIX_DAY_0).days]
    lists, items = item_lists(training)
    return lists, items, len(training)


def training_data(lists: list[list[int]], items: int, max_len: int) -> TrainingData:
    """Every window of each history (the first users' last item held back for validation)."""
    held = [x[:-1] if u < VALIDATION_USERS and len(x) >= 2 else x for u, x in enumerate(lists)]
    windows = [h[max(0, e - max_len - 1) : e] for h in held for e in range(len(h), 1, -max_len)]
    valid = [u for u in range(min(VALIDATION_USERS, len(lists))) if len(lists[u]) >= 2]
    return TrainingData(
        sequences=right_aligned(pa.array(windows), max_len + 1),
        valid_inputs=right_aligned(pa.array([lists[u][:-1][-max_len:] for u in valid]), max_len),
        valid_targets=np.array([lists[u][-1] for u in valid], dtype=np.int64),
        items=items,
    )


def run(*, quick: bool) -> dict[str, Any]:
    """The demo budget against 4x of it on the demo's real sequences; return the DESIGN.md result record."""
    cfg = load_config([], ["source.events=20000"] if quick else [])
    demo = cfg.evaluate.sasrec
    longer = demo.model_copy(
        update={"steps": 4 * demo.steps, "min_steps": 4 * demo.min_steps, "patience": 4 * demo.patience}
    )
    lists, items, kept = demo_training_lists(cfg)
    data = training_data(lists, items, demo.max_len)
    runs = {name: train(data, conf, seed=cfg.run.seed) for name, conf in (("demo", demo), ("4x", longer))}
    ratio = runs["demo"].best_mrr / max(runs["4x"].best_mrr, 1e-12)
    figures = {
        name: {"best_mrr": round(t.best_mrr, 5), "best_ndcg_at_10": round(t.best_ndcg, 5),
               "seconds": round(t.seconds, 1), "steps_run": t.steps_run, "best_step": t.best_step,
               "stopped_early": t.stopped_early}
        for name, t in runs.items()
    }  # fmt: skip
    variants = len(cfg.evaluate.variants)
    return {
        "ratio": round(ratio, 4), "target": TARGET, "passed": ratio >= TARGET, "device": runs["demo"].device,
        "events_in_training": kept, "sequences": len(data.sequences), "items": items, "runs": figures,
        "variants": variants, "demo_sasrec_seconds_all_variants": round(variants * runs["demo"].seconds, 1),
        "summary": f"validation MRR {runs['demo'].best_mrr:.4f} in {runs['demo'].seconds:.0f} s "
        f"({runs['demo'].steps_run} steps) vs {runs['4x'].best_mrr:.4f} in {runs['4x'].seconds:.0f} s "
        f"({runs['4x'].steps_run} steps) at 4x the budget",
    }  # fmt: skip
