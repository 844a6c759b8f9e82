"""The recommenders evaluate trains: one protocol, one registry.

A :class:`Recommender` fits on one variant's training rows (:class:`TrainingSet`) and ranks the
catalogue for the users asked, seen items left out. The registry maps a name of ``evaluate.models`` to
its :class:`ModelSpec`; the config accepts exactly the registered names (an unknown one is an error
naming the known ones), and ``register`` adds a model from outside (a test's toy model, a user's own).
The packaged models (recommend/recommenders.py: popularity, item-kNN, ALS, SASRec) are built lazily,
so this module, which the config reads, imports no Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
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
    real training pairs, never recommended.
    """

    variant: str
    real: DataFrame
    extra: Mapping[str, DataFrame]
    interactions: DataFrame
    seen: DataFrame


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


def _packaged(name: str) -> Callable[[], Recommender]:
    def build() -> Recommender:
        from recaug_spark.recommend import recommenders

        return recommenders.PACKAGED[name]()

    return build


_MODELS: dict[str, ModelSpec] = {
    name: ModelSpec(name, _packaged(name), sequential=name == "sasrec")
    for name in ("popularity", "itemknn", "als", "sasrec")
}
MODELS: Mapping[str, ModelSpec] = MappingProxyType(_MODELS)


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model: from then on the config accepts its name and evaluate trains it."""
    if spec.name in _MODELS:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    _MODELS[spec.name] = spec
    return spec


@contextmanager
def registered(*specs: ModelSpec) -> Iterator[tuple[ModelSpec, ...]]:
    """Register ``specs`` for the ``with`` block, then remove them (a test's toy model stays its own)."""
    for spec in specs:
        register(spec)
    try:
        yield specs
    finally:
        for spec in specs:
            _MODELS.pop(spec.name, None)


def check_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` when every one is registered; else an error naming the unknown and the known ones.

    Example:
        >>> check_names(("als", "sasrec"))
        ('als', 'sasrec')
    """
    unknown = [n for n in names if n not in _MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known: {sorted(_MODELS)}")
    return names
