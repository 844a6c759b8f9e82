"""RecTools' SASRec (rectools 0.19, the implementation under the published eSASRec figures), the peer of
the seqrec benchmark: ``.venv-peer/bin/python tests/benchmarks/peers/rectools_sasrec.py SPEC.json``.

Runs in .venv-peer (scripts/peer_env.sh), never in .venv: rectools 0.19 pins numpy<2. Imports rectools,
pytorch-lightning, torch, numpy and pandas only (never ``recaug_spark``), through their public API.

SPEC.json names ``interactions`` (an .npz of ``user``, ``item`` and ``position`` arrays: every training
interaction, ``position`` its order within the user), ``users`` (the same .npz's array of users to
recommend for), ``recos`` and ``out`` (where to write), ``k``, ``epochs``, ``seed``, ``threads`` and the
model's hyperparameters (``max_len``, ``hidden``, ``layers``, ``heads``, ``dropout``, ``lr``,
``batch_size``, ``negatives``). Trained on the CPU with ``threads`` torch threads, a deterministic
seed, no logging, no checkpoints, no validation, the stock model otherwise (the loss
``sampled_softmax``, its uniform per-position negatives, no key padding mask). Writes ``recos`` (an
.npz: ``users`` and ``top``, (n, k) item ids best first, -1 past the end) and ``out`` (JSON: the
seconds of each training epoch, from Lightning's epoch start to its end, steps per epoch, the seconds
of ``recommend``, the versions).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch


def main(spec_path: str) -> None:
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text())
    torch.set_num_threads(spec["threads"])

    import pytorch_lightning as pl
    import rectools
    from rectools import Columns
    from rectools.dataset import Dataset
    from rectools.models import SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    class EpochTimer(pl.Callback):
        """Wall seconds of each training epoch and the torch threads it ran with."""

        def __init__(self) -> None:
            self.seconds: list[float] = []
            self.threads: list[int] = []
            self._started = 0.0

        def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            self.threads.append(torch.get_num_threads())
            self._started = time.perf_counter()

        def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            self.seconds.append(time.perf_counter() - self._started)

    def trainer() -> pl.Trainer:
        return pl.Trainer(
            accelerator="cpu", devices=1, max_epochs=spec["epochs"], min_epochs=spec["epochs"], deterministic=True,
            enable_progress_bar=False, enable_model_summary=False, logger=False, enable_checkpointing=False,
            callbacks=[EpochTimer()],
        )  # fmt: skip

    arrays = np.load(spec["interactions"])
    interactions = pd.DataFrame(
        {
            Columns.User: arrays["user"],
            Columns.Item: arrays["item"],
            Columns.Weight: 1.0,
            Columns.Datetime: pd.to_datetime(arrays["position"], unit="s"),
        }
    )
    dataset = Dataset.construct(interactions)
    pl.seed_everything(spec["seed"], workers=True, verbose=False)
    model = SASRecModel(
        n_blocks=spec["layers"], n_heads=spec["heads"], n_factors=spec["hidden"], dropout_rate=spec["dropout"],
        session_max_len=spec["max_len"], loss="sampled_softmax", n_negatives=spec["negatives"], lr=spec["lr"],
        batch_size=spec["batch_size"], epochs=spec["epochs"], deterministic=True,
        item_net_block_types=(IdEmbeddingsItemNet,), get_trainer_func=trainer, recommend_torch_device="cpu",
    )  # fmt: skip
    started = time.perf_counter()
    model.fit(dataset)
    fit_seconds = time.perf_counter() - started
    fitted = model.fit_trainer  # fit trains a deep copy of the trainer: its callbacks hold the timings
    timer = next(c for c in fitted.callbacks if isinstance(c, EpochTimer))

    users = arrays["users"]
    started = time.perf_counter()
    recos = model.recommend(users=users, dataset=dataset, k=spec["k"], filter_viewed=True)
    recommend_seconds = time.perf_counter() - started
    top = np.full((len(users), spec["k"]), -1, dtype=np.int64)
    row = pd.Series(np.arange(len(users)), index=users)
    ranked = recos.sort_values([Columns.User, Columns.Rank])
    top[row[ranked[Columns.User]].to_numpy(), ranked[Columns.Rank].to_numpy() - 1] = ranked[Columns.Item].to_numpy()
    np.savez(spec["recos"], users=users, top=top)

    result = {
        "epoch_seconds": timer.seconds, "epoch_threads": timer.threads,
        "steps_per_epoch": int(fitted.num_training_batches), "steps": int(fitted.global_step),
        "fit_seconds": fit_seconds, "recommend_seconds": recommend_seconds,
        "items": int(model.data_preparator.item_id_map.size - model.data_preparator.n_item_extra_tokens),
        "rectools": rectools.__version__, "pytorch_lightning": pl.__version__, "torch": torch.__version__,
        "numpy": np.__version__,
    }  # fmt: skip
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
