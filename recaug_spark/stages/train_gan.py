"""Stage train-gan: training-period events -> models/generator/<run id>/ (a conditional WGAN-GP).

The work is in gan/: inputs.py (the bounded training sample and holdout) and fit.py (the transformer,
then training on the driver or through TorchDistributor); the artifact holds the inputs' versions, the
config hash and the per-epoch history. When a generator trained with the same ``gan``/``run`` config
exists, the stage is skipped unless ``gan.retrain`` is set: training is the expensive step, so new data
alone does not retrain (a nightly refresh keeps the generator; schedule ``--set gan.retrain=true``
when it should learn the new data). A changed gan config, or no generator at all, trains one.
"""

from __future__ import annotations

from typing import Any

from recaug_spark.gan import store
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.fit import fit_transformer, train_generator
from recaug_spark.gan.inputs import training_sample
from recaug_spark.gan.versions import matching_version
from recaug_spark.pipeline import Job
from recaug_spark.runs import SKIPPED, StageResult


def run(job: Job) -> StageResult:
    """Train a generator on the training rows, or skip when one for the same inputs and config exists."""
    spark, cfg, lake, ctx, inputs = job.spark, job.cfg, job.lake, job.ctx, dict(job.inputs)
    existing = matching_version(spark, lake, config_hash=ctx.config_hash)
    if existing is not None and not cfg.gan.retrain:
        message = (
            f"generator {existing} was trained with the same gan config (new data alone does not retrain it:"
            " set gan.retrain=true to train again)"
        )
        return StageResult(status=SKIPPED, message=message)
    found = training_sample(lake, cfg, inputs)
    gan, selection, total, sample, holdout = found.gan, found.selection, found.total, found.sample, found.holdout
    transformer = fit_transformer(sample, gan, seed=cfg.run.seed)
    data = transformer.transform(sample)
    trained = train_generator(data, transformer, holdout, gan, seed=cfg.run.seed)
    info: dict[str, Any] = {
        "schema": {"continuous": list(gan.continuous or ()), "categorical": list(gan.categorical or ())},
        "constants": dict(found.constants),
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
        message=(
            f"generator {ctx.run_id} at {where}: {len(trained.history)} epoch(s) on {trained.device} in "
            f"{trained.seconds:.1f} s, best probe fidelity {best if best is not None else float('nan'):.4f} "
            f"(epoch {trained.best_epoch})"
        ),
    )
