"""Loading the configuration: YAML layers merged in order, then ``--set`` overrides, validated into a RecaugConfig.

Order of precedence (later wins): ``conf/base.yaml``, ``conf/local.yaml``, each ``--conf`` file in
the order given, then ``--set dotted.key=value`` and ``--lake``. Mappings merge key by key; lists and
scalars replace. A mapping whose ``kind`` changes (e.g. ``source.kind: demo`` -> ``csv``) is replaced
as a whole, so the fields of one source kind never leak into another.

``conf/local.yaml`` is the embedded default's profile: the demo source and what suits it (a model
budget sized to the demo shop). When a ``--conf`` file brings its own ``source``, local.yaml is not
merged at all, so a dataset the project has never seen starts from base.yaml's defaults, never from the
demo's.

This is the only module that reads YAML or the environment. Every leaf remembers the file it came
from, so a validation error names the dotted key *and* its file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from recaug_spark.config.root import RecaugConfig
from recaug_spark.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without implicit dates: '2017-11-25' stays a string, pydantic types it."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

Provenance = dict[tuple[str, ...], str]


@dataclass(frozen=True)
class Layer:
    """One configuration layer: its data and where it came from (a file path or ``--set``)."""

    data: Mapping[str, Any]
    origin: str


def default_conf_dir() -> Traversable:
    """The packaged conf directory (``conf/`` at the repo root is a link to it); a Traversable, so it
    reads the same from an installed package and from the zip shipped with ``--py-files``."""
    return resources.files("recaug_spark") / "conf"


def parse_value(text: str) -> Any:
    """Type a ``--set`` value the way YAML would: int, float, bool, null, list or string.

    Example:
        >>> parse_value("3"), parse_value("0.5"), parse_value("true"), parse_value("[a, 2]")
        (3, 0.5, True, ['a', 2])
        >>> parse_value("local[2]"), parse_value("2017-11-25")
        ('local[2]', '2017-11-25')
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError:
        return text


