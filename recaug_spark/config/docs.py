"""The configuration reference: docs/configuration.md, written from the config models' descriptions and defaults.

Run ``python -m recaug_spark.config.docs`` (``make docs``) after changing a config model; a unit test
fails while the file differs from what :func:`render` gives.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from recaug_spark.config.loader import default_conf_dir, merge_layers, parse_value, read_layer
from recaug_spark.config.root import RecaugConfig
from recaug_spark.config.types import absolutize, as_utc, identifier, registered_model

DOCS_PATH = Path("docs/configuration.md")

INTRO = """\
# Configuration reference

Generated from the config models in `recaug_spark/config/` by `make docs` (`python -m
recaug_spark.config.docs`): edit the models' field descriptions, not this file; a unit test fails
while it is stale.

Layers merge in order, later wins: `conf/base.yaml` -> `conf/local.yaml` (the embedded default) ->
each `--conf FILE` -> `--set dotted.key=value` and `--lake PATH`. Mappings merge key by key; lists
and scalars replace; a `source` whose `kind` changes is replaced whole. `conf/local.yaml` is the embedded
demo's profile: when a `--conf` file sets its own `source`, local.yaml is not merged at all, so another
dataset starts from base.yaml's defaults, never from budgets sized to the demo shop. `--set` values are
typed like YAML (`3`, `0.5`, `true`, `[a, b]`, `local[2]`; dates stay strings until validated). `${VAR}` and
`${VAR:-default}` expand in every string. Relative paths are taken from the working directory and
made absolute; URIs (`s3a://...`) stay as they are. The whole config is validated (pydantic, frozen,
unknown keys are errors) before anything runs; an error names the dotted key and the file it came
from. `conf/` is a link to the packaged `recaug_spark/conf/`, so a wheel carries its defaults.

