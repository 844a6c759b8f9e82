"""The policy's candidates, one factor at a time around a base.

Sources: each op of the recipe (``augment.ops``) alone and the recipe (all of them). The base of a
source: strength x1, the first of ``policy``'s ``weights``, ``targets`` and ``modes``. Each
source's base, then each single op at every other strength (its registry ``strength`` parameter
scaled, within the parameter's bounds; a kept share such as crop's ``eta`` scales its complement),
each base at every other weight, target and mode. A candidate's augmented rows are the rows of its op
specs; the recipe at x1 reuses the single ops' rows, so one augment run over :func:`specs` makes every
candidate's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import annotated_types
from pydantic import ValidationError

from recaug_spark.augment import ops
from recaug_spark.config import AugmentOp
from recaug_spark.config.policy import PolicyConfig

RECIPE = "recipe"


@dataclass(frozen=True)
class Candidate:
    """One augmentation the policy tries: the op specs whose rows it adds (indices into :func:`specs`'s
    list), their weight, whose rows (``all``, ``short``, ``cold``) and how SASRec takes them."""

    source: str
    strength: float
    specs: tuple[int, ...]
    weight: float
    target: str
    mode: str

    @property
    def name(self) -> str:
        """``crop x0.5, w0.5, short, mixed``: the source, its strength multiplier, weight, target, mode."""
        strength = "" if self.strength == 1 else f" x{self.strength:g}"
        return f"{self.source}{strength}, w{self.weight:g}, {self.target}, {self.mode}"


def scaled(spec: AugmentOp, factor: float) -> AugmentOp | None:
    """``spec`` with its strength parameter scaled by ``factor``, clipped to an inclusive upper bound;
    None when the op has no strength parameter or the scaled value is invalid or unchanged.

    Example:
        >>> from recaug_spark.config import CropOp, SubstituteOp
        >>> scaled(CropOp(op="crop", eta=0.8), 2.0).eta  # 40% cut instead of 20%
        0.6
        >>> scaled(SubstituteOp(op="substitute", ratio=0.6), 2.0).ratio  # clipped to the bound, 1
        1.0
    """
    op = ops.of(spec)
    if op.strength is None or factor == 1:
        return None
    value = float(getattr(spec, op.strength))
    new = 1 - (1 - value) * factor if op.strength_kept else value * factor
    for bound in type(spec).model_fields[op.strength].metadata:
        if isinstance(bound, annotated_types.Le):
            new = min(new, float(bound.le))  # type: ignore[arg-type]
    new = round(new, 6)
    if new == value:
        return None
    try:
        return type(spec).model_validate({**spec.model_dump(), op.strength: new})
    except ValidationError:
        return None


def specs(recipe: Sequence[AugmentOp], search: PolicyConfig) -> list[AugmentOp]:
    """Every op spec a candidate needs: each op of the recipe at x1 (in order), then each scaled one."""
    out = list(recipe)
    for spec in recipe:
        out += [s for factor in search.strengths if (s := scaled(spec, factor)) is not None]
    return out


def grid(recipe: Sequence[AugmentOp], search: PolicyConfig) -> list[Candidate]:
    """The candidates, bases first (the recipe, then each op), then their strength, weight, target and
    mode variations; ``specs(recipe, search)`` numbers their op specs."""
    all_specs = specs(recipe, search)
    base_weight, base_target, base_mode = search.weights[0], search.targets[0], search.modes[0]
    names = [ops.of(s).name for s in recipe]
    sources = [(RECIPE, tuple(range(len(recipe))))] if len(recipe) > 1 else []
    sources += [(_label(names, i), (i,)) for i in range(len(recipe))]
    bases = [Candidate(s, 1.0, ix, base_weight, base_target, base_mode) for s, ix in sources]
    singles = bases[-len(recipe) :]  # each op alone, in recipe order
    out = list(bases)
    for single, spec in zip(singles, recipe, strict=True):
        for factor in search.strengths:
            if (s := scaled(spec, factor)) is not None:
                out.append(replace(single, strength=factor, specs=(all_specs.index(s),)))
    for base in bases:
        out += [replace(base, weight=w) for w in search.weights[1:]]
        out += [replace(base, target=t) for t in search.targets[1:]]
        out += [replace(base, mode=m) for m in search.modes[1:]]
    return out


def _label(names: Sequence[str], i: int) -> str:
    """An op's source name: its op name, ``<index>:<op>`` when the recipe holds that op twice."""
    return names[i] if names.count(names[i]) == 1 else f"{i}:{names[i]}"
