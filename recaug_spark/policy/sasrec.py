"""SASRec in the policy search: the inputs built in Spark once, every candidate's training data assembled
from them on the driver, and the arms policy/search.py trains.

From the fit rows (policy/slices.py) Spark builds the catalogue, the users' histories, the real training
windows with early stopping's validation slice (each validation user's last fit item: not the policy
slice), and every augmented copy's windows tagged with the op spec that made it and the group of its
user (``cold``, ``short``, ``warm``); all of it is collected once (bounded: windows of at most
``max_len + 1`` items, as evaluate collects them). A candidate's training data is then the real windows
plus the windows of its specs and target users at its weight, equal windows summed, in numpy. The policy
slice's users are scored on the driver: each user's last ``max_len`` fit items as input, fit items left
out, NDCG@10 against the user's slice items (ties by item index).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recaug_spark.config import SasrecConfig
from recaug_spark.policy.candidates import Candidate
from recaug_spark.policy.decide import SEGMENTS
from recaug_spark.recommend import metrics
from recaug_spark.recommend.ranking import RELEVANT
from recaug_spark.recommend.sasrec import score
from recaug_spark.recommend.sasrec import sequences as sq
from recaug_spark.recommend.sasrec.model import SASRec
from recaug_spark.recommend.sasrec.topk import right_aligned, top_k_columns
from recaug_spark.recommend.sasrec.train import Trainer, TrainingData, mask_items, pretrain_steps, trimmed

K = 10
GROUPS = ("warm", "short", "cold")  # a user's group, by fit events: > short_max, <= short_max, <= cold_max
SPEC = "_spec"
GROUP = "_group"


@dataclass(frozen=True)
class SliceUsers:
    """The policy slice on the driver, one row per user (user id order): the model's input (the last
    ``max_len`` fit items), the fit items left out of the list, the slice items in index space (CSR;
    items outside the fit catalogue cannot be ranked and only count in ``relevant_count``), and each
    segment's mask."""

    users: np.ndarray
    inputs: np.ndarray
    seen: np.ndarray
    relevant_offsets: np.ndarray
    relevant_items: np.ndarray
    relevant_count: np.ndarray
    segments: dict[str, np.ndarray]
    confirm: np.ndarray


@dataclass(frozen=True)
class Pool:
    """Every candidate's windows: ``real`` (fit windows and early stopping's slice) and the augmented
    windows (right-aligned, ``max_len + 1`` wide) with the op spec (index into the search's spec list)
    and the group (index into :data:`GROUPS`) of their user."""

    real: TrainingData
    windows: np.ndarray
    spec: np.ndarray
    group: np.ndarray

    def data(self, candidate: Candidate) -> TrainingData:
        """The candidate's training data: real windows at 1 plus its specs' windows of its target users at
        its weight, equal windows one row with their weights summed, rows in lexicographic order."""
        pick = np.isin(self.spec, candidate.specs)
        if candidate.target != "all":
            pick &= self.group == GROUPS.index(candidate.target)
        real = self.real
        own = np.ones(len(real.sequences)) if real.weights is None else real.weights
        stacked = np.concatenate([real.sequences, self.windows[pick]])
        weights = np.concatenate([own, np.full(int(pick.sum()), candidate.weight)])
        rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
        summed = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(rows))
        return replace(real, sequences=rows, weights=None if bool((summed == 1.0).all()) else summed)


def user_groups(fit: DataFrame, *, cold_max: int, short_max: int) -> DataFrame:
    """``(user_id, _group)``: each fit user's index into :data:`GROUPS` by their fit events."""
    counts = fit.groupBy("user_id").agg(F.count(F.lit(1)).alias("_n"))
    group = F.when(F.col("_n") <= cold_max, 2).when(F.col("_n") <= short_max, 1).otherwise(0)
    return counts.select("user_id", group.alias(GROUP))


def pool(
    fit: DataFrame,
    augmented: DataFrame,
    conf: SasrecConfig,
    *,
    seed: int,
    cold_max: int,
    short_max: int,
) -> tuple[Pool, DataFrame, DataFrame]:
    """The collected windows of the fit rows and of ``augmented`` (augment/apply.py's rows over the fit
    rows, ``aug_ops`` labelled ``<spec index>:<op>(...)``); also the item index and the histories."""
    index = sq.item_index(fit).persist()
    items = index.count()
    history = sq.histories(fit, index, conf).persist()
    validation = sq.validation_slice(history, conf, seed=seed).persist()
    sequences = sq.training_sequences(history, validation, {}, index, conf, weights={})
    real = score.training_data(sequences, validation, items=items, max_len=conf.max_len)
    copies = sq.augmented_sequences(augmented, validation, index, conf)
    spec = F.split(F.element_at("aug_ops", 1), ":").getItem(0).cast("int")
    tagged = copies.join(user_groups(fit, cold_max=cold_max, short_max=short_max), "user_id")
    rows = sq.windowed(tagged.select(spec.alias(SPEC), GROUP, sq.ITEMS), conf.max_len).toArrow()
    validation.unpersist()
    return (
        Pool(
            real=real,
            windows=right_aligned(rows.column(sq.ITEMS), conf.max_len + 1),
            spec=rows.column(SPEC).to_numpy().astype(np.int64),
            group=rows.column(GROUP).to_numpy().astype(np.int64),
        ),
        index,
        history,
    )