Each table lists a section's keys: the dotted key, its type and allowed range, the model's default
(and, where the packaged `base.yaml` or `local.yaml` sets another value, that value and its file) and
what it means. `null` is YAML's "unset". A key ending in `[i]` is an item of a list; `<column>` stands
for a canonical column name. A setting that takes one of several forms (the source kinds, the augment ops,
the contrastive views, the csv column specs, the item catalogue) is documented form by form.
"""

_VALIDATOR_TYPES = {absolutize: "path", identifier: "identifier", as_utc: "datetime", registered_model: "model name"}
_PLACEHOLDERS = {"columns": "<column>", "from_events": "<column>"}


@dataclass(frozen=True)
class Row:
    """One line of a table: a dotted key, its type, its default and its description."""

    key: str
    type: str
    default: str
    description: str


@dataclass
class Block:
    """A heading, its text and the table of keys under it."""

    level: int
    title: str
    text: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


@dataclass
class _Forms:
    """A setting with several forms (or a list or mapping of them), documented after the table naming it."""

    key: str
    members: tuple[Any, ...]
    packaged: Any


def render() -> str:
    """The whole of docs/configuration.md, from the models and the packaged conf files.

    Example:
        >>> render().startswith("# Configuration reference")
        True
    """
    packaged, origins = _packaged_layers()
    blocks: list[Block] = []
    documented: dict[tuple[Any, ...], str] = {}
    for name, info in RecaugConfig.model_fields.items():
        section = Block(2, f"`{name}`")
        blocks.append(section)
        members = _members(info.annotation)
        if len(members) == 1 and _is_model(members[0]):
            model = members[0]
            section.text.append(_docstring(model))
            walker = _Walker(documented, origins)
            section.rows = walker.rows(model, f"{name}.", packaged.get(name), (name,))
            blocks.extend(walker.subsections(3))
        else:
            section.text.append(_sentence(info.description))
            walker = _Walker(documented, origins)
            blocks.extend(walker.forms(_Forms(name, tuple(members), packaged.get(name)), 3, (name,)))
    contents = ", ".join(f"[`{name}`](#{name})" for name in RecaugConfig.model_fields)
    parts = [INTRO, f"Sections: {contents}.\n"]
    parts.extend(_block_text(block) for block in blocks)
    return "\n".join(parts)


class _Walker:
    """Turns a model's fields into rows, remembering the settings with several forms for later blocks."""

    def __init__(self, documented: dict[tuple[Any, ...], str], origins: Mapping[tuple[str, ...], str]) -> None:
        self.documented = documented
        self.origins = origins
        self.pending: list[tuple[_Forms, tuple[str, ...]]] = []

    def rows(self, model: type[BaseModel], prefix: str, packaged: Any, path: tuple[str, ...]) -> list[Row]:
        """The rows of ``model``'s fields under ``prefix``; nested models are flattened into dotted keys."""
        out: list[Row] = []
        tag = _tag(model)
        fields = sorted(model.model_fields.items(), key=lambda item: tag is None or item[0] != tag[0])
        for name, info in fields:
            yaml_name = info.alias or name
            key = f"{prefix}{yaml_name}"
            sub = packaged.get(yaml_name) if isinstance(packaged, dict) else None
            sub_path = (*path, yaml_name)
            description = _sentence(info.description)
            members = _members(info.annotation)
            present = [m for m in members if m is not type(None)]
            origin = get_origin(info.annotation)
            if all(_is_model(m) for m in present) and len(present) == 1:
                nullable = len(present) < len(members)
                kind = "mapping or null" if nullable else "mapping"
                out.append(Row(f"`{key}`", kind, self._default(info, sub, sub_path, nested=True), description))
                out.extend(self.rows(present[0], f"{key}.", sub, sub_path))
            elif any(_is_model(m) for m in present):
                forms = self._refer(key, tuple(present), sub, sub_path)
                kind = f"one of the forms of {forms}" + (", or null" if len(present) < len(members) else "")
                out.append(Row(f"`{key}`", kind, self._default(info, sub, sub_path), description))
            elif origin is tuple and _forms_inside(info.annotation):
                item = get_args(info.annotation)[0]
                forms = self._refer(f"{key}[i]", tuple(_members(item)), None, sub_path)
                kind = f"list{_constraints(info.metadata, length=True)}; each item: see {forms}"
                out.append(Row(f"`{key}`", kind, self._default(info, sub, sub_path), description))
            elif origin is dict and _forms_inside(info.annotation):
                keys, value = get_args(info.annotation)
                placeholder = _PLACEHOLDERS.get(name, "<name>")
                forms = self._refer(f"{key}.{placeholder}", tuple(_members(value)), None, sub_path)
                kind = f"mapping of {_type_text(keys, inner=True)}; each value: see {forms}"
                out.append(Row(f"`{key}`", kind, self._default(info, sub, sub_path), description))
            else:
                kind = _leaf_type(info.annotation, info.metadata)
                out.append(Row(f"`{key}`", kind, self._default(info, sub, sub_path), description))
        return out

    def subsections(self, level: int) -> list[Block]:
        """The blocks of the settings with several forms met so far, in order, each followed by its own."""
        blocks: list[Block] = []
        pending, self.pending = self.pending, []
        for forms, path in pending:
            blocks.extend(self.forms(forms, level, path))
        return blocks

    def forms(self, forms: _Forms, level: int, path: tuple[str, ...]) -> list[Block]:
        """One block per form of ``forms.key``: its shape, its docstring and the table of its keys."""
        blocks: list[Block] = []
        for member in forms.members:
            if not _is_model(member):
                blocks.append(Block(level, f"`{forms.key}` as {_type_text(member)}", [_plain_form(member)]))
                continue
            tag = _tag(member)
            packaged = forms.packaged if _matches(forms.packaged, tag) else None
            title = f"`{forms.key}` {_form_title(member)}" if len(forms.members) > 1 else f"`{forms.key}`"
            block = Block(level, title, [_docstring(member)])
            block.rows = self.rows(member, f"{forms.key}.", packaged, path)
            blocks.append(block)
            blocks.extend(self.subsections(level + 1))
        return blocks

    def _refer(self, key: str, members: tuple[Any, ...], packaged: Any, path: tuple[str, ...]) -> str:
        """Name where the forms of ``members`` are documented; queue their blocks the first time."""
        signature = tuple(members)
        if signature not in self.documented:
            self.documented[signature] = key
            self.pending.append((_Forms(key, members, packaged), path))
        return f"`{self.documented[signature]}`"

    def _default(self, info: FieldInfo, packaged: Any, path: tuple[str, ...], *, nested: bool = False) -> str:
        """The model's default, then the packaged conf's value and file where it differs."""
        if info.is_required():
            text = "required"
            default: Any = None
        else:
            default = info.get_default(call_default_factory=True)
            text = "" if nested and default is not None else f"`{_flow(default)}`"
        if packaged is not None and not isinstance(packaged, dict) and _plain(packaged) != _plain(default):
            origin = Path(self.origins.get(path, "conf")).name
            text = f"{text}; {origin}: `{_flow(packaged)}`" if text else f"{origin}: `{_flow(packaged)}`"
        return text


