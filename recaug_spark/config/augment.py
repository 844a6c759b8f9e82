"""Section ``augment``: the augmentation ops, each selected by its ``op`` name, and the stage's settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from recaug_spark.config.types import Angle, Frozen


class AugmentOp(Frozen):
    """One augmentation recipe: ``copies`` copies per source row (or sequence), each transformed with
    probability ``p`` (a copy the draw skips is not written)."""

    p: float = Field(1.0, ge=0, le=1, description="Probability that a copy is transformed (and kept).")
    copies: int = Field(1, ge=1, le=100, description="Copies made of every source row (row ops) or sequence.")


class GaussianNoiseOp(AugmentOp):
    """x + sigma z; with ``relative``, sigma is a multiple of the column's training std."""

    op: Literal["gaussian_noise"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    sigma: float = Field(gt=0, description="Standard deviation of the noise (a multiple of the std when relative).")
    relative: bool = Field(True, description="sigma is a multiple of the column's training std, else absolute.")


class SaltAndPepperOp(AugmentOp):
    """A share of values set to the column's training ``salt_quantile`` or ``pepper_quantile``."""

    op: Literal["salt_and_pepper"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    share: float = Field(gt=0, le=1, description="Share of values replaced.")
    salt_quantile: float = Field(0.99, ge=0, le=1, description="Training quantile a salt value is set to.")
    pepper_quantile: float = Field(0.01, ge=0, le=1, description="Training quantile a pepper value is set to.")


class RandomScalingOp(AugmentOp):
    """x times a factor from [low, high)."""

    op: Literal["random_scaling"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    low: float = Field(0.9, gt=0, description="Smallest factor.")
    high: float = Field(1.1, gt=0, description="Factors are below this (greater than low).")

    @model_validator(mode="after")
    def _ordered(self) -> RandomScalingOp:
        if self.high <= self.low:
            raise ValueError("'high' must be greater than 'low'")
        return self


class RotationOp(AugmentOp):
    """Rotate the pair ``columns`` by ``theta`` radians, or by an angle from [low, high)."""

    op: Literal["rotation"] = Field(..., description="Selects this op.")
    columns: tuple[str, str] = Field(..., description="The two numeric columns rotated as a point (x, y).")
    theta: Angle | None = Field(None, description="A fixed angle in radians; null = drawn from [low, high).")
    low: Angle = Field(-0.1, description="Smallest angle drawn, in radians.")
    high: Angle = Field(0.1, description="Angles drawn are below this, in radians.")


class JitterOp(AugmentOp):
    """x + uniform noise within +-r."""

    op: Literal["jitter"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    r: float = Field(gt=0, description="Half-width of the uniform noise U(-r, r), in the column's unit.")


class FeatureMaskOp(AugmentOp):
    """A share of values dropped: set to ``fill`` (null when absent)."""

    op: Literal["feature_mask"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    share: float = Field(gt=0, le=1, description="Share of values dropped.")
    fill: float | None = Field(None, description="Value a dropped one takes; null = a null value.")


class CropOp(AugmentOp):
    """Keep a contiguous span of ``eta`` of a user's training sequence."""

    op: Literal["crop"] = Field(..., description="Selects this op.")
    eta: float = Field(0.8, gt=0, le=1, description="Share of the sequence the kept span covers.")


class MaskOp(AugmentOp):
    """Mask ``gamma`` of a sequence's events: item -> ``token``, or the event removed (no token)."""

    op: Literal["mask"] = Field(..., description="Selects this op.")
    gamma: float = Field(0.2, ge=0, le=1, description="Share of the sequence's events masked.")
    token: str | None = Field(None, description="Item id a masked event takes; null = the event is removed.")


class ReorderOp(AugmentOp):
    """Shuffle a contiguous span of ``beta`` of a sequence."""

    op: Literal["reorder"] = Field(..., description="Selects this op.")
    beta: float = Field(0.2, gt=0, le=1, description="Share of the sequence the shuffled span covers.")


class SubstituteOp(AugmentOp):
    """Replace ``ratio`` of a sequence's items by co-occurring (similar) items."""

    op: Literal["substitute"] = Field(..., description="Selects this op.")
    ratio: float = Field(0.2, gt=0, le=1, description="Share of the sequence's items replaced.")


class InsertOp(AugmentOp):
    """Insert similar items next to ``ratio`` of a sequence's items."""

    op: Literal["insert"] = Field(..., description="Selects this op.")
    ratio: float = Field(0.2, gt=0, le=1, description="Share of the sequence's items followed by a similar item.")


class SlideWindowOp(AugmentOp):
    """DA4Rec's sliding window: copy c is the window of ``length`` events ending ``c * stride`` events
    before the end of the sequence (copy 0 = the most recent events); a copy without a full window
    writes nothing."""

    op: Literal["slide_window"] = Field(..., description="Selects this op.")
    length: int = Field(20, ge=1, description="Events per window.")
    stride: int = Field(1, ge=1, description="Events between the ends of consecutive copies' windows.")


class SubsetSplitOp(AugmentOp):
    """DA4Rec's subset split: each event kept with probability 1 - ``dropout``, in order (at least one)."""

    op: Literal["subset_split"] = Field(..., description="Selects this op.")
    dropout: float = Field(0.25, gt=0, lt=1, description="Probability that an event is dropped.")


class TimeShiftOp(AugmentOp):
    """Move each session, as a block, within its day or week."""

    op: Literal["time_shift"] = Field(..., description="Selects this op.")
    within: Literal["day", "week"] = Field("day", description="A session moves within its day or its week.")


class CategoricalJitterOp(AugmentOp):
    """Replace a share of an attribute's values (e.g. device, region) by observed ones."""

    op: Literal["categorical_jitter"] = Field(..., description="Selects this op.")
    attr: str = Field(..., description="The attrs field changed (an attribute some training event has).")
    share: float = Field(0.1, gt=0, le=1, description="Share of values replaced by an observed value.")


_OP_CLASSES: tuple[type[AugmentOp], ...] = (
    GaussianNoiseOp, SaltAndPepperOp, RandomScalingOp, RotationOp, JitterOp, FeatureMaskOp, CropOp, MaskOp,
    ReorderOp, SubstituteOp, InsertOp, SlideWindowOp, SubsetSplitOp, TimeShiftOp, CategoricalJitterOp,
)  # fmt: skip
OP_MODELS: dict[str, type[AugmentOp]] = {
    model.model_fields["op"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in _OP_CLASSES
}


def op_tag(value: Any) -> str | None:
    """The union tag of an op (``"<crop>"``) from a mapping or a model; None for an unknown op.

    Example:
        >>> op_tag({"op": "crop"}), op_tag({"op": "nope"})
        ('<crop>', None)
    """
    name = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    return f"<{name}>" if name in OP_MODELS else None


# One union member per op model, tagged by its name (built from OP_MODELS, so a new op is one line).
OpSpec = Annotated[
    Union[tuple(Annotated[model, Tag(f"<{name}>")] for name, model in OP_MODELS.items())],  # type: ignore[valid-type]  # noqa: UP007
    Discriminator(
        op_tag,
        custom_error_type="augment_op",
        custom_error_message=f"unknown op; known ops: {', '.join(sorted(OP_MODELS))}",
    ),
]


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
    session_gap_minutes: float = Field(
        30.0, gt=0, description="Events without session_id: a longer gap, in minutes, starts a new session."
    )
    keep_runs: int = Field(3, ge=1, description="Augment runs kept in gold/augmented_events (older ones deleted).")
