"""Where torch trains, shared by the GAN and SASRec: the device, and data-parallel training through
pyspark's TorchDistributor.

:func:`train_in_processes` starts ``processes`` processes (on the driver with ``local_mode``, else on
the executors), each running ``rank_fn(payload, rank, world)`` in a gloo process group with one torch
thread; rank 0's return value comes back through a file of its own (TorchDistributor's local mode has
every process write the function's return value to one file, the last one winning). Inside the loops,
:func:`all_reduce_grads` averages gradients before each optimizer step (plain all-reduce, not DDP: the
GAN's gradient penalty differentiates twice, which DDP's hooks do not support) and :func:`agree` hands
rank 0's early-stopping decision to every rank.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

R = TypeVar("R")
RankFn = Callable[[dict[str, Any], int, int], R]  # (payload, rank, world) -> rank 0's result


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or a taskset's share, not the
    machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def pick_device(wanted: str, *, key: str) -> torch.device:
    """``auto``: CUDA when available, else CPU; ``cuda`` without a GPU is an error naming the config ``key``."""
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{key} is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'")
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(wanted)


def all_reduce_grads(module: nn.Module, world: int) -> None:
    """Average gradients across the ranks (no-op for one process)."""
    if world <= 1:
        return
    import torch.distributed as dist

    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world


def agree(stop: bool, world: int, device: torch.device) -> bool:
    """Rank 0's decision (early stopping), shared with every rank."""
    if world <= 1:
        return stop
    import torch.distributed as dist

    flag = torch.tensor([1.0 if stop else 0.0], device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def train_in_processes(rank_fn: RankFn[R], payload: dict[str, Any], *, processes: int, local_mode: bool) -> R:
    """Run ``rank_fn`` in ``processes`` TorchDistributor processes; rank 0's result. ``rank_fn`` must be
    a module-level function (it is pickled by reference) and ``payload`` picklable."""
    from pyspark.ml.torch.distributor import TorchDistributor

    distributor = TorchDistributor(num_processes=processes, local_mode=local_mode, use_gpu=False)
    with tempfile.TemporaryDirectory(prefix="recaug-ddp-") as scratch:
        result_path = str(Path(scratch) / "rank0.pkl")
        distributor.run(_rank_main, {"fn": rank_fn, "payload": payload, "result_path": result_path})
        with open(result_path, "rb") as handle:
            result: R = pickle.load(handle)  # written by our own rank-0 process just now
            return result


def _rank_main(job: dict[str, Any]) -> None:
    """One process of :func:`train_in_processes`."""
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        torch.set_num_threads(1)
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        result = job["fn"](job["payload"], rank, world)
        if rank == 0:
            with open(job["result_path"], "wb") as handle:
                pickle.dump(result, handle)
    finally:
        dist.destroy_process_group()