def _packaged_layers() -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    directory = default_conf_dir()
    merged, provenance = merge_layers([read_layer(directory / "base.yaml"), read_layer(directory / "local.yaml")])
    return merged, provenance


def _members(annotation: Any) -> list[Any]:
    """The members of a union (unwrapping Annotated and nested unions); ``[annotation]`` otherwise."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _forms_inside(annotation: Any) -> bool:
    """Whether a list's items or a mapping's values are (or may be) models."""
    args = get_args(annotation)
    return any(_is_model(m) for m in _members(args[0] if get_origin(annotation) is tuple else args[-1]))


def _tag(model: type[BaseModel]) -> tuple[str, str] | None:
    """(field, value) of the required one-value Literal field that selects a form (``kind``, ``op``)."""
    for name, info in model.model_fields.items():
        if info.is_required() and get_origin(info.annotation) is Literal and len(get_args(info.annotation)) == 1:
            return name, get_args(info.annotation)[0]
    return None


def _matches(packaged: Any, tag: tuple[str, str] | None) -> bool:
    return isinstance(packaged, dict) and tag is not None and packaged.get(tag[0]) == tag[1]


def _form_title(model: type[BaseModel]) -> str:
    tag = _tag(model)
    if tag is not None:
        return f"with `{tag[0]}: {tag[1]}`"
    if len(model.model_fields) == 1:
        return f"as `{{{next(iter(model.model_fields))}: ...}}`"
    summary = (inspect.getdoc(model) or model.__name__).split(".")[0]
    return f"as {summary[0].lower()}{summary[1:]}"


def _plain_form(annotation: Any) -> str:
    if annotation is str:
        return "A string: the name of a raw field, whose value is taken as it is."
    return f"A value of type {_type_text(annotation)}."


def _docstring(model: type[BaseModel]) -> str:
    """A model's docstring as Markdown: RST literals become code spans, lines of a paragraph join."""
    text = inspect.cleandoc(model.__doc__ or "")
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(re.sub(r"``(.+?)``", r"`\1`", p) for p in paragraphs if p)


def _sentence(text: str | None) -> str:
    """A description as Markdown: words with ``<placeholders>`` become code spans (else they read as HTML tags).

    Example:
        >>> _sentence("none = <column>_<method>[_by_<keys>]; (rule <name>).")
        'none = `<column>_<method>[_by_<keys>]`; (rule `<name>`).'
    """
    parts = (text or "").replace("|", "\\|").strip().split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = re.sub(r"[^\s(`]*<[^\s<>]+>[^\s`]*?(?=[.,;:)]*(?:\s|$))", lambda m: f"`{m.group(0)}`", parts[i])
    return "`".join(parts)


def _leaf_type(annotation: Any, metadata: list[Any]) -> str:
    """A field's type with its bounds: ``int >= 1``, ``path``, ``float in [0, 1) or null``."""
    members = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    present = [m for m in members if m is not type(None)]
    nullable = " or null" if len(present) < len(members) else ""
    base = present[0] if len(present) == 1 else Union[tuple(present)]  # noqa: UP007
    named = [_VALIDATOR_TYPES[m.func] for m in metadata if isinstance(m, AfterValidator)]
    text = named[0] if named else _type_text(base)
    return text + _constraints(metadata, length=get_origin(base) in (tuple, dict)) + nullable