def read_layer(path: str | Path | Traversable) -> Layer:
    """Read one YAML file as a layer; a missing file or bad YAML is a ConfigError naming the file."""
    p = path if isinstance(path, Traversable) else Path(path)
    if not p.is_file():
        raise ConfigError("--conf", f"no such config file: {p}", None)
    try:
        data = yaml.load(p.read_text(), Loader=_StrictLoader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("<yaml>", f"cannot parse YAML: {exc}".replace("\n", " "), str(p)) from exc
    if not isinstance(data, dict):
        raise ConfigError("<root>", "a config file must hold a mapping at the top level", str(p))
    return Layer(data, str(p))


def override_layer(assignments: Sequence[str]) -> Layer:
    """Turn ``["a.b=1", "c=x"]`` into one nested layer with typed values."""
    data: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(item, "expected --set dotted.key=value", "--set")
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(key, "conflicts with another --set of its parent", "--set")
        node[parts[-1]] = parse_value(raw)
    return Layer(data, "--set")


def merge_layers(layers: Sequence[Layer]) -> tuple[dict[str, Any], Provenance]:
    """Deep-merge layers in order and remember, for every leaf, the origin that set it.

    Example:
        >>> merged, origin = merge_layers([Layer({"a": {"b": 1, "c": 2}}, "x.yaml"),
        ...                                Layer({"a": {"b": 5}}, "--set")])
        >>> merged, origin[("a", "b")], origin[("a", "c")]
        ({'a': {'b': 5, 'c': 2}}, '--set', 'x.yaml')
    """
    merged: dict[str, Any] = {}
    provenance: Provenance = {}

    def record(value: Any, path: tuple[str, ...], origin: str) -> None:
        provenance[path] = origin
        if isinstance(value, dict):
            for k, v in value.items():
                record(v, (*path, str(k)), origin)

    def forget(path: tuple[str, ...]) -> None:
        for key in [k for k in provenance if k[: len(path)] == path]:
            del provenance[key]

    def merge_into(target: dict[str, Any], update: Mapping[str, Any], path: tuple[str, ...], origin: str) -> None:
        for key, value in update.items():
            sub = (*path, str(key))
            old = target.get(key)
            same_kind = not (isinstance(old, dict) and isinstance(value, dict)) or old.get("kind") in (
                None,
                value.get("kind", old.get("kind")),
            )
            if isinstance(old, dict) and isinstance(value, dict) and same_kind:
                provenance[sub] = origin
                merge_into(old, value, sub, origin)
            else:
                forget(sub)
                target[key] = _deep_copy(value)
                record(value, sub, origin)

    for layer in layers:
        merge_into(merged, layer.data, (), layer.origin)
    return merged, provenance


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def expand_env(data: Any, provenance: Provenance, path: tuple[str, ...] = ()) -> Any:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in every string; an unset VAR without default fails."""
    if isinstance(data, dict):
        return {k: expand_env(v, provenance, (*path, str(k))) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, provenance, path) for v in data]
    if not isinstance(data, str):
        return data

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            ".".join(path),
            f"environment variable {name} is not set (or write ${{{name}:-default}})",
            _origin(provenance, path),
        )

    return _ENV_REF.sub(substitute, data)


def _origin(provenance: Provenance, path: Sequence[str]) -> str | None:
    path = [p.split("[", 1)[0] for p in path]
    for end in range(len(path), 0, -1):
        if tuple(path[:end]) in provenance:
            return provenance[tuple(path[:end])]
    return None


def _dotted_location(loc: Sequence[Any]) -> list[str]:
    """Turn a pydantic error location into config keys: list indices attach, union tags drop out.

    Example:
        >>> _dotted_location(("source", "<csv>", "events", "rules", 0, "when"))
        ['source', 'events', 'rules[0]', 'when']
    """
    parts: list[str] = []
    for element in loc:
        if isinstance(element, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{element}]"
        elif not (element.startswith(("<", "function-")) or "[" in element):
            parts.append(element)
    return parts


def _raise_validation_error(exc: ValidationError, provenance: Provenance) -> None:
    errors = exc.errors()
    first = errors[0]
    parts = _dotted_location(first["loc"])
    key = ".".join(parts) or "<root>"
    problem = "unknown key (check the spelling)" if first["type"] == "extra_forbidden" else first["msg"]
    if first["type"] == "missing":
        problem = "required key is missing"
    if (
        "input" in first
        and first["type"] not in ("missing", "extra_forbidden")
        and not isinstance(first["input"], dict)
    ):
        problem += f", got {first['input']!r}"
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more error(s))"
    raise ConfigError(key, problem, _origin(provenance, parts)) from exc


def load_config(
    conf_files: Sequence[str | Path] = (),
    overrides: Sequence[str] = (),
    *,
    lake_root: str | None = None,
    conf_dir: str | Path | None = None,
    include_local: bool = True,
) -> RecaugConfig:
    """Build the validated config: base.yaml, local.yaml, each --conf file, then --set / --lake.

    Args:
        conf_files: Extra YAML files, merged in order after the defaults.
        overrides: ``dotted.key=value`` strings (values typed like YAML).
        lake_root: ``--lake``; the same as ``--set lake.root=...``.
        conf_dir: Directory holding base.yaml and local.yaml (default: the packaged conf/).
        include_local: Merge local.yaml (the embedded default) after base.yaml, unless a ``conf_files``
            layer sets ``source`` (then the demo's profile does not apply).

    Returns:
        The frozen, validated configuration.

    Raises:
        ConfigError: naming the dotted key and the file it came from.
    """
    directory: Path | Traversable = Path(conf_dir) if conf_dir else default_conf_dir()
    layers = [read_layer(directory / "base.yaml")]
    files = [read_layer(f) for f in conf_files]
    own_source = any("source" in layer.data for layer in files)
    if include_local and not own_source and (directory / "local.yaml").is_file():
        layers.append(read_layer(directory / "local.yaml"))
    layers.extend(files)
    set_items = list(overrides) + ([f"lake.root={lake_root}"] if lake_root else [])
    if set_items:
        layers.append(override_layer(set_items))
    merged, provenance = merge_layers(layers)
    expanded = expand_env(merged, provenance)
    try:
        cfg = RecaugConfig.model_validate(expanded)
    except ValidationError as exc:
        _raise_validation_error(exc, provenance)
        raise  # unreachable: _raise_validation_error always raises
    from recaug_spark.source_columns import fit_to_source  # it imports the config package

    return fit_to_source(cfg, provenance)
