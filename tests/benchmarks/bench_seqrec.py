"""Benchmark seqrec: our SASRec against RecTools' SASRec (the peer), same Beauty sequences, same epochs.

Data: Amazon Beauty (../shared/data/amazon_beauty/events.tsv), leave-last: each user's last item is
the test target, everything before it the training history (the test item is never trained on).
Both models train on the same sequences: each user's last ``max_len + 1`` training items (what
RecTools' SASRec trains on; ours gets exactly those rows, one per user, not its every-window cut),
so both rank the same catalogue (the items of those sequences). Hyperparameters: ours (SasrecConfig's
defaults) and the peer set to match where it has the same knob: max_len 50, hidden / n_factors 64,
2 blocks, 2 heads, dropout 0.3, Adam lr 1e-3, batch 128, sampled softmax with 256 negatives,
``THREADS`` torch threads each, on the CPU, seed 0, the package's OpenMP setting in both processes
(tests/benchmarks/__init__.py; the peer inherits the environment). What stays each side's own: our
loss shares its negatives across the batch and corrects them by logQ, RecTools draws 256 per
position; our blocks are post-norm with a GELU feed-forward of ``inner`` 256, RecTools' pre-norm with
a ReLU one of n_factors.

Both train ``EPOCHS`` passes over the sequences (1 with ``--quick``, on ``QUICK_USERS`` users drawn
with seed 0: a smoke run, its figures mean little). The peer's epoch is Lightning's (ceil(users /
128) batches); ours is the number of length-bucketed batches one pass of ``train``'s batcher yields,
and ``train`` gets ``steps`` = epochs x that, with its one validation (at the last step) on no users,
so it costs nothing. Then each model ranks the full catalogue for every user with its own
recommend path (ours: ``topk.Scorer``; the peer: ``model.recommend(k=10, filter_viewed=True)``), the
user's training items left out, and one function here scores both lists: NDCG@10 and HR@10 of the
test item. Seconds per epoch: training wall time / epochs (ours: the ``train`` call; the peer: the sum
of Lightning's epoch times), no data preparation, no scoring, no one-off imports (the first optimizer
of a process imports torch._dynamo, seconds: the peer does it in Lightning's set-up, before its first
epoch, and the benchmark does it before our clock starts).

``ratio`` = peer s/epoch / ours, target ``TARGET``; ``ndcg_within`` = our NDCG@10 / the peer's;
``passed`` when ratio >= TARGET and ndcg_within >= ``NDCG_WITHIN``.

The peer runs in its own virtualenv, .venv-peer (``make bench-peer`` or scripts/peer_env.sh, which
this benchmark calls on first use), as a subprocess (tests/benchmarks/peers/rectools_sasrec.py):
rectools 0.19 pins numpy<2 while the project locks numpy 2, so it cannot share .venv. It gets the
project's Python and torch versions, and it is bench-only: never a dependency of the package. The
data goes over in .npz files in a temp dir, the results come back as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from itertools import takewhile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from recaug_spark.config import SasrecConfig
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.model import PAD
from recaug_spark.recommend.sasrec.topk import Scorer, right_aligned
from recaug_spark.recommend.sasrec.train import TrainingData, bucketed_batches, train

TARGET = 5.0  # peer s/epoch / ours
NDCG_WITHIN = 0.95  # our NDCG@10 at least this share of the peer's
EPOCHS = 5  # passes over the training sequences, both sides (the peer's stock epoch is minutes on 2 cores)
QUICK_EPOCHS, QUICK_USERS = 1, 2_000
THREADS = 2
K = 10
SEED = 0
REPO = Path(__file__).resolve().parents[2]
BEAUTY = Path(os.environ.get("RECAUG_DATA_DIR", REPO.parent / "shared" / "data")) / "amazon_beauty" / "events.tsv"
PEER_ENV = REPO / "scripts" / "peer_env.sh"
PEER_PYTHON = REPO / ".venv-peer" / "bin" / "python"
PEER_SCRIPT = Path(__file__).resolve().parent / "peers" / "rectools_sasrec.py"


def beauty_histories(users: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Beauty's users (ascending) and each one's item ids in order; ``users``: that many, drawn with SEED."""
    frame = pd.read_csv(BEAUTY, sep="\t").sort_values(["user_id", "ts"], kind="stable")
    ids = frame.user_id.unique()
    if users is not None:
        ids = np.sort(np.random.default_rng(SEED).choice(ids, size=users, replace=False))
        frame = frame[frame.user_id.isin(ids)]
    items = frame.item_id.to_numpy()
    bounds = np.cumsum(frame.groupby("user_id", sort=True).size().to_numpy())[:-1]
    return ids, np.split(items, bounds)