def slice_users(
    relevant: DataFrame, history: DataFrame, index: DataFrame, conf: SasrecConfig, *, seed: int
) -> SliceUsers:
    """The policy slice (policy/slices.py's ``relevant``) collected for scoring: bounded by its
    ``max_users``. A keyed hash of the user puts about half of them in the confirmation half."""
    per_user = relevant.groupBy("user_id").agg(
        F.collect_set("segment").alias("_segments"),
        F.first(F.when(F.col("segment") == "all", F.col(RELEVANT)), ignorenulls=True).alias(RELEVANT),
    )
    items = per_user.select("user_id", F.explode(RELEVANT).alias("item_id")).join(index, "item_id")
    ranked = items.groupBy("user_id").agg(F.sort_array(F.collect_list(sq.ITEM_IX)).alias("_ix"))
    inputs = sq.scoring_inputs(history, per_user, conf)
    columns: list[Column | str] = [
        "user_id", sq.ITEMS, sq.SEEN, F.coalesce("_ix", F.array().cast("array<int>")).alias("_ix"),
        F.size(RELEVANT).alias("_n"), "_segments",
        (F.pmod(F.xxhash64(F.lit(seed), F.lit("confirm"), "user_id"), F.lit(2)) == 1).alias("_confirm"),
    ]  # fmt: skip
    joined = per_user.join(inputs, "user_id").join(ranked, "user_id", "left")
    rows = joined.select(*columns).orderBy("user_id").toArrow()
    widest = max(1, int(np.diff(rows.column(sq.SEEN).combine_chunks().offsets.to_numpy()).max(initial=1)))
    found = rows.column("_ix").combine_chunks()
    names = rows.column("_segments").to_pylist()
    return SliceUsers(
        users=np.asarray(rows.column("user_id").to_pylist(), dtype=object),
        inputs=right_aligned(rows.column(sq.ITEMS), conf.max_len),
        seen=right_aligned(rows.column(sq.SEEN), widest),
        relevant_offsets=found.offsets.to_numpy().astype(np.int64) - found.offsets[0].as_py(),
        relevant_items=found.flatten().to_numpy(zero_copy_only=False).astype(np.int64),
        relevant_count=rows.column("_n").to_numpy().astype(np.int64),
        segments={s: np.array([s in mine for mine in names], dtype=bool) for s in SEGMENTS},
        confirm=rows.column("_confirm").to_numpy(zero_copy_only=False).astype(bool),
    )


@torch.no_grad()
def ndcg(model: SASRec, users: SliceUsers, *, chunk: int = 1024) -> np.ndarray:
    """(users,) NDCG@10 of each slice user's list: the model's top 10 with the fit items left out, ties
    by item index."""
    model.eval()
    out = np.zeros(len(users.users))
    device = next(model.parameters()).device
    for start in range(0, len(out), chunk):
        stop = min(start + chunk, len(out))
        inputs = torch.from_numpy(users.inputs[start:stop]).to(device)
        seen = torch.from_numpy(users.seen[start:stop]).to(device)
        scores = mask_items(model.logits(model.last_hidden(trimmed(inputs))), seen).double().cpu().numpy()
        top = np.stack([columns + 1 for columns, _ in top_k_columns(scores, K)]).astype(np.int64)
        offsets = users.relevant_offsets[start : stop + 1]
        hit = metrics.hits(top, offsets - offsets[0], users.relevant_items[offsets[0] : offsets[-1]])
        out[start:stop] = metrics.ndcg_at(hit, np.maximum(users.relevant_count[start:stop], 1), K)
    return out


class SasrecArm:
    """A candidate's SASRec in training (:class:`Trainer`), scored on the policy slice."""

    def __init__(self, trainer: Trainer, users: SliceUsers) -> None:
        self.trainer, self.users = trainer, users

    def advance(self, steps: int) -> None:
        self.trainer.advance(steps)

    def values(self) -> np.ndarray:
        with self.trainer.threads():
            return ndcg(self.trainer.best_model(), self.users)

    @property
    def seconds(self) -> float:
        return self.trainer.spent


class RealArm:
    """``real``'s SASRec, trained once to its end (``steps`` or early stopping) with the best weights as of
    each validation kept: the search compares a candidate at step t with real's best as of step t, and
    sizes its schedule on the steps real took (one full training on real, what the budget counts in)."""

    def __init__(self, trainer: Trainer, users: SliceUsers) -> None:
        self.trainer, self.users, self.at = trainer, users, 0
        self.best_at: list[tuple[int, dict[str, torch.Tensor]]] = []  # (validation step, its weights), new bests
        step = 0
        while not trainer.finished:  # in pieces of one validation: the same run as one advance
            step += trainer.conf.eval_every
            result = trainer.advance(step)
            if result.best is not None and (not self.best_at or self.best_at[-1][1] is not result.state):
                self.best_at.append((result.best.step, result.state))

    @property
    def steps(self) -> int:
        """The steps real trained."""
        return self.trainer.step

    def advance(self, steps: int) -> None:
        self.at = steps

    def values(self) -> np.ndarray:
        mine = [state for step, state in self.best_at if step <= self.at]
        model = self.trainer.model_of(mine[-1] if mine else self.trainer.model.state_dict())
        with self.trainer.threads():
            return ndcg(model, self.users)

    @property
    def seconds(self) -> float:
        return self.trainer.spent


def arm(
    candidate: Candidate, sources: Pool, users: SliceUsers, conf: SasrecConfig, *, seed: int, pretrain: float
) -> SasrecArm:
    """A candidate's arm, seeded as real's: a ``pretrain`` candidate trains on real + augmented for the
    first ``pretrain`` share of ``steps``, then on real."""
    then = (pretrain_steps(pretrain, conf), sources.real) if candidate.mode == "pretrain" else None
    return SasrecArm(Trainer(sources.data(candidate), conf, seed=seed, then=then), users)
