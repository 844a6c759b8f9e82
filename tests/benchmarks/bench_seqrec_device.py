"""Benchmark seqrec-device: seconds per SASRec training epoch on CUDA against the CPU, same sequences.

The sequences are the demo shop's at 2 x 10^5 events (``demo_sequences.shop_sequences``; it is
generated in numpy, so a GPU machine needs no data beside the checkout). Each device trains the same
tensors with the same seed and config (the default loss, a validation after every pass's worth of steps)
at batch sizes 256 and 2,048; s/epoch is the median over the epochs after the first (CUDA's first
epoch pays for kernel loading). ``ratio`` = CPU s/epoch / CUDA s/epoch at batch 256;
target 1 (the GPU is not slower). Without a CUDA device the benchmark is skipped.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import torch

from recaug_spark.config import SasrecConfig
from recaug_spark.recommend.sasrec.train import train
from tests.benchmarks.demo_sequences import training_data

TARGET = 1.0
BATCH_SIZES = (256, 2_048)  # the first is the one the ratio reads


def seconds_per_epoch(device: str, batch_size: int, *, epochs: int, events: int) -> dict[str, float]:
    """Train on ``device``; the median epoch time after the first, and the first epoch's."""
    data, _ = training_data(events)
    per_epoch = -(-len(data.sequences) // batch_size)  # a validation after each pass's worth of steps
    conf = SasrecConfig(steps=epochs * per_epoch, eval_every=per_epoch, device=device, batch_size=batch_size)
    marks = [0.0] + [h.seconds for h in train(data, conf, seed=0).history]
    seconds = [b - a for a, b in itertools.pairwise(marks)]
    return {"s_per_epoch": round(statistics.median(seconds[1:] or seconds), 3), "first_epoch_s": round(seconds[0], 3)}


def run(*, quick: bool) -> dict[str, Any]:
    """Time both devices at both batch sizes; return the DESIGN.md result record."""
    if not torch.cuda.is_available():
        return {"skipped": "torch sees no CUDA device", "ratio": None, "target": TARGET, "passed": True}
    events, epochs = (20_000, 3) if quick else (200_000, 4)
    timings = {
        f"{device}_batch{batch}": seconds_per_epoch(device, batch, epochs=epochs, events=events)
        for batch in BATCH_SIZES
        for device in ("cuda", "cpu")
    }
    default, large = BATCH_SIZES
    ratio = timings[f"cpu_batch{default}"]["s_per_epoch"] / timings[f"cuda_batch{default}"]["s_per_epoch"]
    large_ratio = timings[f"cpu_batch{large}"]["s_per_epoch"] / timings[f"cuda_batch{large}"]["s_per_epoch"]
    return {
        "ratio": round(ratio, 2), "target": TARGET, "passed": ratio >= TARGET,
        "large_batch_ratio": round(large_ratio, 2), "events": events, "epochs": epochs,
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
        **timings,
        "summary": f"s/epoch at batch {default}: cpu {timings[f'cpu_batch{default}']['s_per_epoch']} vs cuda "
        f"{timings[f'cuda_batch{default}']['s_per_epoch']}; batch {large}: cpu "
        f"{timings[f'cpu_batch{large}']['s_per_epoch']} vs cuda {timings[f'cuda_batch{large}']['s_per_epoch']}",
    }  # fmt: skip
