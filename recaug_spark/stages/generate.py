"""Stage generate: a trained generator -> gold/synthetic_events (on the executors) + a quality report.

The work is in gan/: versions.py (which generator), plan.py (the bounded lookups a batch needs),
synthetic.py (rows generated, checked against ``generate.constraints``, in canonical columns) and
report.py (fidelity and privacy of the rows written). A run replaces its own ``gen_run_id``
partition; the newest ``generate.keep_runs`` are kept.
"""

from __future__ import annotations

from recaug_spark.gan import store
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.plan import check_condition
from recaug_spark.gan.report import quality_report
from recaug_spark.gan.synthetic import synthetic_rows
from recaug_spark.gan.versions import newest_version
from recaug_spark.pipeline import Job
from recaug_spark.runs import StageResult
from recaug_spark.schema import GENERATE_RUN, GOLD_SYNTHETIC, SILVER_SPLIT, SYNTHETIC_EVENTS


def _generator(job: Job) -> tuple[str, dict[str, bytes], GeneratorArtifact]:
    """The chosen generator (``generate.version``, else the newest): its version, files and artifact."""
    version = job.cfg.generate.version or newest_version(job.spark, job.lake)
    files = store.read_files(job.spark, job.lake.root, version)
    return version, files, GeneratorArtifact.from_files(files, where=store.directory(job.lake.root, version))


def _trained_on(artifact: GeneratorArtifact) -> dict[str, int]:
    """The Delta versions of the generator's training rows (the rows the plan and the report read)."""
    return {k: int(v) for k, v in artifact.info["inputs"].items()}


def identity(job: Job) -> dict[str, int]:
    """What the synthetic rows are a function of: the generator (with its training rows' versions) and
    the current split (cold-start users to condition on), not the newest silver/events."""
    version, _, artifact = _generator(job)
    return {**_trained_on(artifact), SILVER_SPLIT: job.inputs[SILVER_SPLIT], f"{store.MODELS}/{version}": 1}


def run(job: Job) -> StageResult:
    """Generate ``generate.rows`` synthetic events with the chosen generator and report their quality."""
    spark, cfg, lake, ctx = job.spark, job.cfg, job.lake, job.ctx
    conf = cfg.generate
    version, files, artifact = _generator(job)
    # The generator's columns, as chosen (a constant event_type left out: not a user's config to validate).
    gan = cfg.gan.model_copy(update={kind: tuple(names) for kind, names in artifact.info["schema"].items()})
    check_condition(conf, artifact.transformer)
    view = gan_table.training_view(lake, _trained_on(artifact))
    synthetic = synthetic_rows(
        spark, lake, view, artifact, files, conf=conf, ctx=ctx, version=version, seed=cfg.run.seed
    )
    lake.ensure(GOLD_SYNTHETIC, SYNTHETIC_EVENTS, partition_by=(GENERATE_RUN,))
    written = lake.replace_where(GOLD_SYNTHETIC, synthetic.rows, f"{GENERATE_RUN} = '{ctx.run_id}'")
    generated, kept = int(synthetic.offered.get["rows"]), int(synthetic.kept.get["rows"])
    counts = {"rows_generated": generated, "rows_written": written, "rows_rejected": generated - kept}
    counts["rows_deleted_old_runs"] = lake.keep_newest_runs(GOLD_SYNTHETIC, GENERATE_RUN, conf.keep_runs)
    report = quality_report(lake, view, artifact, gan=gan, conf=conf, ctx=ctx, counts=counts)
    share = counts["rows_rejected"] / max(generated, 1)
    return StageResult(
        counts=counts,
        message=(
            f"{written:,} synthetic events from generator {version} ({share:.2%} rejected by constraints); "
            f"quality report {report}"
        ),
    )
