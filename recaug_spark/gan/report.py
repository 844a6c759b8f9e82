"""The quality report of a generation run: a bounded sample of the rows written against the
generator's own training rows and its held-out rows, read at the Delta versions it was trained on.

Fidelity per column and pair, and privacy (distance to the closest training record vs the holdout's,
and exact copies), written to reports/<run id>/ (report/quality.py, report/publish.py).
"""

from __future__ import annotations

import logging

import pandas as pd
from pyspark.sql import DataFrame

from recaug_spark import storage
from recaug_spark.config import GanConfig, GenerateConfig
from recaug_spark.errors import InputError
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.columns import OTHER_LEVEL
from recaug_spark.gan.synthetic import synthetic_sample
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.lake import Lake
from recaug_spark.quality.fidelity import fidelity
from recaug_spark.quality.privacy import privacy
from recaug_spark.report.publish import publish
from recaug_spark.report.quality import write_quality_report
from recaug_spark.runs import RunContext

log = logging.getLogger(__name__)


def quality_report(
    lake: Lake,
    view: DataFrame,
    artifact: GeneratorArtifact,
    *,
    gan: GanConfig,
    conf: GenerateConfig,
    ctx: RunContext,
    counts: dict[str, int],
) -> str:
    """Fidelity and privacy of the rows written, against the generator's training rows and holdout."""
    selection = gan_table.Selection(**artifact.info["selection"])
    table = gan_table.gan_table(view, gan)
    train = _vocabulary(gan_table.to_pandas(selection.training(table, conf.quality_rows), gan), artifact.transformer)
    holdout = _vocabulary(gan_table.to_pandas(selection.holdout(table, conf.quality_rows), gan), artifact.transformer)
    synthetic = synthetic_sample(lake, ctx.run_id, gan, limit=conf.quality_rows)
    if synthetic.empty:
        raise InputError("every synthetic row was rejected by generate.constraints; nothing to report on")
    columns = gan_table.names(gan)
    chosen = gan_table.chosen(gan)
    continuous, categorical = list(chosen[0]), list(chosen[1])
    score = fidelity(train[columns], synthetic[columns], continuous=continuous, categorical=categorical)
    private = privacy(
        train[columns], holdout[columns], synthetic[columns], continuous=continuous, categorical=categorical
    )
    meta = {
        "run_id": ctx.run_id, "generator_version": artifact.version, "rows_requested": conf.rows,
        **counts, "compared_rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
        "condition": conf.condition.model_dump(), "generator_training": {
            k: artifact.info["training"][k] for k in ("epochs_run", "best_epoch", "best_fidelity", "device", "seconds")
        },
    }  # fmt: skip
    target = publish(lake, ctx.run_id, lambda tmp: write_quality_report(
        tmp, fidelity=score, privacy=private, real=train[columns], synthetic=synthetic[columns], meta=meta,
        continuous=continuous, categorical=categorical,
    ))  # fmt: skip
    counts["fidelity_overall_ppm"] = round(score.overall * 1e6)
    counts["exact_copies"] = round(private.exact_copy_share * len(synthetic))
    log.info(
        "generate: fidelity %.4f (columns %.4f, pairs %.4f); DCR ratio %.3f; exact copies %.2f%%",
        score.overall, score.column_score, score.pair_score, private.dcr_ratio, 100 * private.exact_copy_share,
    )  # fmt: skip
    return storage.join(target, "quality.md")


def _vocabulary(frame: pd.DataFrame, transformer: DataTransformer) -> pd.DataFrame:
    """Real rows in the generator's vocabulary: categorical values beyond its levels become <other>."""
    out = frame.copy()
    for column in transformer.categorical:
        if OTHER_LEVEL in column.levels:
            known = out[column.name].isna() | out[column.name].isin(column.levels)
            out[column.name] = out[column.name].where(known, OTHER_LEVEL)
    return out
