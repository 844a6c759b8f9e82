"""Benchmark generate: broadcast generation on local[2] vs the same generator in a bare loop.

The generator has the default architecture (conf/base.yaml: z of 128, residual blocks 256 + 256) over
the default GAN columns of a demo-like table (price, quantity, hour; event_type, 40 categories, dow,
segment); its weights are untrained, which changes no timing. Both sides run
``gan.generate.synthesize_batch`` (noise, conditions, generator, activation, inverse transform,
user/item/time draws) on the same batches:

* Spark: ``spark.range(batches)`` -> ``mapInPandas`` on local[2], the artifact broadcast and the
  generator built once per Python worker, written to the ``noop`` sink (every row computed);
* bare: a Python loop over the same batches in one process with ``torch.set_num_threads(1)``.

``ratio`` = Spark rows/s / (2 x bare rows/s) (2 = the cores of local[2]); target 0.7. Also reported:
the rows/s of the torch part alone (``generate_rows``) in the bare loop.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import torch

from recaug_spark.config import GanModelConfig, load_config
from recaug_spark.gan import generate as gen
from recaug_spark.gan.artifact import GeneratorArtifact
from recaug_spark.gan.model import Architecture, Generator
from recaug_spark.gan.sample import ConditionLayout, flat_spans, generate_rows
from recaug_spark.gan.spark import synthesize
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.session import build_session

TARGET = 0.7
SETTINGS = ("spark.master=local[2]", "spark.ui_enabled=false", "spark.driver_memory=4g")
BATCH_ROWS = 10_000


def demo_like(n: int, seed: int = 0) -> pd.DataFrame:
    """A table shaped like the demo's GAN table (the transformer is fitted on it)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "price": rng.lognormal(3, 0.8, n).round(2),
            "quantity": rng.integers(1, 4, n).astype(float),
            "hour": rng.integers(0, 24, n).astype(float),
            "event_type": rng.choice(["view", "cart", "fav", "purchase"], n, p=[0.7, 0.15, 0.05, 0.1]),
            "category": rng.choice([f"c{i:03d}" for i in range(40)], n),
            "dow": rng.choice([str(d) for d in range(1, 8)], n),
            "segment": rng.choice(["bargain_hunter", "mainstream", "premium", "window_shopper"], n),
        }
    )


def make_artifact() -> GeneratorArtifact:
    frame = demo_like(20_000)
    transformer = DataTransformer.fit(
        frame, continuous=["price", "quantity", "hour"], categorical=["event_type", "category", "dow", "segment"]
    )
    model = GanModelConfig()
    arch = Architecture(
        transformer.output_dim, ConditionLayout.of(transformer).cond_dim, model.embedding_dim, model.generator_dims
    )
    torch.manual_seed(0)
    return GeneratorArtifact.pack(
        Generator(arch).state_dict(), version="bench", architecture=arch, transformer=transformer,
        info={"schema": {}},
    )  # fmt: skip


def make_plan(artifact: GeneratorArtifact, files: dict[str, bytes], rows: int) -> gen.Plan:
    categories = [f"c{i:03d}" for i in range(40)]
    items = {c: tuple(f"{c}-i{j}" for j in range(200)) for c in [*categories, "*"]}
    users = {s: tuple(f"{s}-u{j}" for j in range(500)) for s in ["bargain_hunter", "mainstream", "premium", "*"]}

    def cumulative(pool: dict[str, tuple[str, ...]]) -> dict[str, tuple[float, ...]]:
        return {k: tuple(np.cumsum(np.ones(len(v))) / len(v)) for k, v in pool.items()}

    return gen.Plan(
        version="bench", digest=gen.digest_of(files), columns=tuple(artifact.transformer.columns), seed=42,
        rows=rows, batch_rows=BATCH_ROWS, condition="sampled",
        user_candidates=gen.Candidates("segment", users, cumulative(users)),
        item_candidates=gen.Candidates("category", items, cumulative(items)),
        dates_by_dow={d: tuple(range(20_000 + d, 20_060, 7)) for d in range(1, 8)},
    )  # fmt: skip


def run(*, quick: bool) -> dict[str, Any]:
    """Time both sides on the same batches; return the DESIGN.md result record."""
    rows = 800_000 if quick else 2_000_000
    artifact = make_artifact()
    files = artifact.files()
    plan = make_plan(artifact, files, rows)
    cfg = load_config([], list(SETTINGS))
    spark = build_session(cfg.spark, app_name="bench-generate")
    broadcast = spark.sparkContext.broadcast(files)
    warm_up = synthesize(spark, broadcast, make_plan(artifact, files, 2 * BATCH_ROWS), partitions=2)
    warm_up.write.format("noop").mode("overwrite").save()  # Python workers started, generator cached
    started = time.perf_counter()
    synthesize(spark, broadcast, plan, partitions=2).write.format("noop").mode("overwrite").save()
    spark_seconds = time.perf_counter() - started

    torch.set_num_threads(1)
    generator = artifact.generator()
    batches = min(plan.batches, 40)  # the bare loop is linear in batches: time a prefix, scale to rows/s
    gen.synthesize_batch(artifact, generator, plan, 0)  # warm-up
    started = time.perf_counter()
    for batch in range(batches):
        gen.synthesize_batch(artifact, generator, plan, batch)
    bare_seconds = time.perf_counter() - started
    bare_rows = batches * BATCH_ROWS
    layout = ConditionLayout.of(artifact.transformer)
    cond = layout.vectors(*layout.draw(BATCH_ROWS, np.random.default_rng(0), log_frequency=False))
    started = time.perf_counter()
    for seed in range(batches):
        generate_rows(
            generator, artifact.transformer, flat_spans(artifact.transformer), cond,
            embedding_dim=artifact.architecture.embedding_dim, seed=seed,
        )  # fmt: skip
    torch_seconds = time.perf_counter() - started

    spark_rate, bare_rate = rows / spark_seconds, bare_rows / bare_seconds
    ratio = spark_rate / (2 * bare_rate)
    return {
        "ratio": round(ratio, 3),
        "target": TARGET,
        "passed": ratio >= TARGET,
        "rows": rows,
        "batch_rows": BATCH_ROWS,
        "spark_rows_per_s": round(spark_rate),
        "bare_single_thread_rows_per_s": round(bare_rate),
        "torch_only_single_thread_rows_per_s": round(bare_rows / torch_seconds),
        "spark_seconds": round(spark_seconds, 2),
        "master": spark.sparkContext.master,
        "summary": f"spark {spark_rate:,.0f} rows/s vs bare single-thread {bare_rate:,.0f} rows/s",
    }
