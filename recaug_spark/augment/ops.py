"""The augment op registry: one spec per op, read by everything that used to name ops.

An op's :class:`Op` spec holds its parameters model (the config model whose one-value ``op`` literal is its
name), its shape (``row``: each training row's columns, through the scalar Arrow UDF; ``sequence``: a user's
recent training sequence, through the grouped one), the parameters naming the columns it reads and
rewrites, what it needs besides the rows (:class:`Need`, fitted statistics) and its kernel, bound to its
parameters. The config's op unions (config/augment.py ``augment.ops``, config/evaluate.py's contrastive
views), the stage (augment/apply.py, table.py, fit.py, through augment/recipes.py), the source check
(source_columns.py) and SASRec's views read the specs. A new op is its kernel (numeric.py, sequence.py,
context.py) plus its spec: here for a packaged op, or :func:`register` (:func:`registered` in a test).

Pure: no Spark. The registry is this module's one piece of state: the packaged ops at import, more through
:func:`register`, which also rebuilds the config models holding an op union so that they accept the op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, get_args, get_origin

import numpy as np
from pydantic import Field, model_validator

from recaug_spark.augment import numeric, sequence
from recaug_spark.augment.context import categorical_jitter
from recaug_spark.augment.frames import ColumnKernel, FrameEdit, session_shift
from recaug_spark.augment.sequence import Edit, SimilarItems
from recaug_spark.frozen import Angle, Frozen
from recaug_spark.rng import Draws

if TYPE_CHECKING:
    from recaug_spark.augment.prior import PriorModel

ROW: Final = "row"
SEQUENCE: Final = "sequence"
Shape = Literal["row", "sequence"]

ItemKernel = Callable[[np.ndarray, Draws], Edit]


def _none_given(what: str) -> Callable[[], Any]:
    def refuse() -> Any:
        raise RuntimeError(f"this op needs {what}, which its caller did not provide")

    return refuse


@dataclass(frozen=True)
class Lookups:
    """What a sequence kernel may look up besides its rows, each resolved on the executor on first use
    (a broadcast's value): the similar-items table (substitute, insert) and the reversed-sequence model
    (pseudo_prior). A caller provides what its ops need (:class:`Need`)."""

    similar: Callable[[], SimilarItems] = field(default_factory=lambda: _none_given("similar items"))
    prior: Callable[[], PriorModel] = field(default_factory=lambda: _none_given("the reversed-sequence model"))


class Need(Enum):
    """What an op needs from the stage besides the training rows and its fitted statistics."""

    SIMILAR_ITEMS = "similar_items"  # the similar-items table (top-k co-occurrence in training sessions)
    PRIOR_MODEL = "prior_model"  # a SASRec trained on the reversed training sequences (pseudo_prior)
    ITEM_PRICES = "item_prices"  # an event the op gives another item takes that item's median training price


@dataclass(frozen=True, order=True)
class Std:
    """The training standard deviation of a numeric column."""

    column: str


@dataclass(frozen=True, order=True)
class Quantile:
    """The training quantile ``q`` of a numeric column."""

    column: str
    q: float


Statistic = Std | Quantile


@dataclass(frozen=True)
class Levels:
    """An attribute's observed values (most frequent first) and their training counts."""

    values: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Fitted:
    """Training-row quantities the kernels read: column standard deviations (``Std``), quantiles by (column,
    q) (``Quantile``), and the levels of the attributes row ops rewrite."""

    std: Mapping[str, float] = field(default_factory=dict)
    quantiles: Mapping[tuple[str, float], float] = field(default_factory=dict)
    levels: Mapping[str, Levels] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Why an op cannot run on the training rows' statistics: the parameter at fault and what is wrong."""

    field: str
    message: str


class AugmentOp(Frozen):
    """One augmentation recipe: ``copies`` copies per source row (or sequence), each transformed with
    probability ``p`` (a copy the draw skips is not written)."""

    p: float = Field(1.0, ge=0, le=1, description="Probability that a copy is transformed (and kept).")
    copies: int = Field(1, ge=1, le=100, description="Copies made of every source row (row ops) or sequence.")


def _no_statistics(params: Any) -> tuple[Statistic, ...]:
    return ()


def _no_problem(params: Any, values: Mapping[Statistic, float | None]) -> Problem | None:
    return None


@dataclass(frozen=True)
class Op:
    """One augment op's spec.

    Attributes:
        params: Its parameters model, an :class:`AugmentOp`; the model's one-value ``op`` literal is its name.
        shape: ``row`` (each training row's columns) or ``sequence`` (a user's recent training sequence).
        kernel: A row op's ``(params, fitted) -> ColumnKernel`` (one float array per input column in, one
            per column out); a sequence op's ``(params, lookups) -> FrameEdit``, unless it gives ``items``.
        items: A sequence op that edits item ids only: ``(params, lookups) -> ItemKernel``; the stage wraps
            it as a frame edit (frames.py ``item_edit``) and SASRec's views call it on index sequences.
        columns: Row ops: the parameters naming the numeric event columns it reads and rewrites, in order
            (each a column name or a tuple of them).
        attributes: Row ops: the parameters naming the ``attrs`` fields it rewrites. The kernel gets each,
            after the columns, as its level index (0 = the most frequent training value; NaN when missing or
            rare), and the stage maps the drawn index back to the value.
        needs: What the stage provides besides the rows.
        statistics: The training statistics the kernel reads from ``fitted`` (the attributes' levels are
            fitted without asking).
        check: The parameter at fault and why, when the op cannot run on the fitted statistics; else None.
        short: It also applies to sequences of at most ``augment.short_max`` events.
        max_length: The parameter bounding the sequence lengths it applies to (pseudo_prior's
            ``max_length``); None: no bound.
        view: It can make SASRec's contrastive views (``evaluate.sasrec.contrastive.ops``; needs ``items``).
        token: The parameter naming the item it writes in place of an edited one (a mask token): a view
            writes the model's mask index there instead.
        strength: The float parameter whose size is the op's strength (the augmentation policy scales it,
            recaug_spark/policy/candidates.py); None: the op has no one such parameter.
        strength_kept: The strength parameter is the share kept (crop's ``eta``): the strength is 1 - it.
    """

    params: type[AugmentOp]
    shape: Shape
    kernel: Callable[[Any, Any], Any] | None = None
    items: Callable[[Any, Lookups], ItemKernel] | None = None
    columns: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    needs: frozenset[Need] = frozenset()
    statistics: Callable[[Any], tuple[Statistic, ...]] = _no_statistics
    check: Callable[[Any, Mapping[Statistic, float | None]], Problem | None] = _no_problem
    short: bool = False
    max_length: str | None = None
    view: bool = False
    token: str | None = None
    strength: str | None = None
    strength_kept: bool = False

    @property
    def name(self) -> str:
        """The op's name: its parameters model's ``op`` literal."""
        return name_of(self.params)

    def columns_of(self, params: AugmentOp) -> tuple[str, ...]:
        """The numeric event columns ``params`` names, in the order the kernel takes them."""
        return tuple(column for name in self.columns for column in _names(getattr(params, name)))

    def attributes_of(self, params: AugmentOp) -> tuple[str, ...]:
        """The ``attrs`` fields ``params`` names, in the order the kernel takes them after the columns."""
        return tuple(attr for name in self.attributes for attr in _names(getattr(params, name)))

    def parameter_of(self, params: AugmentOp, column: str) -> str:
        """The parameter of ``params`` that names ``column`` (a column or an attribute): the config key of an error."""
        return next(name for name in (*self.columns, *self.attributes) if column in _names(getattr(params, name)))


def _names(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def name_of(model: type[AugmentOp]) -> str:
    """The op name a parameters model selects: its one-value ``op`` literal.

    Raises:
        TypeError: the model has no such ``op`` field.

    Example:
        >>> name_of(CropOp)
        'crop'
    """
    info = model.model_fields.get("op")
    args = get_args(info.annotation) if info is not None and get_origin(info.annotation) is Literal else ()
    if len(args) != 1 or not isinstance(args[0], str):
        raise TypeError(f"{model.__name__} needs a field `op: Literal['<name>']` selecting it")
    return args[0]


# -- the packaged ops: parameters, kernel, spec ------------------------------------------------------------


def _one(kernel: Callable[[np.ndarray, Draws], np.ndarray]) -> ColumnKernel:
    return lambda values, draws: [kernel(values[0], draws)]


class GaussianNoiseOp(AugmentOp):
    """x + sigma z; with ``relative``, sigma is a multiple of the column's training std."""

    op: Literal["gaussian_noise"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    sigma: float = Field(gt=0, description="Standard deviation of the noise (a multiple of the std when relative).")
    relative: bool = Field(True, description="sigma is a multiple of the column's training std, else absolute.")


def _gaussian_noise(params: GaussianNoiseOp, fitted: Fitted) -> ColumnKernel:
    sigma = params.sigma * fitted.std[params.column] if params.relative else params.sigma
    return _one(lambda x, d: numeric.gaussian_noise(x, d, sigma=sigma))


def _std(params: GaussianNoiseOp) -> tuple[Statistic, ...]:
    return (Std(params.column),) if params.relative else ()


def _spread(params: GaussianNoiseOp, values: Mapping[Statistic, float | None]) -> Problem | None:
    if not params.relative:
        return None
    std = values[Std(params.column)]
    if (std or 0) > 0:
        return None
    return Problem(
        "relative",
        f"the training standard deviation of '{params.column}' is {std} (fewer than two values, or all equal): "
        "give an absolute sigma with relative: false",
    )


GAUSSIAN_NOISE = Op(
    GaussianNoiseOp, ROW, _gaussian_noise, columns=("column",), statistics=_std, check=_spread, strength="sigma"
)


class SaltAndPepperOp(AugmentOp):
    """A share of values set to the column's training ``salt_quantile`` or ``pepper_quantile``."""

    op: Literal["salt_and_pepper"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    share: float = Field(gt=0, le=1, description="Share of values replaced.")
    salt_quantile: float = Field(0.99, ge=0, le=1, description="Training quantile a salt value is set to.")
    pepper_quantile: float = Field(0.01, ge=0, le=1, description="Training quantile a pepper value is set to.")


def _salt_and_pepper(params: SaltAndPepperOp, fitted: Fitted) -> ColumnKernel:
    salt = fitted.quantiles[(params.column, params.salt_quantile)]
    pepper = fitted.quantiles[(params.column, params.pepper_quantile)]
    return _one(lambda x, d: numeric.salt_and_pepper(x, d, p=params.share, salt=salt, pepper=pepper))


def _quantiles(params: SaltAndPepperOp) -> tuple[Statistic, ...]:
    return (Quantile(params.column, params.salt_quantile), Quantile(params.column, params.pepper_quantile))


def _has_quantiles(params: SaltAndPepperOp, values: Mapping[Statistic, float | None]) -> Problem | None:
    if values[Quantile(params.column, params.salt_quantile)] is None:
        return Problem("column", f"'{params.column}' has no training values to take quantiles of")
    return None


SALT_AND_PEPPER = Op(
    SaltAndPepperOp,
    ROW,
    _salt_and_pepper,
    columns=("column",),
    statistics=_quantiles,
    check=_has_quantiles,
    strength="share",
)


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


def _random_scaling(params: RandomScalingOp, fitted: Fitted) -> ColumnKernel:
    return _one(lambda x, d: numeric.random_scaling(x, d, low=params.low, high=params.high))


RANDOM_SCALING = Op(RandomScalingOp, ROW, _random_scaling, columns=("column",))


class RotationOp(AugmentOp):
    """Rotate the pair ``columns`` by ``theta`` radians, or by an angle from [low, high)."""

    op: Literal["rotation"] = Field(..., description="Selects this op.")
    columns: tuple[str, str] = Field(..., description="The two numeric columns rotated as a point (x, y).")
    theta: Angle | None = Field(None, description="A fixed angle in radians; null = drawn from [low, high).")
    low: Angle = Field(-0.1, description="Smallest angle drawn, in radians.")
    high: Angle = Field(0.1, description="Angles drawn are below this, in radians.")


def _rotation(params: RotationOp, fitted: Fitted) -> ColumnKernel:
    return lambda v, d: list(numeric.rotation(v[0], v[1], d, theta=params.theta, low=params.low, high=params.high))


ROTATION = Op(RotationOp, ROW, _rotation, columns=("columns",))


class JitterOp(AugmentOp):
    """x + uniform noise within +-r."""

    op: Literal["jitter"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    r: float = Field(gt=0, description="Half-width of the uniform noise U(-r, r), in the column's unit.")


def _jitter(params: JitterOp, fitted: Fitted) -> ColumnKernel:
    return _one(lambda x, d: numeric.jitter(x, d, r=params.r))


JITTER = Op(JitterOp, ROW, _jitter, columns=("column",), strength="r")


class FeatureMaskOp(AugmentOp):
    """A share of values dropped: set to ``fill`` (null when absent)."""

    op: Literal["feature_mask"] = Field(..., description="Selects this op.")
    column: str = Field(..., description="The numeric event column changed.")
    share: float = Field(gt=0, le=1, description="Share of values dropped.")
    fill: float | None = Field(None, description="Value a dropped one takes; null = a null value.")


def _feature_mask(params: FeatureMaskOp, fitted: Fitted) -> ColumnKernel:
    fill = np.nan if params.fill is None else params.fill
    return _one(lambda x, d: numeric.feature_mask(x, d, p=params.share, fill=fill))


FEATURE_MASK = Op(FeatureMaskOp, ROW, _feature_mask, columns=("column",), strength="share")


class CropOp(AugmentOp):
    """Keep a contiguous span of ``eta`` of a user's training sequence."""

    op: Literal["crop"] = Field(..., description="Selects this op.")
    eta: float = Field(0.8, gt=0, le=1, description="Share of the sequence the kept span covers.")


def _crop(params: CropOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.crop(items, d, eta=params.eta)


CROP = Op(CropOp, SEQUENCE, items=_crop, view=True, strength="eta", strength_kept=True)


class MaskOp(AugmentOp):
    """Mask ``gamma`` of a sequence's events: item -> ``token``, or the event removed (no token)."""

    op: Literal["mask"] = Field(..., description="Selects this op.")
    gamma: float = Field(0.2, ge=0, le=1, description="Share of the sequence's events masked.")
    token: str | None = Field(None, description="Item id a masked event takes; null = the event is removed.")


def _mask(params: MaskOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.mask(items, d, gamma=params.gamma, token=params.token)


MASK = Op(
    MaskOp, SEQUENCE, items=_mask, needs=frozenset({Need.ITEM_PRICES}), view=True, token="token", strength="gamma"
)


class ReorderOp(AugmentOp):
    """Shuffle a contiguous span of ``beta`` of a sequence."""

    op: Literal["reorder"] = Field(..., description="Selects this op.")
    beta: float = Field(0.2, gt=0, le=1, description="Share of the sequence the shuffled span covers.")


def _reorder(params: ReorderOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.reorder(items, d, beta=params.beta)


REORDER = Op(ReorderOp, SEQUENCE, items=_reorder, view=True, strength="beta")


class SubstituteOp(AugmentOp):
    """Replace ``ratio`` of a sequence's items by co-occurring (similar) items."""

    op: Literal["substitute"] = Field(..., description="Selects this op.")
    ratio: float = Field(0.2, gt=0, le=1, description="Share of the sequence's items replaced.")


def _substitute(params: SubstituteOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.substitute(items, d, ratio=params.ratio, similar=lookups.similar())


SIMILAR_AND_PRICES = frozenset({Need.SIMILAR_ITEMS, Need.ITEM_PRICES})
SUBSTITUTE = Op(
    SubstituteOp, SEQUENCE, items=_substitute, needs=SIMILAR_AND_PRICES, short=True, view=True, strength="ratio"
)


class InsertOp(AugmentOp):
    """Insert similar items next to ``ratio`` of a sequence's items."""

    op: Literal["insert"] = Field(..., description="Selects this op.")
    ratio: float = Field(0.2, gt=0, le=1, description="Share of the sequence's items followed by a similar item.")


def _insert(params: InsertOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.insert(items, d, ratio=params.ratio, similar=lookups.similar())


INSERT = Op(InsertOp, SEQUENCE, items=_insert, needs=SIMILAR_AND_PRICES, short=True, view=True, strength="ratio")


class SlideWindowOp(AugmentOp):
    """DA4Rec's sliding window: copy c is the window of ``length`` events ending ``c * stride`` events
    before the end of the sequence (copy 0 = the most recent events); a copy without a full window
    writes nothing."""

    op: Literal["slide_window"] = Field(..., description="Selects this op.")
    length: int = Field(20, ge=1, description="Events per window.")
    stride: int = Field(1, ge=1, description="Events between the ends of consecutive copies' windows.")


def _slide_window(params: SlideWindowOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.slide_window(items, d, length=params.length, stride=params.stride)


SLIDE_WINDOW = Op(SlideWindowOp, SEQUENCE, items=_slide_window)


class SubsetSplitOp(AugmentOp):
    """DA4Rec's subset split: each event kept with probability 1 - ``dropout``, in order (at least one)."""

    op: Literal["subset_split"] = Field(..., description="Selects this op.")
    dropout: float = Field(0.25, gt=0, lt=1, description="Probability that an event is dropped.")


def _subset_split(params: SubsetSplitOp, lookups: Lookups) -> ItemKernel:
    return lambda items, d: sequence.subset_split(items, d, dropout=params.dropout)


SUBSET_SPLIT = Op(SubsetSplitOp, SEQUENCE, items=_subset_split, strength="dropout")


class PseudoPriorOp(AugmentOp):
    """ASReP's pseudo-prior items: a SASRec trained on the reversed training sequences draws the ``k``
    items before each history of at most ``max_length`` events (the history read newest first)."""

    op: Literal["pseudo_prior"] = Field(..., description="Selects this op.")
    k: int = Field(3, ge=1, le=50, description="Items drawn before each history.")
    max_length: int = Field(5, ge=1, description="Histories of at most this many events get the items.")
    temperature: float = Field(1.0, gt=0, description="The model's scores are divided by it before the softmax.")
    top_p: float = Field(0.9, gt=0, le=1, description="Draw from the most probable items whose mass reaches top_p.")
    steps: int = Field(
        2_000, ge=1, description="The reversed model's budget of optimizer steps (evaluate.sasrec's other settings)."
    )


def _pseudo_prior(params: PseudoPriorOp, lookups: Lookups) -> ItemKernel:
    from recaug_spark.augment.prior import pseudo_prior  # torch: loaded on the executor, not by the config
    from recaug_spark.recommend.sasrec.draw import Sampling

    sampling = Sampling(temperature=params.temperature, top_p=params.top_p)
    return lambda items, d: pseudo_prior(items, d, k=params.k, sampling=sampling, prior=lookups.prior())


PSEUDO_PRIOR = Op(
    PseudoPriorOp, SEQUENCE, items=_pseudo_prior, needs=frozenset({Need.PRIOR_MODEL, Need.ITEM_PRICES}), short=True,
    max_length="max_length",
)  # fmt: skip


class TimeShiftOp(AugmentOp):
    """Move each session, as a block, within its day or week."""

    op: Literal["time_shift"] = Field(..., description="Selects this op.")
    within: Literal["day", "week"] = Field("day", description="A session moves within its day or its week.")


def _time_shift(params: TimeShiftOp, lookups: Lookups) -> FrameEdit:
    return session_shift(params.within)


TIME_SHIFT = Op(TimeShiftOp, SEQUENCE, _time_shift, short=True)  # moves sessions: any length will do


class CategoricalJitterOp(AugmentOp):
    """Replace a share of an attribute's values (e.g. device, region) by observed ones."""

    op: Literal["categorical_jitter"] = Field(..., description="Selects this op.")
    attr: str = Field(..., description="The attrs field changed (an attribute some training event has).")
    share: float = Field(0.1, gt=0, le=1, description="Share of values replaced by an observed value.")


def _categorical_jitter(params: CategoricalJitterOp, fitted: Fitted) -> ColumnKernel:
    levels = fitted.levels[params.attr]
    indices = np.arange(len(levels.values), dtype=np.float64)

    def kernel(index: np.ndarray, draws: Draws) -> np.ndarray:
        jittered = categorical_jitter(index, draws, p=params.share, choices=indices, weights=levels.counts)
        return np.where(np.isnan(index), np.nan, jittered.astype(np.float64))

    return _one(kernel)


CATEGORICAL_JITTER = Op(CategoricalJitterOp, ROW, _categorical_jitter, attributes=("attr",), strength="share")

# The packaged ops, in the order of the config union and of the reference (docs/configuration.md).
PACKAGED: tuple[Op, ...] = (
    GAUSSIAN_NOISE, SALT_AND_PEPPER, RANDOM_SCALING, ROTATION, JITTER, FEATURE_MASK, CROP, MASK, REORDER,
    SUBSTITUTE, INSERT, SLIDE_WINDOW, SUBSET_SPLIT, PSEUDO_PRIOR, TIME_SHIFT, CATEGORICAL_JITTER,
)  # fmt: skip


# -- the registry ------------------------------------------------------------------------------------------


def _validated(op: Op) -> Op:
    """``op`` when it is a consistent spec; ValueError or TypeError naming what is not."""
    if not (isinstance(op.params, type) and issubclass(op.params, AugmentOp)):
        raise TypeError(f"an op's params must be an AugmentOp subclass, got {op.params!r}")
    name = op.name
    fields = op.params.model_fields
    named = (*op.columns, *op.attributes, *(f for f in (op.token, op.max_length) if f))
    unknown = [f for f in named if f not in fields]
    if unknown:
        raise ValueError(f"op '{name}': {unknown} are not parameters of {op.params.__name__}")
    if op.shape == ROW:
        if op.kernel is None or op.items is not None:
            raise ValueError(f"row op '{name}' needs a kernel (params, fitted) -> ColumnKernel, and no items")
    elif op.shape == SEQUENCE:
        if (op.kernel is None) == (op.items is None):
            raise ValueError(f"sequence op '{name}' needs either a kernel (a frame edit) or items (an item kernel)")
        if op.columns or op.attributes:
            raise ValueError(f"sequence op '{name}' reads no columns or attributes: only row ops do")
    else:
        raise ValueError(f"op '{name}': shape must be '{ROW}' or '{SEQUENCE}', got {op.shape!r}")
    if op.view and op.items is None:
        raise ValueError(f"op '{name}' makes contrastive views, so it needs items (an item kernel)")
    return op


_OPS: dict[str, Op] = {op.name: _validated(op) for op in PACKAGED}
_MODELS: dict[str, type[AugmentOp]] = {name: op.params for name, op in _OPS.items()}
OPS: Mapping[str, Op] = MappingProxyType(_OPS)  # name -> spec, in registration order (read-only, live)
OP_MODELS: Mapping[str, type[AugmentOp]] = MappingProxyType(_MODELS)  # name -> parameters model (live)


def of(params: AugmentOp) -> Op:
    """The spec of a configured op.

    Args:
        params: One item of ``augment.ops`` (or of the contrastive views).

    Returns:
        Its op's spec.

    Raises:
        KeyError: no op of that name is registered.

    Example:
        >>> of(CropOp(op="crop")).shape, of(CropOp(op="crop")).view
        ('sequence', True)
    """
    name: str = params.op  # type: ignore[attr-defined]
    if name not in _OPS:
        raise KeyError(f"no augment op '{name}' is registered; registered: {', '.join(_OPS)}")
    return _OPS[name]


def register(op: Op) -> Op:
    """Add an op to the registry: the config accepts its name (in ``augment.ops``, and in the contrastive
    views when it is a view op) and the stage runs it, from then on.

    Args:
        op: The op's spec.

    Returns:
        ``op``.

    Raises:
        ValueError: an op of that name is registered already, or the spec is inconsistent.

    Example:
        >>> class TwiceOp(AugmentOp):
        ...     op: Literal["twice"] = Field(..., description="Selects this op.")
        ...     column: str = Field(..., description="The numeric event column doubled.")
        >>> twice = register(Op(TwiceOp, ROW, lambda p, f: lambda v, d: [2 * v[0]], columns=("column",)))
        >>> from recaug_spark.config import AugmentConfig
        >>> AugmentConfig.model_validate({"ops": [{"op": "twice", "column": "price"}]}).ops[0].column
        'price'
        >>> unregister("twice")
    """
    _validated(op)
    if op.name in _OPS:
        raise ValueError(f"an augment op named '{op.name}' is registered already")
    _OPS[op.name] = op
    _MODELS[op.name] = op.params
    _follow()
    return op


def unregister(name: str) -> None:
    """Remove op ``name`` from the registry (the config no longer accepts it).

    Example:
        >>> unregister("no_such_op")
        Traceback (most recent call last):
        ...
        KeyError: "no augment op 'no_such_op' is registered"
    """
    if name not in _OPS:
        raise KeyError(f"no augment op '{name}' is registered")
    del _OPS[name], _MODELS[name]
    _follow()


@contextmanager
def registered(*ops: Op) -> Iterator[tuple[Op, ...]]:
    """Register ``ops`` for the ``with`` block, then remove them (a test's toy op stays its own).

    Example:
        >>> class HalfOp(AugmentOp):
        ...     op: Literal["half"] = Field(..., description="Selects this op.")
        ...     column: str = Field(..., description="The numeric event column halved.")
        >>> with registered(Op(HalfOp, ROW, lambda p, f: lambda v, d: [v[0] / 2], columns=("column",))):
        ...     "half" in OPS
        True
        >>> "half" in OPS
        False
    """
    done: list[Op] = []
    try:
        for op in ops:
            done.append(register(op))
        yield tuple(done)
    finally:
        for op in reversed(done):
            unregister(op.name)


def _follow() -> None:
    """Rebuild the config models that hold an op union, so that they accept what is registered now."""
    from recaug_spark.config.augment import follow_registry  # config imports this module

    follow_registry()
