"""Every numeric config value is range-checked at load: a walk over the config models' fields feeds
each one values outside its bounds and expects `recaug` to stop with exit code 2 and a message naming
the key, before a session is built.

The walk derives the fields from the models (nested sections, op and source unions, lists of specs,
tuple elements, dict values), so a new field is covered without touching this file; a numeric field
without bounds fails the test unless it is listed in UNBOUNDED with the reason any number is valid.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import annotated_types as at
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from recaug_spark import cli
from recaug_spark.config import CsvSource, FeatureMaskOp, ImputeSpec, NormalizeSpec, RecaugConfig

UNBOUNDED = {
    (ImputeSpec, "constant"): "the value missing entries are filled with: any number",
    (FeatureMaskOp, "fill"): "the value masked entries are set to: any number",
}

# Minimal valid documents of the models that sit in lists or unions (required keys only); numeric
# required keys are filled from their bounds.
EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    CsvSource: {
        "kind": "csv", "name": "walk",
        "events": {"path": "events.csv", "format": {"header": True},
                   "columns": {"user_id": "u", "item_id": "i", "event_type": "t", "ts": "at", "price": "p"}},
    },
    ImputeSpec: {"column": "price", "strategy": "median"},
    NormalizeSpec: {"column": "price", "method": "zscore"},
}  # fmt: skip
REQUIRED_STRINGS = {"column": "price", "columns": ["price", "quantity"], "attr": "device"}

Doc = dict[str, Any]
Builder = Callable[[Doc], Doc]


@dataclass(frozen=True)
class Leaf:
    """One numeric value of the config: the dotted key the error must name, how to place a value."""

    key: str
    model: type[BaseModel]
    field: str
    lower: tuple[float, bool] | None  # (bound, inclusive)
    upper: tuple[float, bool] | None
    is_int: bool
    place: Callable[[Any], Doc]


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """(the bare type, the constraint metadata) of an Annotated / Optional annotation."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        metadata += list(annotation.__metadata__)
        annotation = annotation.__origin__
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            bare, more = _strip(members[0])
            return bare, metadata + more
    return annotation, metadata


def _bounds(metadata: list[Any]) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    flat: list[Any] = []
    for m in metadata:
        flat += m.metadata if isinstance(m, FieldInfo) else [m]
    lower = upper = None
    for m in flat:
        if isinstance(m, at.Ge):
            lower = (float(m.ge), True)
        elif isinstance(m, at.Gt):
            lower = (float(m.gt), False)
        elif isinstance(m, at.Le):
            upper = (float(m.le), True)
        elif isinstance(m, at.Lt):
            upper = (float(m.lt), False)
    return lower, upper


def _members(annotation: Any) -> list[Any]:
    """The union members of a (possibly Annotated, discriminated) union, else [annotation]."""
    bare, _ = _strip(annotation)
    if typing.get_origin(bare) in (Union, types.UnionType):
        return [_strip(a)[0] for a in typing.get_args(bare) if a is not type(None)]
    return [bare]


def _valid_number(lower: tuple[float, bool] | None, upper: tuple[float, bool] | None, is_int: bool) -> float:
    """A value inside the bounds: the lower bound, or just above it when it is exclusive."""
    if lower is None:
        value = 0.0 if upper is None else upper[0] - 1
    elif lower[1]:
        value = lower[0]
    elif is_int:
        value = math.floor(lower[0]) + 1
    else:
        room = (upper[0] - lower[0]) / 2 if upper else 1.0
        value = lower[0] + min(1.0, room)
    return math.ceil(value) if is_int else value


def example(model: type[BaseModel]) -> Doc:
    """A minimal valid document for ``model``."""
    doc = dict(EXAMPLES.get(model, {}))
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in doc or not info.is_required():
            continue
        bare, metadata = _strip(info.annotation)
        if typing.get_origin(bare) is Literal:
            doc[key] = typing.get_args(bare)[0]
        elif bare in (int, float):
            doc[key] = _valid_number(*_bounds(metadata + info.metadata), bare is int)
        else:
            doc[key] = REQUIRED_STRINGS[key]
    return doc


