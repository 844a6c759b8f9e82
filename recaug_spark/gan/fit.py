"""Fitting a generator on its training sample: the data transformer, then training in this process
(CPU or CUDA) or data-parallel in ``gan.train.distributed.processes`` TorchDistributor processes."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch

from recaug_spark import distributed
from recaug_spark.config import GanConfig
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.train import EpochStats, TrainedGenerator, train
from recaug_spark.gan.transform import DataTransformer

log = logging.getLogger(__name__)


def fit_transformer(sample: pd.DataFrame, gan: GanConfig, *, seed: int) -> DataTransformer:
    """The transformer of the GAN columns, fitted on the training sample."""
    continuous, categorical = gan_table.chosen(gan)
    return DataTransformer.fit(
        sample[gan_table.names(gan)], continuous=continuous, categorical=categorical, top_k=gan.top_k,
        max_modes=gan.mixture.max_modes, weight_threshold=gan.mixture.weight_threshold,
        gmm_rows=gan.mixture.sample_rows, iterations=gan.mixture.iterations, seed=seed,
    )  # fmt: skip


def _log_epoch(stats: EpochStats) -> None:
    probe = f", probe fidelity {stats.fidelity:.4f}" if stats.fidelity is not None else ""
    log.info(
        "train-gan: epoch %d: critic %.4f, generator %.4f, gp %.4f, %.1f s%s",
        stats.epoch, stats.critic_loss, stats.generator_loss, stats.gradient_penalty, stats.seconds, probe,
    )  # fmt: skip


def train_generator(
    data: np.ndarray, transformer: DataTransformer, holdout: pd.DataFrame, gan: GanConfig, *, seed: int
) -> TrainedGenerator:
    """Train in this process, or in ``distributed.processes`` processes through TorchDistributor."""
    processes = gan.train.distributed.processes
    if processes <= 1:
        if gan.train.threads:
            torch.set_num_threads(gan.train.threads)
        return train(
            data,
            transformer,
            holdout,
            model=gan.model,
            params=gan.train,
            epochs=gan.epochs,
            seed=seed,
            on_epoch=_log_epoch,
        )
    log.info("train-gan: data-parallel training in %d processes (TorchDistributor)", processes)
    payload = {
        "data": data, "transformer": transformer.to_dict(), "holdout": holdout, "seed": seed,
        "gan": gan,
    }  # fmt: skip
    return distributed.train_in_processes(
        _train_rank, payload, processes=processes, local_mode=gan.train.distributed.local_mode
    )


def _train_rank(payload: dict[str, Any], rank: int, world: int) -> TrainedGenerator:
    """One rank of distributed training (recaug_spark/distributed.py): ``payload`` holds data, transformer
    (dict), holdout, gan (its columns chosen: not validated again, a constant event_type may be left out)
    and seed."""
    from recaug_spark.gan.train import train
    from recaug_spark.gan.transform import DataTransformer

    cfg = payload["gan"]
    return train(
        payload["data"], DataTransformer.from_dict(payload["transformer"]), payload["holdout"],
        model=cfg.model, params=cfg.train, epochs=cfg.epochs, seed=payload["seed"], rank=rank, world=world,
    )  # fmt: skip
