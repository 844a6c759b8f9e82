"""SASRec settings on a lake's validation slice: the runs behind a dataset's ``evaluate.sasrec`` block.

``.venv/bin/python -m tests.benchmarks.sasrec_sweep --conf conf/sources/completejourney.yaml --lake
/tmp/lake-cj '[{"popularity_negatives": 0.5}, ...]'`` reads the lake's real training rows (silver/events
less the test period, after `recaug split`), builds the variant ``real``'s training windows and
validation slice exactly as evaluate does (recommend/sasrec/score.py), and trains once per JSON object
(``SasrecConfig`` updates over the config's, ``max_len`` included). It prints one JSON line with the
data's size and popularity's validation MRR and NDCG@10 (the model to beat), then one per run: the best
step and measures, the steps run, seconds and the validation curve (step, MRR, NDCG@10, training loss,
seconds). Nothing here reads the test period.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from recaug_spark.config import SasrecConfig, load_config
from recaug_spark.lake import Lake
from recaug_spark.prep import split
from recaug_spark.recommend.sasrec import sequences as sq
from recaug_spark.recommend.sasrec.score import variant_data
from recaug_spark.recommend.sasrec.train import TrainingData, Validation, mask_items, measures, target_ranks, train
from recaug_spark.schema import SILVER_EVENTS, SILVER_SPLIT
from recaug_spark.session import build_session


def popularity_measures(data: TrainingData) -> tuple[float, float]:
    """Validation (MRR, NDCG@10) of ranking by training-target counts, ranked as SASRec's validation
    ranks its scores (input items left out, ties by item index)."""
    inputs, targets = torch.from_numpy(data.valid_inputs), torch.from_numpy(data.valid_targets)
    counts = torch.from_numpy(data.popularity().astype(np.float64))
    ranks = []
    for start in range(0, len(targets), 1024):  # (rows x catalogue) doubles a chunk
        part = targets[start : start + 1024]
        ranks.append(target_ranks(mask_items(counts.expand(len(part), -1), inputs[start : start + 1024]), part))
    mrr, ndcg, _ = measures(torch.cat(ranks) if ranks else torch.zeros(0, dtype=torch.long))
    return mrr, ndcg


def sweep(
    data_for: Callable[[int], TrainingData], base: SasrecConfig, updates: Sequence[dict[str, Any]], *, seed: int
) -> list[dict[str, Any]]:
    """Train once per update of ``base`` on ``data_for(max_len)``; print and return one record per run."""
    runs = []
    for update in updates:
        conf = base.model_copy(update=update)
        data = data_for(conf.max_len)
        curve: list[tuple[int, float, float, float, float]] = []

        def record(stats: Validation, curve: list[tuple[int, float, float, float, float]] = curve) -> None:
            curve.append(
                (stats.step, round(stats.mrr, 4), round(stats.ndcg_at_10, 4), round(stats.loss, 3),
                 round(stats.seconds, 1))
            )  # fmt: skip

        started = time.perf_counter()
        trained = train(data, conf, seed=seed, on_validation=record)
        run = {
            "update": update, "windows": len(data.sequences),
            "best": [trained.best_step, round(trained.best_mrr, 4), round(trained.best_ndcg, 4)],
            "steps": trained.steps_run, "seconds": round(time.perf_counter() - started, 1), "curve": curve,
        }  # fmt: skip
        print(json.dumps(run), flush=True)
        runs.append(run)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", action="append", default=[], help="a config file (as recaug's --conf)")
    parser.add_argument("--lake", required=True, help="a lake after `recaug split`")
    parser.add_argument("updates", help="a JSON list of SasrecConfig updates")
    args = parser.parse_args(argv)
    cfg = load_config(args.conf, lake_root=args.lake)
    spark = build_session(cfg.spark)
    lake = Lake(spark, cfg.lake.root)
    real = split.training_rows(lake.read(SILVER_EVENTS), lake.read(SILVER_SPLIT))
    index = sq.item_index(real).persist()
    items = index.count()
    built: dict[int, TrainingData] = {}

    def data_for(max_len: int) -> TrainingData:
        if max_len not in built:
            conf = cfg.evaluate.sasrec.model_copy(update={"max_len": max_len})
            history = sq.histories(real, index, conf)
            built[max_len] = variant_data(history, {}, index, conf, seed=cfg.run.seed, weights={}, items=items)
        return built[max_len]

    first = data_for(cfg.evaluate.sasrec.max_len)
    mrr, ndcg = popularity_measures(first)
    summary = {
        "windows": len(first.sequences), "validation_users": len(first.valid_targets), "items": items,
        "popularity": [round(mrr, 4), round(ndcg, 4)],
    }  # fmt: skip
    print(json.dumps(summary), flush=True)
    sweep(data_for, cfg.evaluate.sasrec, json.loads(args.updates), seed=cfg.run.seed)
    spark.stop()


if __name__ == "__main__":
    main()
