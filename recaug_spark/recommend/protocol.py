"""The protocol of the recommenders evaluate trains (the registry of them: recommend/recommenders.py).

A :class:`Recommender` fits on one variant's training rows (:class:`TrainingSet`) and ranks the
catalogue for the users asked, seen items left out; a :class:`ModelSpec` is what the registry holds.
Pure: Spark appears in type hints only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from recaug_spark.config import EvaluateConfig


@dataclass(frozen=True)
class TrainingSet:
    """One variant's training rows.

    ``real``: the real training events (event_id, user_id, item_id, event_type, ts, session_id);
    ``extra``: the variant's augmented or synthetic rows by kind; ``interactions``: ``(user_id, item_id,
    strength)``, the variant's events weighted and summed per pair; ``seen``: ``(user_id, item_id)``, the
    real training pairs, never recommended; ``pretrain``: for a sequential model, the share of its steps
    trained on real + extra before it goes on with real alone (None: real + extra throughout).
    """

    variant: str
    real: DataFrame
    extra: Mapping[str, DataFrame]
    interactions: DataFrame
    seen: DataFrame
    pretrain: float | None = None


@dataclass(frozen=True)
class FitContext:
    """What a fit may need beyond the rows: the session, the evaluate config, the run's seed, the
    candidates per user a Spark model returns before seen items go (``depth``), ALS's storage level, and
    where and under which version a model with an artifact saves it (``info`` goes into its metadata)."""

    spark: SparkSession
    conf: EvaluateConfig
    seed: int
    depth: int
    storage_level: str
    root: str
    version: str
    info: Mapping[str, object]


class Recommender(Protocol):
    """A model evaluate can train and ask."""

    def fit(self, data: TrainingSet, *, context: FitContext) -> None:
        """Train on ``data`` (a model may train lazily, in Spark's plan)."""

    def rank(self, users: DataFrame, *, k: int) -> DataFrame:
        """``(user_id, items)``: at most ``k`` items per asked user, best first, seen items left out; a
        user the model cannot score may be missing (evaluate gives them the popularity list)."""
        ...

    def trained(self) -> Mapping[str, object]:
        """What the last fit's training loop did, JSON-able, for the report (SASRec: steps, the selected
        step, seconds, device, the validation curve); empty for a model without one."""
        ...


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its name in ``evaluate.models``, how to build one, and whether it reads the
    order of events (``sequential``: it also trains the sequential-only variants, real+contrastive)."""

    name: str
    build: Callable[[], Recommender]
    sequential: bool = False
