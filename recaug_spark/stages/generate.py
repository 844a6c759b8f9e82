"""Stage generate: a trained generator -> gold/synthetic_events (on the executors) + a quality report.

The work is in gan/: versions.py (which generator), plan.py (the bounded lookups a batch needs),
synthetic.py (rows generated, checked against ``generate.constraints``, in canonical columns) and
report.py (fidelity and privacy of the rows written). A run replaces its own ``gen_run_id``
partition; the newest ``generate.keep_runs`` are kept.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from recaug_spark.config import GanConfig, RecaugConfig
from recaug_spark.gan import store
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.plan import check_condition
from recaug_spark.gan.report import quality_report
from recaug_spark.gan.synthetic import RUN, synthetic_rows
from recaug_spark.gan.versions import newest_version
from recaug_spark.lake import Lake
from recaug_spark.runs import SKIPPED, RunContext, StageResult, unchanged_since_success
from recaug_spark.schema import GOLD_SYNTHETIC, SILVER_SPLIT, SYNTHETIC_EVENTS


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Generate ``generate.rows`` synthetic events with the chosen generator and report their quality."""
    conf = cfg.generate
    version = conf.version or newest_version(spark, lake)
    files = store.read_files(spark, lake.root, version)
    artifact = GeneratorArtifact.from_files(files, where=store.directory(lake.root, version))
    gan = GanConfig.model_validate({**cfg.gan.model_dump(), **artifact.info["schema"]})
    check_condition(conf, artifact.transformer)
    inputs = {k: int(v) for k, v in artifact.info["inputs"].items()}
    # What this run reads: the generator (its training rows' versions) and the current split.
    reads = {**inputs, **lake.versions([SILVER_SPLIT]), f"{store.MODELS}/{version}": 1}
    previous = unchanged_since_success(lake, "generate", inputs=reads, config_hash=ctx.config_hash)
    if previous is not None and lake.has_rows(GOLD_SYNTHETIC, RUN, previous.run_id):
        return StageResult(
            status=SKIPPED,
            message=f"generator {version}, split and config unchanged since run {previous.run_id}: its rows stand",
            input_versions=reads,
            output_versions=lake.versions([GOLD_SYNTHETIC]),
        )
    view = gan_table.training_view(lake, inputs)
    synthetic = synthetic_rows(
        spark, lake, view, artifact, files, conf=conf, ctx=ctx, version=version, seed=cfg.run.seed
    )
    lake.ensure(GOLD_SYNTHETIC, SYNTHETIC_EVENTS, partition_by=(RUN,))
    written = lake.replace_where(GOLD_SYNTHETIC, synthetic.rows, f"{RUN} = '{ctx.run_id}'")
    generated, kept = int(synthetic.offered.get["rows"]), int(synthetic.kept.get["rows"])
    counts = {"rows_generated": generated, "rows_written": written, "rows_rejected": generated - kept}
    counts["rows_deleted_old_runs"] = lake.keep_newest_runs(GOLD_SYNTHETIC, RUN, conf.keep_runs)
    report = quality_report(lake, view, artifact, gan=gan, conf=conf, ctx=ctx, counts=counts)
    share = counts["rows_rejected"] / max(generated, 1)
    return StageResult(
        counts=counts,
        input_versions=reads,
        output_versions=lake.versions([GOLD_SYNTHETIC]),
        message=(
            f"{written:,} synthetic events from generator {version} ({share:.2%} rejected by constraints); "
            f"quality report {report}"
        ),
    )