def ranking_measures(top: np.ndarray, targets: np.ndarray, k: int = K) -> tuple[float, float]:
    """(NDCG@k, HR@k) of one relevant item per row: ``top`` (n, >= k) item ids best first, -1 past the
    end of a list; ``targets`` (n,) the relevant item ids.

    Example:
        >>> ranking_measures(np.array([[5, 7], [7, 5], [1, -1]]), np.array([5, 5, 9]), k=2)
        (0.5436432511904858, 0.6666666666666666)
    """
    hits = top[:, :k] == targets[:, None]
    found = hits.any(axis=1)
    rank = hits.argmax(axis=1)
    return float(np.where(found, 1.0 / np.log2(rank + 2), 0.0).mean()), float(found.mean())


def batches_per_epoch(data: TrainingData, batch_size: int) -> int:
    """Optimizer steps of one pass of ``train``'s length-bucketed batcher (the same every pass: the
    lengths, sorted, fix the cuts)."""
    passes = bucketed_batches(data.targets, batch_size, torch.Generator().manual_seed(SEED))
    return sum(1 for _ in takewhile(lambda batch: batch[0] == 1, passes))


def ours(histories: list[np.ndarray], conf: SasrecConfig, epochs: int) -> dict[str, Any]:
    """Train and score our SASRec: s/epoch, steps per epoch and each user's top K item ids."""
    windows = [h[:-1][-(conf.max_len + 1) :] for h in histories]
    catalogue = np.unique(np.concatenate(windows))  # item index i + 1 is catalogue[i]
    sequences = right_aligned(pa.array([np.searchsorted(catalogue, w) + 1 for w in windows]), conf.max_len + 1)
    data = TrainingData(
        sequences=sequences[(sequences != PAD).sum(1) >= 2],
        valid_inputs=np.zeros((0, conf.max_len), dtype=np.int64),
        valid_targets=np.zeros(0, dtype=np.int64),
        items=len(catalogue),
    )
    per_epoch = batches_per_epoch(data, conf.batch_size)
    steps = epochs * per_epoch
    conf = conf.model_copy(update={"steps": steps, "eval_every": steps})
    # A process's first optimizer imports torch._dynamo (seconds, once): the peer pays it in Lightning's
    # set-up, before its first epoch starts, so it is paid here before the clock starts too.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    started = time.perf_counter()
    trained = train(data, conf, seed=SEED)
    seconds = time.perf_counter() - started

    artifact = SasrecArtifact.pack(
        trained.state, version="bench", architecture=trained.architecture,
        item_ids=tuple(f"{i:09d}" for i in catalogue), info={},
    )  # fmt: skip
    scorer = Scorer.of(artifact)
    known = [h[:-1][np.isin(h[:-1], catalogue)] for h in histories]  # the peer, too, reads only known items
    indices = [np.searchsorted(catalogue, h) + 1 for h in known]
    inputs = right_aligned(pa.array(indices), conf.max_len)
    seen = right_aligned(pa.array(indices), max(1, *(len(i) for i in indices)))
    top = np.full((len(histories), K), -1, dtype=np.int64)
    started = time.perf_counter()
    for start in range(0, len(histories), conf.score_batch):
        rows = slice(start, start + conf.score_batch)
        for i, ids in enumerate(scorer.top(inputs[rows], seen[rows], K), start=start):
            top[i, : len(ids)] = [int(x) for x in ids]
    return {
        "s_per_epoch": seconds / epochs, "train_seconds": seconds, "steps_per_epoch": per_epoch, "steps": steps,
        "sequences": len(data.sequences), "items": len(catalogue), "threads": trained.threads,
        "score_seconds": time.perf_counter() - started, "top": top,
    }  # fmt: skip