def walk(model: type[BaseModel], prefix: str, build: Builder) -> Iterator[Leaf]:
    """Every numeric leaf under ``model``; ``build`` turns a partial document of ``model`` into a whole
    config document."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        dotted = f"{prefix}{key}"
        bare, metadata = _strip(info.annotation)
        metadata += info.metadata
        origin, args = typing.get_origin(bare), typing.get_args(bare)

        def put(value: Any, key: str = key) -> Doc:
            return build({key: value})

        if bare in (int, float):
            yield Leaf(dotted, model, name, *_bounds(metadata), bare is int, put)
        elif origin is tuple and args:
            element, element_meta = _strip(args[0])
            if element in (int, float):
                length = 1 if args[-1] is Ellipsis else len(args)  # tuple[x, ...] or a fixed pair
                yield Leaf(f"{dotted}[0]", model, name, *_bounds(element_meta), element is int,
                           lambda v, put=put, length=length: put([v] * length))  # fmt: skip
            for sub in _members(args[0]):
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    yield from walk(sub, f"{dotted}[0].",
                                    lambda d, put=put, sub=sub: put([{**example(sub), **d}]))  # fmt: skip
        elif origin is dict:
            value, value_meta = _strip(args[1])
            if value in (int, float):
                first = typing.get_args(_strip(args[0])[0])[0]
                yield Leaf(f"{dotted}.{first}", model, name, *_bounds(value_meta), value is int,
                           lambda v, put=put, first=first: put({first: v}))  # fmt: skip
        else:
            subs = [s for s in _members(info.annotation) if isinstance(s, type) and issubclass(s, BaseModel)]
            numbers = [s for s in _members(info.annotation) if s in (int, float)]
            if numbers and not subs:
                yield Leaf(dotted, model, name, *_bounds(metadata), numbers[0] is int, put)
            for sub in subs:
                keyed = len(subs) > 1 or sub in EXAMPLES  # a union member: its tag and required keys

                def nested(d: Doc, put: Builder = put, sub: type[BaseModel] = sub, keyed: bool = keyed) -> Doc:
                    return put({**example(sub), **d} if keyed else d)

                yield from walk(sub, f"{dotted}.", nested)


LEAVES = [leaf for leaf in walk(RecaugConfig, "", lambda d: d) if (leaf.model, leaf.field) not in UNBOUNDED]


def test_the_walk_reaches_every_section_and_op() -> None:
    keys = {leaf.key for leaf in LEAVES}
    for expected in ("evaluate.ks[0]", "augment.ops[0].sigma", "source.events", "gan.train.betas[0]",
                     "preprocess.feedback.weights.view", "evaluate.sasrec.contrastive.ops[0].eta",
                     "preprocess.normalize[0].window_days", "augment.ops[0].theta", "run.seed"):  # fmt: skip
        assert expected in keys, expected
    assert len(LEAVES) > 120


@pytest.mark.parametrize("leaf", LEAVES, ids=[f"{leaf.model.__name__}.{leaf.key}" for leaf in LEAVES])
def test_every_numeric_value_has_bounds(leaf: Leaf) -> None:
    assert leaf.lower is not None or leaf.upper is not None, (
        f"{leaf.model.__name__}.{leaf.field} takes any number: give it bounds, or list it in UNBOUNDED with why"
    )


def _outside(leaf: Leaf) -> st.SearchStrategy[Any]:
    sides: list[st.SearchStrategy[Any]] = []
    if leaf.lower is not None:
        bound, inclusive = leaf.lower
        if leaf.is_int:
            top = math.ceil(bound) - 1 if inclusive or bound != int(bound) else int(bound)
            sides.append(st.integers(max_value=top, min_value=top - 10**12))
        else:
            sides.append(st.floats(max_value=bound, exclude_max=inclusive, min_value=bound - 1e12))
    if leaf.upper is not None:
        bound, inclusive = leaf.upper
        if leaf.is_int:
            bottom = math.floor(bound) + 1 if inclusive or bound != int(bound) else int(bound)
            sides.append(st.integers(min_value=bottom, max_value=bottom + 10**12))
        else:
            sides.append(st.floats(min_value=bound, exclude_min=inclusive, max_value=bound + 1e12))
    if not leaf.is_int:
        sides.append(st.sampled_from([math.nan, math.inf, -math.inf]))  # never a valid setting
    return st.one_of(sides)


def _accepted(*_: Any, **__: Any) -> Any:
    raise AssertionError("the config was accepted: the load should have failed")


@pytest.mark.parametrize("leaf", LEAVES, ids=[f"{leaf.model.__name__}.{leaf.key}" for leaf in LEAVES])
def test_an_out_of_range_value_fails_the_load_with_exit_code_2_naming_the_key(
    leaf: Leaf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "build_session", _accepted)
    conf = tmp_path / "bad.yaml"

    @settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=_outside(leaf))
    def check(value: Any) -> None:
        conf.write_text(yaml.safe_dump(leaf.place(value)))
        code = cli.main(["augment", "--conf", str(conf), "--lake", str(tmp_path / "lake")])
        err = capsys.readouterr().err
        assert code == cli.EXIT_USER_ERROR, err
        assert f"config key '{leaf.key}'" in err, err

    if leaf.lower is None and leaf.upper is None:
        pytest.skip("no bounds (test_every_numeric_value_has_bounds fails for it)")
    check()
