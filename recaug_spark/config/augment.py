"""Section ``augment``: the augmentation ops, each selected by its ``op`` name, and the stage's settings.

An op's parameters model lives with its spec in the op registry (augment/ops.py); the union that selects
one by its ``op`` name is built from the registry (:func:`op_union`), and :func:`follow_registry` rebuilds
the models holding such a union when an op is registered or removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args

from pydantic import BaseModel, Discriminator, Field, GetCoreSchemaHandler, Tag
from pydantic_core import CoreSchema

from recaug_spark.augment import ops
from recaug_spark.augment.ops import (  # re-exported: the packaged ops' parameters models
    AugmentOp,
    CategoricalJitterOp,
    CropOp,
    FeatureMaskOp,
    GaussianNoiseOp,
    InsertOp,
    JitterOp,
    MaskOp,
    RandomScalingOp,
    ReorderOp,
    RotationOp,
    SaltAndPepperOp,
    SlideWindowOp,
    SubsetSplitOp,
    SubstituteOp,
    TimeShiftOp,
)
from recaug_spark.config.types import Frozen

__all__ = [
    "OP_MODELS", "AugmentConfig", "AugmentOp", "CategoricalJitterOp", "CropOp", "FeatureMaskOp", "FromRegistry",
    "GaussianNoiseOp", "InsertOp", "JitterOp", "MaskOp", "OpSpec", "RandomScalingOp", "ReorderOp", "RotationOp",
    "SaltAndPepperOp", "SlideWindowOp", "SubsetSplitOp", "SubstituteOp", "TimeShiftOp", "follow_registry",
    "op_tag", "op_union",
]  # fmt: skip

OP_MODELS = ops.OP_MODELS  # name -> parameters model of every registered op (live)


def op_tag(value: Any) -> str | None:
    """The union tag of an op (``"<crop>"``) from a mapping or a model; None for an unknown op.

    Example:
        >>> op_tag({"op": "crop"}), op_tag({"op": "nope"})
        ('<crop>', None)
    """
    name = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    return f"<{name}>" if name in ops.OPS else None


def _view_tag(value: Any) -> str | None:
    tag = op_tag(value)
    return tag if tag and ops.OPS[tag[1:-1]].view else None


def op_union(*, views: bool = False) -> Any:
    """The tagged union of the registered ops' parameters models (with ``views``, of the ops that can make a
    contrastive view), selected by ``op``; an unknown name fails listing the known ones.

    Example:
        >>> from pydantic import TypeAdapter
        >>> TypeAdapter(op_union(views=True)).validate_python({"op": "crop", "eta": 0.5})
        CropOp(p=1.0, copies=1, op='crop', eta=0.5)
    """
    names = [name for name, op in ops.OPS.items() if op.view or not views]
    members = tuple(Annotated[ops.OP_MODELS[name], Tag(f"<{name}>")] for name in names)
    if views:
        known = f"unknown view op; known: {', '.join(names)}"
        discriminator = Discriminator(_view_tag, custom_error_type="view_op", custom_error_message=known)
    else:
        known = f"unknown op; known ops: {', '.join(sorted(names))}"
        discriminator = Discriminator(op_tag, custom_error_type="augment_op", custom_error_message=known)
    return Annotated[Union[members], discriminator]  # noqa: UP007


@dataclass(frozen=True)
class FromRegistry:
    """Marks an op union: pydantic builds its schema from the registry as it is when the model is built (or
    rebuilt by :func:`follow_registry`), not from the members the annotation was written with (those the
    reference documents: the registry's at import)."""

    views: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return handler.generate_schema(op_union(views=self.views))


# One union member per registered op, tagged by its name ("<crop>"), so that an error's location drops the tag.
# The union is built from the registry at run time; a type checker sees what every member is, an AugmentOp.
if TYPE_CHECKING:
    OpSpec = AugmentOp
else:
    OpSpec = Annotated[op_union(), FromRegistry()]


class AugmentConfig(Frozen):
    """Stage augment: an ordered list of ops over the training rows and sequences."""

    ops: tuple[OpSpec, ...] = Field(
        (
            GaussianNoiseOp(op="gaussian_noise", column="price", sigma=0.05),
            CropOp(op="crop", eta=0.8, p=0.5),
            SubstituteOp(op="substitute", ratio=0.2),
        ),
        description="The ops, in order, each its op name and parameters. Unset, the defaults whose columns the "
        "source fills; set, an op whose column the source does not fill fails at load.",
    )
    max_history: int = Field(200, ge=1, description="A user's most recent training events kept for sequence ops.")
    short_max: int = Field(3, ge=0, description="Sequences this short get only insert and substitute.")
    similar_top_k: int = Field(
        10, ge=1, description="Similar items kept per item (co-occurrence in training sessions)."
    )
    similar_window: int | None = Field(
        None,
        ge=1,
        description="Similar items: null = items sharing a training session; w = items at most w events apart "
        "in a user's time-ordered training history (for logs whose timestamps mark no sessions).",
    )
    session_gap_minutes: float = Field(
        30.0, gt=0, description="Events without session_id: a longer gap, in minutes, starts a new session."
    )
    keep_runs: int = Field(3, ge=1, description="Augment runs kept in gold/augmented_events (older ones deleted).")


def follow_registry() -> None:
    """Rebuild the config models that hold an op union (innermost first), so that they accept the ops
    registered now; augment/ops.py calls it when an op is registered or removed."""
    from recaug_spark.config.root import RecaugConfig  # root imports this module

    _rebuild(RecaugConfig, {})


def _rebuild(model: type[BaseModel], seen: dict[type[BaseModel], bool]) -> bool:
    """Force-rebuild the models under ``model`` that hold an op union, then ``model`` if it does; whether it does."""
    if model in seen:
        return seen[model]
    seen[model] = False
    holds = False
    for info in model.model_fields.values():
        for part in (*_parts(info.annotation), *info.metadata):
            if isinstance(part, FromRegistry):
                holds = True
            elif isinstance(part, type) and issubclass(part, BaseModel):
                holds = _rebuild(part, seen) or holds
    if holds:
        model.model_rebuild(force=True)
    seen[model] = holds
    return holds


def _parts(annotation: Any) -> Iterator[Any]:
    """An annotation, its arguments and their metadata (``Annotated``'s too), all the way down."""
    yield annotation
    for arg in get_args(annotation):
        yield from _parts(arg)
