"""Benchmark gan-peer: our WGAN-GP vs the ``ctgan`` package (PyPI) on the same Complete Journey table.

The table (pandas, from ../shared/data/completejourney): one row per purchase line with price
(sales_value / quantity), quantity and hour (continuous) and day of week, department, product
category (the 30 most frequent, the rest "<other>", so both models see the same columns), age and
income of the household ("unknown" without demographics) (categorical). Both models get the same
training rows, the same epoch budget, batch size, pac and network sizes (conf/base.yaml's gan.model),
and sample as many rows as the holdout has; fidelity is quality/fidelity.py's overall score of each
sample against the held-out rows (the same function for both). Our fidelity probe (which picks the
weights kept) scores against other held-out rows, so the evaluation rows play no part in training.

ctgan runs in its own virtual environment (created on first use under ~/.cache/recaug-spark/bench/,
with the project's torch, numpy and pandas versions), so it is never a dependency of the project.
Our early stopping is off (patience = epochs), so both train the whole budget; our per-epoch time
includes the fidelity probe. ``ratio`` = our fidelity / ctgan's fidelity; target 0.95 (comparable).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from recaug_spark.config import GanModelConfig, GanTrainConfig
from recaug_spark.gan.model import Generator
from recaug_spark.gan.sample import ConditionLayout, flat_spans, generate_rows
from recaug_spark.gan.train import train
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.quality.fidelity import fidelity

TARGET = 0.95
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "completejourney"
PEER_VENV = Path.home() / ".cache" / "recaug-spark" / "bench" / "ctgan-venv"
UV = Path.home() / ".cache" / "recaug-spark" / "bootstrap" / "bin" / "uv"
CONTINUOUS = ["price", "quantity", "hour"]
CATEGORICAL = ["dow", "department", "category", "age", "income"]
PEER_SCRIPT = """
import json, pickle, sys, time
import torch
from ctgan import CTGAN
spec = json.loads(sys.argv[1])
with open(spec["train"], "rb") as f:
    frame = pickle.load(f)
torch.manual_seed(spec["seed"])
model = CTGAN(epochs=spec["epochs"], batch_size=spec["batch_size"], pac=spec["pac"],
              embedding_dim=spec["embedding_dim"], generator_dim=tuple(spec["generator_dims"]),
              discriminator_dim=tuple(spec["critic_dims"]), verbose=False)
t0 = time.perf_counter()
model.fit(frame, discrete_columns=spec["categorical"])
fit_s = time.perf_counter() - t0
t0 = time.perf_counter()
sample = model.sample(spec["rows"])
sample_s = time.perf_counter() - t0
with open(spec["out"], "wb") as f:
    pickle.dump(sample, f)