def peer_python() -> Path:
    """.venv-peer's interpreter, the environment set up (or checked) by scripts/peer_env.sh."""
    done = subprocess.run([str(PEER_ENV)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"scripts/peer_env.sh failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return PEER_PYTHON


def peer(users: np.ndarray, histories: list[np.ndarray], conf: SasrecConfig, epochs: int) -> dict[str, Any]:
    """Train and score RecTools' SASRec in .venv-peer: s/epoch, its figures and each user's top K."""
    python = peer_python()
    train_items = [h[:-1] for h in histories]
    lengths = np.array([len(h) for h in train_items])
    with tempfile.TemporaryDirectory(prefix="bench-seqrec-") as tmp:
        where = Path(tmp)
        np.savez(
            where / "interactions.npz", user=np.repeat(users, lengths), item=np.concatenate(train_items),
            position=np.concatenate([np.arange(n) for n in lengths]), users=users,
        )  # fmt: skip
        spec = {
            "interactions": str(where / "interactions.npz"), "recos": str(where / "recos.npz"),
            "out": str(where / "out.json"), "k": K, "epochs": epochs, "seed": SEED, "threads": THREADS,
            "max_len": conf.max_len, "hidden": conf.hidden, "layers": conf.layers, "heads": conf.heads,
            "dropout": conf.dropout, "lr": conf.lr, "batch_size": conf.batch_size, "negatives": conf.negatives,
        }  # fmt: skip
        (where / "spec.json").write_text(json.dumps(spec))
        done = subprocess.run(
            [str(python), str(PEER_SCRIPT), str(where / "spec.json")], cwd=REPO, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"the RecTools peer failed ({done.returncode}):\n{done.stderr[-4000:]}")
        result: dict[str, Any] = json.loads((where / "out.json").read_text())
        recos = np.load(where / "recos.npz")
        if not np.array_equal(recos["users"], users):
            raise RuntimeError("the peer's recommendations are not for the users it was given, in order")
        result["top"] = recos["top"]
    result["s_per_epoch"] = sum(result["epoch_seconds"]) / epochs
    return result


def run(*, quick: bool) -> dict[str, Any]:
    """Train and score both on the same sequences and epochs; return the DESIGN.md result record."""
    epochs = QUICK_EPOCHS if quick else EPOCHS
    users, histories = beauty_histories(QUICK_USERS if quick else None)
    targets = np.array([h[-1] for h in histories])
    conf = SasrecConfig(device="cpu", threads=THREADS)
    mine = ours(histories, conf, epochs)
    theirs = peer(users, histories, conf, epochs)
    ndcg, hr = ranking_measures(mine.pop("top"), targets)
    peer_ndcg, peer_hr = ranking_measures(theirs.pop("top"), targets)
    ratio = theirs["s_per_epoch"] / mine["s_per_epoch"]
    within = ndcg / peer_ndcg if peer_ndcg > 0 else float("inf")
    return {
        "ratio": round(ratio, 3), "target": f"ratio >= {TARGET}, ndcg_within >= {NDCG_WITHIN}",
        "passed": ratio >= TARGET and within >= NDCG_WITHIN, "ndcg_within": round(within, 3),
        "epochs": epochs, "users": len(users), "torch_threads": THREADS,
        "openmp": {k: os.environ.get(k) for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")},
        "ours": {"ndcg_at_10": round(ndcg, 4), "hr_at_10": round(hr, 4), **_rounded(mine)},
        "peer": {"ndcg_at_10": round(peer_ndcg, 4), "hr_at_10": round(peer_hr, 4), **_rounded(theirs)},
        "summary": f"s/epoch peer {theirs['s_per_epoch']:.1f} vs ours {mine['s_per_epoch']:.1f}; NDCG@10 ours "
        f"{ndcg:.4f} vs peer {peer_ndcg:.4f} ({within:.3f})",
    }  # fmt: skip


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        k: round(v, 3) if isinstance(v, float) else [round(x, 3) for x in v] if k == "epoch_seconds" else v
        for k, v in figures.items()
    }
