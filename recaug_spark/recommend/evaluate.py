"""Evaluation in Spark: interactions per variant, relevant sets per segment, per-user metrics for every
(variant, model, segment), and the Poisson bootstrap of means and of differences against ``real``.

Training data of a variant: the real training events, plus the run's augmented events
(``real+augmented``), synthetic events (``real+synthetic``) or both, each event weighted by the
feedback weight of its type times ``augmented_weight`` / ``synthetic_weight`` for non-real rows,
summed per (user, item). Items a user had in the real training rows are never recommended to them
and, with ``exclude_seen``, not relevant either. Relevant items are a user's distinct test items;
segments: all, warm and cold users (silver/split), short (warm users with at most
``evaluate.short_history_max`` training events) and cold_items (relevant items unseen in training).
Users left without relevant items are not scored; they are counted per segment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.augment.frames import keys_of
from recaug_spark.config import EvaluateConfig, EventType
from recaug_spark.prep import features, split
from recaug_spark.prep.stats import union_by_name
from recaug_spark.recommend.bootstrap import PairedDifference, poisson_partial_sums, poisson_summary
from recaug_spark.recommend.ranking import RELEVANT

SEGMENTS = ("all", "warm", "cold", "short", "cold_items")
REAL = "real"
VERSUS_MODEL = "model:"
"""Prefix of :attr:`Comparison.against` when a model is compared with another model (both on ``real``)."""


# The extra tables each variant adds to the real training events.
NEEDS: dict[str, tuple[str, ...]] = {
    "real": (),
    "real+augmented": ("augmented",),
    "real+synthetic": ("synthetic",),
    "real+both": ("augmented", "synthetic"),
    "real+contrastive": (),
    "real+policy": (),  # its rows are made from the training rows by the policy's chosen ops (variants.py)
}
POLICY = "real+policy"
# Variants only a sequential model (protocol.ModelSpec.sequential) can take: the real events with a
# training objective of its own.
SEQUENTIAL_ONLY = frozenset({"real+contrastive"})


def ablation_variants(augmented: DataFrame) -> dict[str, str]:
    """``evaluate.ablation``: one variant per op of the augment run, ``real+<op>`` (``real+<index>:<op>``
    for an op configured twice), mapped to the op's label (``<index>:<op>``) in ``aug_ops``; read from the
    run's rows (one distinct label per configured op: a bounded collect), so they match what was written."""
    labels = sorted({r[0].split("(", 1)[0] for r in augmented.select(F.explode("aug_ops")).distinct().collect()})
    return ablation_names(labels)


def ablation_names(labels: Sequence[str]) -> dict[str, str]:
    """The ablation variant of each op label (``<index>:<op>``): ``real+<op>``, or ``real+<index>:<op>``
    for an op that appears twice.

    Example:
        >>> ablation_names(["0:crop", "1:substitute"]), ablation_names(["0:crop", "1:crop"])
        ({'real+crop': '0:crop', 'real+substitute': '1:substitute'}, {'real+0:crop': '0:crop', 'real+1:crop': '1:crop'})
    """
    names = [label.split(":", 1)[1] for label in labels]
    return {
        f"real+{name}" if names.count(name) == 1 else f"real+{label}": label
        for label, name in zip(labels, names, strict=True)
    }


def variant_inputs(variant: str, extra: Mapping[str, DataFrame], ablations: Mapping[str, str]) -> dict[str, DataFrame]:
    """The variant's extra rows by kind (``augmented``, ``synthetic``): NEEDS[variant], or for an ablation
    variant the augmented copies made by its op alone."""
    if variant in ablations:
        prefix = f"{ablations[variant]}("
        return {"augmented": extra["augmented"].where(F.exists("aug_ops", lambda op: op.startswith(prefix)))}
    return {name: extra[name] for name in NEEDS[variant]}


def variant_interactions(
    real: DataFrame, parts: Mapping[str, DataFrame], conf: EvaluateConfig, weights: Mapping[EventType, float]
) -> DataFrame:
    """``(user_id, item_id, strength)`` of one variant: the sum of event weights per pair (> 0), the real
    events at 1, the variant's extra rows (``parts``, from :func:`variant_inputs`) times
    ``augmented_weight`` / ``synthetic_weight``."""
    factors = {"augmented": conf.augmented_weight, "synthetic": conf.synthetic_weight}
    frames = [real.select("user_id", "item_id", "event_type", F.lit(1.0).alias("_f"))]
    frames += [
        rows.select("user_id", "item_id", "event_type", F.lit(factors[name]).alias("_f"))
        for name, rows in parts.items()
    ]
    weight = features.event_weight(weights) * F.col("_f")
    rows = union_by_name(frames).where(F.col("item_id").isNotNull())
    summed = rows.groupBy("user_id", "item_id").agg(F.sum(weight).alias("strength"))
    return summed.where(F.col("strength") > 0)


