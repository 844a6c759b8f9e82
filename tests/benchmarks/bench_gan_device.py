"""Benchmark gan-device: seconds per WGAN-GP epoch on CUDA against the CPU, same rows, same settings.

The table is gan-peer's Complete Journey table (``complete_journey_table``), or a parquet copy of it
named by ``RECAUG_BENCH_TABLE`` (for a GPU machine that has no ../shared beside the checkout:
``python -m tests.benchmarks.bench_gan_device --export PATH`` writes it). Each device trains the same
training rows with the same seed for the same epochs, at the default batch size (500) and at a larger
one (4,000), which is where a GPU earns its keep; the fidelity probe runs once, after the last epoch,
so the timed epochs are training steps only. s/epoch is the median over the epochs after the first
(CUDA's first epoch pays for kernel loading). ``ratio`` = CPU s/epoch / CUDA s/epoch at the default
batch size; target 1 (the GPU is not slower). Without a CUDA device the benchmark is skipped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from recaug_spark.config import GanModelConfig, GanTrainConfig
from recaug_spark.gan.train import train
from recaug_spark.gan.transform import DataTransformer
from tests.benchmarks.bench_gan_peer import CATEGORICAL, CONTINUOUS, complete_journey_table

TARGET = 1.0
BATCH_SIZES = (500, 4_000)


def table() -> pd.DataFrame:
    """The Complete Journey table, from the parquet copy when ``RECAUG_BENCH_TABLE`` names one."""
    copy = os.environ.get("RECAUG_BENCH_TABLE")
    return pd.read_parquet(copy) if copy else complete_journey_table()


def seconds_per_epoch(rows: pd.DataFrame, probe: pd.DataFrame, *, device: str, batch_size: int, epochs: int) -> dict:
    """Train on ``device``; the median epoch time after the first, the first epoch's and the probe's score."""
    transformer = DataTransformer.fit(rows, top_k=30, continuous=CONTINUOUS, categorical=CATEGORICAL)
    encoded = transformer.transform(rows)
    params = GanTrainConfig(batch_size=batch_size, device=device, probe_every=epochs, patience=epochs)
    started = time.perf_counter()
    trained = train(encoded, transformer, probe, model=GanModelConfig(), params=params, epochs=epochs, seed=0)
    wall = time.perf_counter() - started
    seconds = [h.seconds for h in trained.history]
    return {
        "s_per_epoch": round(statistics.median(seconds[1:-1] or seconds), 3),
        "first_epoch_s": round(seconds[0], 3),
        "wall_s": round(wall, 2),
        "fidelity": round(trained.best_fidelity or float("nan"), 4),
    }


def run(*, quick: bool) -> dict[str, Any]:
    """Time both devices at both batch sizes; return the DESIGN.md result record."""
    if not torch.cuda.is_available():
        return {"skipped": "torch sees no CUDA device", "ratio": None, "target": TARGET, "passed": True}
    train_rows, probe_rows, epochs = (5_000, 1_000, 3) if quick else (50_000, 5_000, 5)
    data = table()
    rows = data.iloc[:train_rows].reset_index(drop=True)
    probe = data.iloc[train_rows : train_rows + probe_rows].reset_index(drop=True)
    timings = {
        f"{device}_batch{batch}": seconds_per_epoch(rows, probe, device=device, batch_size=batch, epochs=epochs)
        for batch in BATCH_SIZES
        for device in ("cuda", "cpu")
    }
    default, large = BATCH_SIZES
    ratio = timings[f"cpu_batch{default}"]["s_per_epoch"] / timings[f"cuda_batch{default}"]["s_per_epoch"]
    large_ratio = timings[f"cpu_batch{large}"]["s_per_epoch"] / timings[f"cuda_batch{large}"]["s_per_epoch"]
    return {
        "ratio": round(ratio, 2),
        "target": TARGET,
        "passed": ratio >= TARGET,
        "large_batch_ratio": round(large_ratio, 2),
        "train_rows": train_rows,
        "epochs": epochs,
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        **timings,
        "summary": (
            f"s/epoch at batch {default}: cpu {timings[f'cpu_batch{default}']['s_per_epoch']} vs cuda "
            f"{timings[f'cuda_batch{default}']['s_per_epoch']}; batch {large}: cpu "
            f"{timings[f'cpu_batch{large}']['s_per_epoch']} vs cuda {timings[f'cuda_batch{large}']['s_per_epoch']}"
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="export the benchmark's table as parquet (for a GPU machine)")
    parser.add_argument("--export", type=Path, required=True)
    args = parser.parse_args()
    args.export.parent.mkdir(parents=True, exist_ok=True)
    complete_journey_table().iloc[:60_000].to_parquet(args.export, index=False)
    print(f"wrote {args.export}")