def _type_text(annotation: Any, *, inner: bool = False) -> str:
    """A short readable type: ``int``, ``list of string``, ``float or null``, ``one of `a`, `b```."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        named = [_VALIDATOR_TYPES[m.func] for m in metadata if isinstance(m, AfterValidator)]
        limits = [c for m in metadata if isinstance(m, FieldInfo) for c in m.metadata]
        return (named[0] if named else _type_text(base, inner=inner)) + _constraints(limits)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        present = [_type_text(a, inner=inner) for a in args if a is not type(None)]
        return " or ".join(present) + (" or null" if type(None) in args else "")
    if origin is Literal:
        values = [f"`{v}`" for v in args]
        if len(values) == 1:
            return values[0]
        return " / ".join(values) if inner else f"one of {', '.join(values)}"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_text(args[0], inner=True)}"
        if len(set(args)) == 1 and len(args) == 2:
            return f"pair of {_type_text(args[0], inner=True)}"
        return f"[{', '.join(_type_text(a, inner=True) for a in args)}]"
    if origin is dict:
        return f"mapping of {_type_text(args[0], inner=True)} to {_type_text(args[1], inner=True)}"
    names = {str: "string", int: "int", float: "float", bool: "bool", date: "date", datetime: "datetime"}
    if annotation in names:
        return names[annotation]
    if _is_model(annotation):
        return "mapping"
    return str(annotation)


def _constraints(metadata: list[Any], *, length: bool = False) -> str:
    """Bounds as text: ``>= 1``, ``in [0, 1)``, and for lists ``, at least 1``."""
    lower = upper = None
    extra = []
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            lower = f"[{_number(item.ge)}"
        elif isinstance(item, annotated_types.Gt):
            lower = f"({_number(item.gt)}"
        elif isinstance(item, annotated_types.Le):
            upper = f"{_number(item.le)}]"
        elif isinstance(item, annotated_types.Lt):
            upper = f"{_number(item.lt)})"
        elif isinstance(item, annotated_types.MinLen):
            extra.append(f"at least {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            extra.append(f"at most {item.max_length}")
    text = ""
    if lower and upper:
        text = f" in {lower}, {upper}"
    elif lower:
        text = f" {'>=' if lower[0] == '[' else '>'} {lower[1:]}"
    elif upper:
        text = f" {'<=' if upper[-1] == ']' else '<'} {upper[:-1]}"
    unit = " item(s)" if length else " character(s)"
    if len(extra) == 2 and extra[0].split()[-1] == extra[1].split()[-1]:
        extra = [f"exactly {extra[0].split()[-1]}"]
    return text + "".join(f", {e}{unit}" for e in extra)


def _number(value: object) -> str:
    if isinstance(value, float) and abs(value) == math.pi:
        return "-pi" if value < 0 else "pi"
    return str(value)


def _plain(value: Any) -> Any:
    """A default as the JSON-like value YAML would give (tuples -> lists, dates -> strings, models -> dicts)."""
    if isinstance(value, BaseModel):
        tag = _tag(type(value))
        dumped = value.model_dump(mode="json", by_alias=True, exclude_unset=True)
        first = [tag[0]] if tag else []
        return {k: dumped[k] for k in [*first, *[k for k in dumped if k not in first]]}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _flow(value: Any) -> str:
    """A value in YAML flow style: ``[a, b]``, ``{op: crop, eta: 0.8}``, ``null``, ``"a: b"``."""
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"[{', '.join(_flow(v) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        special = value == "" or value != value.strip() or any(c in value for c in ":{}[],#&*!|>'\"%@`")
        return json.dumps(value) if special or parse_value(value) != value else value
    return str(value)


def _block_text(block: Block) -> str:
    lines = [f"{'#' * min(block.level, 6)} {block.title}", ""]
    for paragraph in block.text:
        if paragraph:
            lines.extend([paragraph, ""])
    if block.rows:
        lines.extend(["| key | type | default | description |", "|---|---|---|---|"])
        lines.extend(f"| {r.key} | {r.type} | {r.default} | {r.description} |" for r in block.rows)
        lines.append("")
    return "\n".join(lines)


def config_models() -> Iterator[type[BaseModel]]:
    """Every model the configuration is made of, each once: the sections, their nested models and every form.

    Example:
        >>> from recaug_spark.config import CropOp
        >>> CropOp in set(config_models())
        True
    """
    seen: set[type[BaseModel]] = set()
    todo: list[Any] = [RecaugConfig]
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen.add(model)
        yield model
        for info in model.model_fields.values():
            todo.extend(m for m in _nested(info.annotation) if _is_model(m) and m not in seen)


def _nested(annotation: Any) -> Iterator[Any]:
    for member in _members(annotation):
        yield member
        for arg in get_args(member):
            yield from _nested(arg)


def main(argv: list[str] | None = None) -> int:
    """Write docs/configuration.md (or, with ``--check``, exit 1 when it is stale)."""
    parser = argparse.ArgumentParser(prog="python -m recaug_spark.config.docs", description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS_PATH, help="where to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != text:
            sys.stderr.write(f"{args.out} is stale: run make docs\n")
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