def relevant_sets(test: DataFrame, seen: DataFrame, *, exclude_seen: bool, short_max: int) -> DataFrame:
    """``(segment, user_id, relevant)`` for every segment; test rows from silver/split. ``short``: warm
    users with at most ``short_max`` training events (where augmentation is expected to matter most)."""
    rows = test.select("user_id", "item_id", "user_segment", "item_seen", "user_train_events")
    if exclude_seen:
        rows = rows.join(seen.select("user_id", "item_id"), ["user_id", "item_id"], "left_anti")
    per_user = rows.groupBy("user_id").agg(
        F.max("user_segment").alias("user_segment"),
        F.max("user_train_events").alias("_n"),
        F.sort_array(F.collect_set("item_id")).alias("_all"),
        F.sort_array(F.collect_set(F.when(~F.col("item_seen"), F.col("item_id")))).alias("_cold_items"),
    )
    segments = F.array(
        F.struct(F.lit("all").alias("segment"), F.col("_all").alias(RELEVANT)),
        F.struct(
            F.lit("warm").alias("segment"), F.when(F.col("user_segment") == split.WARM, F.col("_all")).alias(RELEVANT)
        ),
        F.struct(
            F.lit("cold").alias("segment"), F.when(F.col("user_segment") == split.COLD, F.col("_all")).alias(RELEVANT)
        ),
        F.struct(
            F.lit("short").alias("segment"),
            F.when((F.col("user_segment") == split.WARM) & (F.col("_n") <= short_max), F.col("_all")).alias(RELEVANT),
        ),
        F.struct(F.lit("cold_items").alias("segment"), F.col("_cold_items").alias(RELEVANT)),
    )
    exploded = per_user.select("user_id", F.explode(segments).alias("s")).select(
        "s.segment", "user_id", f"s.{RELEVANT}"
    )
    return exploded.where(F.col(RELEVANT).isNotNull())


def sample_users(relevant: DataFrame, max_users: int, *, seed: int) -> DataFrame:
    """The rows of the ``max_users`` users with the smallest keyed hash of their id (all of a user's segments).

    A hash of (seed, user id), not ``sample()``: the same users on any partitioning and cluster size, a
    uniform draw over users (so the segments keep their shares), and the same users for every variant.
    """
    chosen = (
        relevant.select("user_id")
        .distinct()
        .withColumn("_h", F.xxhash64(F.lit(seed), F.col("user_id")))
        .orderBy("_h", "user_id")
        .limit(max_users)
    )
    return relevant.join(F.broadcast(chosen.select("user_id")), "user_id", "left_semi")


def test_users_without_relevant(test: DataFrame, relevant: DataFrame) -> int:
    """Test users not scored in segment ``all`` (every test item was seen in training)."""
    scored = relevant.where((F.col("segment") == "all") & (F.size(RELEVANT) > 0)).select("user_id")
    return test.select("user_id").distinct().join(scored, "user_id", "left_anti").count()


@dataclass(frozen=True)
class Comparison:
    """One bootstrap target: the mean of ``variant`` (``against`` None) or its difference with ``against``."""

    variant: str
    model: str
    segment: str
    against: str | None

    @property
    def key(self) -> str:
        return "|".join([self.variant, self.model, self.segment, self.against or ""])