print(json.dumps({"fit_seconds": fit_s, "sample_seconds": sample_s, "ctgan": __import__("ctgan").__version__}))
"""


def complete_journey_table() -> pd.DataFrame:
    """The shared table, built in pandas from the three CSV files."""
    tx = pd.read_csv(DATA / "transactions_sample.csv", dtype={"household_id": str, "product_id": str})
    products = pd.read_csv(DATA / "products.csv", dtype={"product_id": str})
    people = pd.read_csv(DATA / "demographics.csv", dtype={"household_id": str})
    tx = tx[tx.quantity > 0].merge(products[["product_id", "department", "product_category"]], how="left")
    tx = tx.merge(people[["household_id", "age", "income"]], how="left")
    ts = pd.to_datetime(tx.transaction_timestamp, utc=True)
    top = tx.product_category.value_counts().index[:30]
    table = pd.DataFrame(
        {
            "price": (tx.sales_value / tx.quantity).round(6),
            "quantity": tx.quantity.astype(float),
            "hour": ts.dt.hour.astype(float),
            "dow": ts.dt.dayofweek.astype(str),
            "department": tx.department.fillna("unknown"),
            "category": tx.product_category.where(tx.product_category.isin(top), "<other>").fillna("unknown"),
            "age": tx.age.fillna("unknown"),
            "income": tx.income.fillna("unknown"),
        }
    )
    return table.sample(frac=1.0, random_state=0).reset_index(drop=True)


def peer_python() -> Path:
    """The ctgan environment's interpreter (created once, with the project's torch/numpy/pandas)."""
    python = PEER_VENV / "bin" / "python"
    ready = python.exists() and subprocess.run([str(python), "-c", "import ctgan"], capture_output=True).returncode == 0
    if not ready:
        pins = [f"torch=={torch.__version__.split('+')[0]}", f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]
        subprocess.run([str(UV), "venv", "-q", "--clear", "-p", sys.executable, str(PEER_VENV)], check=True)
        subprocess.run([str(UV), "pip", "install", "-q", "--python", str(python), "ctgan", *pins], check=True)
    return python


def run(*, quick: bool) -> dict[str, Any]:
    """Train both on the same rows and budget; return the DESIGN.md result record."""
    train_rows, holdout_rows, epochs = (4_000, 2_000, 2) if quick else (20_000, 5_000, 10)
    table = complete_journey_table()
    rows, holdout = table.iloc[:train_rows].reset_index(drop=True), table.iloc[-holdout_rows:].reset_index(drop=True)
    probe = table.iloc[train_rows : train_rows + holdout_rows].reset_index(drop=True)  # early stopping's own rows
    model = GanModelConfig()
    params = GanTrainConfig(patience=epochs, batch_size=500)
    kinds = {"continuous": CONTINUOUS, "categorical": CATEGORICAL}

    started = time.perf_counter()
    transformer = DataTransformer.fit(rows, top_k=30, **kinds)
    trained = train(transformer.transform(rows), transformer, probe, model=model, params=params, epochs=epochs, seed=0)
    ours_fit = time.perf_counter() - started
    layout = ConditionLayout.of(transformer)
    generator = Generator(trained.architecture)
    generator.load_state_dict(trained.state)
    cond = layout.vectors(*layout.draw(holdout_rows, np.random.default_rng(1), log_frequency=False))
    started = time.perf_counter()
    ours_sample = generate_rows(
        generator.eval(), transformer, flat_spans(transformer), cond, embedding_dim=model.embedding_dim, seed=1
    )
    ours_sample_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="bench-gan-peer-") as tmp:
        with open(Path(tmp) / "train.pkl", "wb") as handle:
            pickle.dump(rows, handle)
        spec = {
            "train": str(Path(tmp) / "train.pkl"), "out": str(Path(tmp) / "sample.pkl"), "seed": 0,
            "epochs": epochs, "batch_size": params.batch_size, "pac": model.pac, "embedding_dim": model.embedding_dim,
            "generator_dims": list(model.generator_dims), "critic_dims": list(model.critic_dims),
            "categorical": CATEGORICAL, "rows": holdout_rows,
        }  # fmt: skip
        out = subprocess.run(
            [str(peer_python()), "-c", PEER_SCRIPT, json.dumps(spec)], capture_output=True, text=True, check=True
        )
        peer = json.loads(out.stdout.strip().splitlines()[-1])
        with open(spec["out"], "rb") as handle:
            peer_sample = pickle.load(handle)

    ours_score = fidelity(holdout, ours_sample, **kinds)
    peer_score = fidelity(holdout, peer_sample, **kinds)
    ratio = ours_score.overall / peer_score.overall
    return {
        "ratio": round(ratio, 3),
        "target": TARGET,
        "passed": ratio >= TARGET,
        "train_rows": train_rows,
        "holdout_rows": holdout_rows,
        "epochs": epochs,
        "ours_fidelity": round(ours_score.overall, 4),
        "ours_column_score": round(ours_score.column_score, 4),
        "ours_pair_score": round(ours_score.pair_score, 4),
        "ctgan_fidelity": round(peer_score.overall, 4),
        "ctgan_column_score": round(peer_score.column_score, 4),
        "ctgan_pair_score": round(peer_score.pair_score, 4),
        "ours_seconds_per_epoch": round(ours_fit / epochs, 2),
        "ctgan_seconds_per_epoch": round(peer["fit_seconds"] / epochs, 2),
        "ours_sample_rows_per_s": round(holdout_rows / ours_sample_seconds),
        "ctgan_sample_rows_per_s": round(holdout_rows / peer["sample_seconds"]),
        "ours_best_epoch": trained.best_epoch,
        "ctgan_version": peer["ctgan"],
        "torch_threads": torch.get_num_threads(),
        "summary": (
            f"fidelity ours {ours_score.overall:.3f} vs ctgan {peer_score.overall:.3f}; s/epoch "
            f"{ours_fit / epochs:.2f} vs {peer['fit_seconds'] / epochs:.2f}"
        ),
    }
