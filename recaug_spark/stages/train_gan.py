"""Stage train-gan: training-period events -> models/generator/<run id>/ (a conditional WGAN-GP).

The training table (gan/table.py) is sampled in Spark to ``gan.max_rows`` rows plus a holdout of
``gan.holdout_rows``, both chosen by a hash of the event id and read at the current Delta versions;
only that bounded sample reaches the driver, as Arrow batches. The transformer is fitted on it, the
networks trained on the driver (CPU or CUDA), or data-parallel in ``gan.train.distributed.processes``
processes through TorchDistributor, and the artifact written with the inputs' versions, the config
hash and the per-epoch history. When a generator trained with the same ``gan``/``run`` config exists,
the stage is skipped unless ``gan.retrain`` is set: training is the expensive step, so new data
alone does not retrain (a nightly refresh keeps the generator; schedule ``--set gan.retrain=true``
when it should learn the new data). A changed gan config, or no generator at all, trains one.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch
from pyspark.sql import SparkSession

from recaug_spark import distributed, source_columns
from recaug_spark.config import GanConfig, RecaugConfig
from recaug_spark.errors import ConfigError, InputError
from recaug_spark.gan import store
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.train import EpochStats, TrainedGenerator, train
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.lake import Lake
from recaug_spark.runs import SKIPPED, RunContext, StageResult

log = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Train a generator on the training rows, or skip when one for the same inputs and config exists."""
    for name in gan_table.INPUTS[:2]:
        if not lake.exists(name):
            raise InputError(f"{lake.path(name)} does not exist; run `recaug preprocess` and `recaug split` first")
    inputs = lake.versions(gan_table.INPUTS)
    existing = matching_version(spark, lake, config_hash=ctx.config_hash)
    if existing is not None and not cfg.gan.retrain:
        message = (
            f"generator {existing} was trained with the same gan config (new data alone does not retrain it:"
            " set gan.retrain=true to train again)"
        )
        return StageResult(status=SKIPPED, message=message, input_versions=inputs)
    candidates = gan_table.candidates(cfg.gan, source_columns.provided(cfg.source))
    table = gan_table.gan_table(gan_table.training_view(lake, inputs), candidates)
    total = table.count()
    minimum = 2 * cfg.gan.model.pac
    if total < minimum:
        raise InputError(
            f"the GAN's training table has {total} rows; at least {minimum} are needed (gan.model.pac x 2)"
        )
    selection = gan_table.Selection.plan(total, cfg.gan, seed=cfg.run.seed)
    sample = gan_table.to_pandas(selection.training(table), candidates)
    holdout = gan_table.to_pandas(selection.holdout(table), candidates)
    log.info("train-gan: %d training rows, %d held out, of %d", len(sample), len(holdout), total)
    gan = gan_table.without_constant(candidates, cfg.gan, sample)
    sample, holdout = (frame[["event_id", *gan_table.names(gan)]] for frame in (sample, holdout))
    empty = [c for c in gan.continuous or () if sample[c].isna().all()]
    if empty:
        raise ConfigError(
            "gan.continuous",
            f"{empty} have no values in the training rows (does the source have them?); "
            "leave them out of gan.continuous",
        )
    transformer = fit_transformer(sample, gan, seed=cfg.run.seed)
    data = transformer.transform(sample)
    trained = train_generator(data, transformer, holdout, gan, seed=cfg.run.seed)
    info: dict[str, Any] = {
        "schema": {"continuous": list(gan.continuous or ()), "categorical": list(gan.categorical or ())},
        "inputs": inputs,
        "config_hash": ctx.config_hash,
        "run_id": ctx.run_id,
        "created_at": ctx.started_at.isoformat(),
        "selection": selection.to_dict(),
        "rows": {"table": total, "train": len(sample), "holdout": len(holdout)},
        "training": trained.summary(),
    }
    artifact = GeneratorArtifact.pack(
        trained.state, version=ctx.run_id, architecture=trained.architecture, transformer=transformer, info=info
    )
    where = store.save(spark, lake.root, artifact)
    best = trained.best_fidelity
    return StageResult(
        counts={
            "table_rows": total,
            "train_rows": len(sample),
            "holdout_rows": len(holdout),
            "epochs_run": len(trained.history),
            "best_epoch": trained.best_epoch,
            "best_fidelity_ppm": round((best or 0.0) * 1e6),
        },
        input_versions=inputs,
        message=(
            f"generator {ctx.run_id} at {where}: {len(trained.history)} epoch(s) on {trained.device} in "
            f"{trained.seconds:.1f} s, best probe fidelity {best if best is not None else float('nan'):.4f} "
            f"(epoch {trained.best_epoch})"
        ),
    )


def matching_version(spark: SparkSession, lake: Lake, *, config_hash: str) -> str | None:
    """The newest generator trained with this ``gan``/``run`` config, if any (whatever data it saw)."""
    for version in reversed(store.versions(spark, lake.root)):
        if store.metadata(spark, lake.root, version).get("config_hash") == config_hash:
            return version
    return None


def fit_transformer(sample: pd.DataFrame, gan: GanConfig, *, seed: int) -> DataTransformer:
    """The transformer of the GAN columns, fitted on the training sample."""
    return DataTransformer.fit(
        sample[gan_table.names(gan)], continuous=gan.continuous, categorical=gan.categorical, top_k=gan.top_k,
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
        "gan": gan.model_dump(mode="json"),
    }  # fmt: skip
    return distributed.train_in_processes(
        _train_rank, payload, processes=processes, local_mode=gan.train.distributed.local_mode
    )


def _train_rank(payload: dict[str, Any], rank: int, world: int) -> TrainedGenerator:
    """One rank of distributed training (recaug_spark/distributed.py): ``payload`` holds data, transformer
    (dict), holdout, gan (config dict) and seed."""
    from recaug_spark.config import GanConfig
    from recaug_spark.gan.train import train
    from recaug_spark.gan.transform import DataTransformer

    cfg = GanConfig.model_validate(payload["gan"])
    return train(
        payload["data"], DataTransformer.from_dict(payload["transformer"]), payload["holdout"],
        model=cfg.model, params=cfg.train, epochs=cfg.epochs, seed=payload["seed"], rank=rank, world=world,
    )  # fmt: skip
