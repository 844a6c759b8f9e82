"""Stage generate: a trained generator -> gold/synthetic_events (on the executors) + a quality report.

The artifact's bytes are broadcast and ``spark.range(batches)`` is mapped to rows (gan/generate.py), so
the output is the same on any partitioning. Synthetic events get canonical columns: ``event_type``,
``price`` and ``quantity`` from the generator; ``ts`` from its hour and weekday (a training date with
that weekday, a random minute); ``item_id`` drawn among the most frequent training items of the
generated category; ``user_id`` an existing user drawn under the row's user column (or the cold-start
user the row was conditioned on), or a new id ``syn:...`` (``generate.users: new``). The other
generated columns are kept as strings in ``attrs``. Rows failing ``generate.constraints`` are rejected and
counted. The table is partitioned by ``gen_run_id``: a run replaces
its own partition, the newest ``keep_runs`` are kept.

The quality report (reports/<run id>/) compares a bounded sample of the rows written with the
generator's own training rows and its held-out rows, read at the Delta versions it was trained on:
fidelity per column and pair, and privacy (distance to the closest training record vs the holdout's,
and exact copies).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F

from recaug_spark import storage
from recaug_spark.config import GanConfig, GenerateConfig, RecaugConfig
from recaug_spark.errors import ArtifactError, ConfigError, InputError
from recaug_spark.gan import generate as gen
from recaug_spark.gan import store
from recaug_spark.gan import table as gan_table
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.transform import NULL_LEVEL, OTHER_LEVEL, DataTransformer
from recaug_spark.lake import Lake
from recaug_spark.prep import split
from recaug_spark.quality.fidelity import fidelity
from recaug_spark.quality.privacy import privacy
from recaug_spark.report.quality import write_quality_report
from recaug_spark.runs import SKIPPED, RunContext, StageResult, unchanged_since_success
from recaug_spark.schema import BRONZE_USERS, GOLD_SYNTHETIC, SILVER_SPLIT, SYNTHETIC_EVENTS

log = logging.getLogger(__name__)

RUN = "gen_run_id"
POOL = "*"  # the candidates for rows whose level has none of its own
USER_COLUMNS = ("segment",)


def run(spark: SparkSession, cfg: RecaugConfig, lake: Lake, ctx: RunContext) -> StageResult:
    """Generate ``generate.rows`` synthetic events with the chosen generator and report their quality."""
    conf = cfg.generate
    version = conf.version or newest_version(spark, lake)
    files = store.read_files(spark, lake.root, version)
    artifact = GeneratorArtifact.from_files(files, where=store.directory(lake.root, version))
    gan = GanConfig.model_validate({**cfg.gan.model_dump(), **artifact.info["schema"]})
    _check_condition(conf, artifact.transformer)
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
    plan = make_plan(lake, view, artifact, conf, version=version, digest=gen.digest_of(files), seed=cfg.run.seed)
    partitions = conf.partitions or spark.sparkContext.defaultParallelism
    rows = gen.synthesize(spark, spark.sparkContext.broadcast(files), plan, partitions=min(partitions, plan.batches))
    checked = rows.withColumn("_ok", constraint(conf))
    offered, kept = Observation("generated"), Observation("kept")
    count = F.count(F.lit(1)).alias("rows")
    out = (
        checked.observe(offered, count)
        .where("_ok")
        .observe(kept, count)
        .select(*canonical(artifact.transformer.columns, ctx, version))
    )
    lake.ensure(GOLD_SYNTHETIC, SYNTHETIC_EVENTS, partition_by=(RUN,))
    written = lake.replace_where(GOLD_SYNTHETIC, out, f"{RUN} = '{ctx.run_id}'")
    generated = int(offered.get["rows"])
    counts = {"rows_generated": generated, "rows_written": written, "rows_rejected": generated - int(kept.get["rows"])}
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


def newest_version(spark: SparkSession, lake: Lake) -> str:
    """The newest complete generator; ArtifactError when there is none."""
    found = store.versions(spark, lake.root)
    if not found:
        raise ArtifactError(f"no generator under {store.directory(lake.root)}; run `recaug train-gan` first")
    return found[-1]


def _check_condition(conf: GenerateConfig, transformer: DataTransformer) -> None:
    column = conf.condition.column
    if column is None:
        return
    known = [c.name for c in transformer.categorical]
    if column not in known:
        raise ConfigError(
            "generate.condition.column", f"'{column}' is not a categorical column of the generator ({known})"
        )
    if conf.condition.mode == "cold_users" and not _is_user_column(column):
        raise ConfigError("generate.condition.column", f"'{column}' is not a user column (segment or profile.<field>)")
    if conf.condition.mode == "fixed":
        try:
            transformer.level_index(column, [conf.condition.level])
        except ValueError as exc:
            raise ConfigError("generate.condition.level", str(exc)) from exc


def _is_user_column(name: str) -> bool:
    return name in USER_COLUMNS or name.startswith(gan_table.PROFILE)


def _user_value(name: str) -> Column:
    """A user column's value in bronze/users."""
    if name.startswith(gan_table.PROFILE):
        return F.col("attrs").getItem(name[len(gan_table.PROFILE) :])
    return F.col(name)