def bootstrap(
    per_user: DataFrame,
    metrics: Sequence[str],
    variants: Sequence[str],
    *,
    seed: int,
    resamples: int,
    confidence: float,
    models: Sequence[str] = (),
) -> dict[str, list[PairedDifference]]:
    """Poisson-bootstrap summaries keyed by :attr:`Comparison.key`: every (variant, model, segment) mean,
    every non-real variant's difference with ``real``, and for each pair of ``models`` (in the given
    order) the first one's difference with the second on ``real`` (``against`` = ``model:<second>``),
    computed on the executors (mapInArrow partial sums per replicate, summed by Spark); only
    (comparisons x resamples) rows reach the driver. A user's Poisson weight depends on the user only, so
    every difference is paired over the same users."""
    m = len(metrics)
    base = per_user.select(
        "variant", "model", "segment", "user_id", *[F.col(f"`{c}`").alias(f"m{i}") for i, c in enumerate(metrics)]
    )
    own = base.select(
        F.concat_ws("|", "variant", "model", "segment", F.lit("")).alias("key"), "user_id",
        *[F.col(f"m{i}").alias(f"d{i}") for i in range(m)], *[F.lit(0.0).alias(f"b{i}") for i in range(m)],
    )  # fmt: skip
    parts = [own]

    def paired(mine: DataFrame, baseline: DataFrame, on: list[str], key: Column) -> DataFrame:
        joined = mine.alias("v").join(baseline.alias("r"), on)
        return joined.select(
            key.alias("key"), "user_id",
            *[(F.col(f"v.m{i}") - F.col(f"r.m{i}")).alias(f"d{i}") for i in range(m)],
            *[F.col(f"r.m{i}").alias(f"b{i}") for i in range(m)],
        )  # fmt: skip

    real = base.where(F.col("variant") == REAL).drop("variant")
    for variant in [v for v in variants if v != REAL]:
        mine = base.where(F.col("variant") == variant).drop("variant")
        key = F.concat_ws("|", F.lit(variant), "model", "segment", F.lit(REAL))
        parts.append(paired(mine, real, ["model", "segment", "user_id"], key))
    for position, first in enumerate(models):
        for second in models[position + 1 :]:
            key = F.concat_ws("|", F.lit(REAL), F.lit(first), "segment", F.lit(VERSUS_MODEL + second))
            one, other = (real.where(F.col("model") == name).drop("model") for name in (first, second))
            parts.append(paired(one, other, ["segment", "user_id"], key))
    rows = union_by_name(parts)
    schema = T.StructType(
        [T.StructField("key", T.StringType()), T.StructField("b", T.IntegerType()), T.StructField("w", T.DoubleType())]
        + [T.StructField(f"s{i}", T.DoubleType()) for i in range(m)]
    )

    arrow_schema = pa.schema(
        [("key", pa.string()), ("b", pa.int32()), ("w", pa.float64())] + [(f"s{i}", pa.float64()) for i in range(m)]
    )

    def partial(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            keys = batch.column("key").to_numpy(zero_copy_only=False)
            users = keys_of(_user_keys(batch.column("user_id")))
            d = np.column_stack([batch.column(f"d{i}").to_numpy() for i in range(m)]) if m else np.empty((len(keys), 0))
            for key in np.unique(keys):
                pick = keys == key
                sums, weights = poisson_partial_sums(users[pick], d[pick], seed=seed, resamples=resamples)
                yield pa.RecordBatch.from_pydict(
                    {"key": [key] * resamples, "b": np.arange(resamples, dtype=np.int32), "w": weights,
                     **{f"s{i}": sums[:, i] for i in range(m)}},
                    schema=arrow_schema,
                )  # fmt: skip

    hashed = rows.withColumn("user_id", F.xxhash64("user_id"))
    replicates = (
        hashed.mapInArrow(partial, schema)
        .groupBy("key", "b")
        .agg(F.sum("w").alias("w"), *[F.sum(f"s{i}").alias(f"s{i}") for i in range(m)])
    )
    means = rows.groupBy("key").agg(
        F.count(F.lit(1)).alias("n"),
        *[F.avg(f"d{i}").alias(f"d{i}") for i in range(m)],
        *[F.avg(f"b{i}").alias(f"b{i}") for i in range(m)],
    )
    collected: dict[str, list[tuple[int, float, list[float]]]] = {}
    for r in replicates.collect():  # bounded: comparisons x resamples rows
        collected.setdefault(r["key"], []).append((r["b"], r["w"], [r[f"s{i}"] for i in range(m)]))
    out: dict[str, list[PairedDifference]] = {}
    for r in means.collect():
        reps = sorted(collected.get(r["key"], []))
        sums = np.array([s for _, _, s in reps], dtype=np.float64).reshape(len(reps), m)
        weights = np.array([w for _, w, _ in reps], dtype=np.float64)
        baseline = np.array([r[f"b{i}"] for i in range(m)])
        variant = baseline + np.array([r[f"d{i}"] for i in range(m)])
        out[r["key"]] = poisson_summary(
            sums, weights, variant_mean=variant, baseline_mean=baseline, n_users=int(r["n"]), confidence=confidence
        )
    return out


def _user_keys(column: pa.Array) -> np.ndarray:
    keys: np.ndarray = column.to_numpy(zero_copy_only=False).astype(np.int64)
    return keys