def _as_level(value: Column, levels: Sequence[str]) -> Column:
    """A raw value mapped onto the generator's vocabulary (values beyond it are <other>)."""
    return F.when(value.isNull(), F.lit(None)).when(value.isin(list(levels)), value).otherwise(F.lit(OTHER_LEVEL))


def candidates(
    rows: DataFrame, id_column: str, level: Column | None, column: str | None, *, limit: int
) -> gen.Candidates:
    """The ``limit`` most frequent ids per level (by rows), and overall (the pool), with cumulative shares."""
    keyed = rows.select(F.col(id_column).alias("id"), (level if level is not None else F.lit(None)).alias("level"))
    per_level = keyed.where(F.col("level").isNotNull()).groupBy("level", "id").count()
    pooled = keyed.groupBy("id").count().withColumn("level", F.lit(POOL))
    order = Window.partitionBy("level").orderBy(F.desc("count"), "id")
    top = per_level.unionByName(pooled).withColumn("_r", F.row_number().over(order)).where(F.col("_r") <= limit)
    ids: dict[str, list[str]] = {}
    weights: dict[str, list[float]] = {}
    for row in top.orderBy("level", "_r").collect():  # bounded: (levels + 1) x limit rows
        ids.setdefault(row["level"], []).append(row["id"])
        weights.setdefault(row["level"], []).append(float(row["count"]))
    cumulative = {k: tuple(np.cumsum(w) / np.sum(w)) for k, w in weights.items()}
    return gen.Candidates(column, {k: tuple(v) for k, v in ids.items()}, cumulative)


def make_plan(
    lake: Lake,
    view: DataFrame,
    artifact: GeneratorArtifact,
    conf: GenerateConfig,
    *,
    version: str,
    digest: str,
    seed: int,
) -> gen.Plan:
    """The bounded lookups a batch needs, computed in Spark from the training rows."""
    transformer = artifact.transformer
    levels = {c.name: c.levels for c in transformer.categorical}
    item_level = _as_level(F.col("category"), levels["category"]) if "category" in levels else None
    items = candidates(
        view, "item_id", item_level, "category" if item_level is not None else None, limit=conf.candidates_per_level
    )
    user_column = conf.condition.column if conf.condition.column and _is_user_column(conf.condition.column) else None
    user_column = user_column or next((c for c in levels if _is_user_column(c)), None)
    user_level = None
    if user_column is not None:
        raw = (
            F.col("_profile").getItem(user_column[len(gan_table.PROFILE) :])
            if user_column.startswith(gan_table.PROFILE)
            else F.col(user_column)
        )
        user_level = _as_level(raw, levels[user_column])
    users = candidates(
        view, "user_id", user_level, user_column if user_level is not None else None, limit=conf.candidates_per_level
    )
    days = (
        view.select(F.dayofweek("event_date").alias("dow"), F.unix_date("event_date").alias("day")).distinct().collect()
    )
    if not days:
        raise InputError("the generator's training rows are gone (no training dates at its input versions)")
    dates_by_dow: dict[int, list[int]] = {}
    for row in sorted(days, key=lambda r: (r["dow"], r["day"])):
        dates_by_dow.setdefault(int(row["dow"]), []).append(int(row["day"]))
    cold_ids: tuple[str, ...] = ()
    cold_levels: tuple[str, ...] = ()
    if conf.condition.mode == "cold_users":
        assert conf.condition.column is not None
        cold_ids, cold_levels = _cold_users(
            lake, conf.condition.column, levels[conf.condition.column], limit=conf.max_condition_users
        )
    return gen.Plan(
        version=version, digest=digest, columns=tuple(transformer.columns), seed=seed, rows=conf.rows,
        batch_rows=conf.batch_rows, condition=conf.condition.mode, condition_column=conf.condition.column,
        condition_level=conf.condition.level, cold_users=cold_ids, cold_user_levels=cold_levels, users=conf.users,
        rows_per_new_user=conf.rows_per_new_user, user_candidates=users, item_candidates=items,
        dates_by_dow={k: tuple(v) for k, v in dates_by_dow.items()},
    )  # fmt: skip


def _cold_users(
    lake: Lake, column: str, levels: Sequence[str], *, limit: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cold-start users (silver/split) with their level of ``column``: a hash-ordered bounded set."""
    cold = lake.read(SILVER_SPLIT).where(F.col("user_segment") == split.COLD).select("user_id").distinct()
    if lake.exists(BRONZE_USERS):
        profiles = lake.read(BRONZE_USERS).select("user_id", _user_value(column).alias("_value"))
        cold = cold.join(profiles, "user_id", "left")
    else:
        cold = cold.withColumn("_value", F.lit(None).cast("string"))
    rows = (
        cold.select("user_id", _as_level(F.col("_value"), levels).alias("level"))
        .orderBy(F.xxhash64("user_id"), "user_id")
        .limit(limit)
        .collect()
    )
    if not rows:
        raise InputError("generate.condition.mode is cold_users but silver/split has no cold-start users")
    return tuple(r["user_id"] for r in rows), tuple(r["level"] if r["level"] is not None else NULL_LEVEL for r in rows)


def constraint(conf: GenerateConfig) -> Column:
    """True for rows with a canonical event type, an item, and every configured constraint met."""
    checks = [F.col("event_type").isin("view", "cart", "fav", "purchase"), F.col("item_id").isNotNull()]
    checks += [F.expr(rule) for rule in conf.constraints]
    ok = checks[0]
    for check in checks[1:]:
        ok = ok & F.coalesce(check, F.lit(False))
    return ok


def canonical(columns: Sequence[str], ctx: RunContext, version: str) -> list[Column]:
    """BATCH columns -> gold/synthetic_events columns (the other GAN columns in ``attrs``)."""
    extra = gen.extra_columns(columns)
    pairs = [x for i, name in enumerate(extra) for x in (F.lit(name), F.col(f"gan_{i}"))]
    attrs = F.map_filter(F.create_map(*pairs), lambda _, v: v.isNotNull()) if pairs else F.lit(None)
    ts = F.timestamp_micros("ts_us")
    return [
        "event_id", "user_id", "item_id", "event_type", ts.alias("ts"), F.to_date(ts).alias("event_date"),
        "quantity", "price", F.lit(None).cast("string").alias("session_id"), F.lit("gan").alias("source"),
        F.lit(ctx.run_id).alias("batch_id"), F.lit(ctx.started_at).cast("timestamp").alias("ingested_at"),
        attrs.cast("map<string,string>").alias("attrs"), F.lit(version).alias("generator_version"),
        F.lit(ctx.run_id).alias(RUN), F.lit(True).alias("is_synthetic"),
    ]  # fmt: skip


def synthetic_sample(lake: Lake, run_id: str, gan: GanConfig, *, limit: int) -> pd.DataFrame:
    """A bounded, deterministic sample of a run's synthetic rows as the GAN's columns."""
    rows = lake.read(GOLD_SYNTHETIC).where(F.col(RUN) == run_id)
    picked = rows.orderBy(F.xxhash64("event_id"), "event_id").limit(limit)
    selected = [F.col("event_id")]
    for i, name in enumerate(gan_table.names(gan)):
        value = F.col(name) if name in gen.CANONICAL else F.col("attrs").getItem(name)
        selected.append(value.cast("double" if name in gan.continuous else "string").alias(f"c{i}"))
    return gan_table.to_pandas(picked.select(*selected), gan)


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
    kinds = {"continuous": list(gan.continuous), "categorical": list(gan.categorical)}
    score = fidelity(train[columns], synthetic[columns], **kinds)
    private = privacy(train[columns], holdout[columns], synthetic[columns], **kinds)
    meta = {
        "run_id": ctx.run_id, "generator_version": artifact.version, "rows_requested": conf.rows,
        **counts, "compared_rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
        "condition": conf.condition.model_dump(), "generator_training": {
            k: artifact.info["training"][k] for k in ("epochs_run", "best_epoch", "best_fidelity", "device", "seconds")
        },
    }  # fmt: skip
    target = storage.join(lake.root, "reports", ctx.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        written = write_quality_report(
            Path(tmp), fidelity=score, privacy=private, real=train[columns], synthetic=synthetic[columns],
            meta=meta, **kinds,
        )  # fmt: skip
        for path in written:
            storage.write_bytes(lake.spark, storage.join(target, path.name), path.read_bytes())
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
