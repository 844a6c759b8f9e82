"""JSON for frozen dataclasses: the one path by which the GAN's parameters go into an artifact and back.

:func:`to_json` writes a dataclass's init fields (tuples as lists, nested dataclasses as dicts);
:func:`from_json` takes exactly those keys back (a missing or unknown key is a ValueError naming it),
rebuilds nested dataclasses from the fields' type hints and turns lists back into tuples. Every value
check is the dataclass's own (``__post_init__``), so a value read from ``metadata.json`` is checked
the same way as one passed by a caller. Pure Python.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """``value`` as JSON types: a dataclass as a dict of its init fields, a tuple or list as a list.

    Example:
        >>> from recaug_spark.gan.model import Architecture
        >>> to_json(Architecture(data_dim=7, cond_dim=3, embedding_dim=4, generator_dims=(8,)))
        {'data_dim': 7, 'cond_dim': 3, 'embedding_dim': 4, 'generator_dims': [8]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


def from_json(cls: type[T], data: object, *, what: str) -> T:
    """A ``cls`` rebuilt from :func:`to_json`'s output (``what`` names it in errors).

    Raises:
        ValueError: ``data`` is not a dict, a key is missing or unknown, a field of dataclasses is not
            a list, or ``cls`` rejects a value.

    Example:
        >>> from recaug_spark.gan.model import Architecture
        >>> from_json(Architecture, {"data_dim": 7, "cond_dim": 3, "embedding_dim": 4, "generator_dims": [8]},
        ...     what="architecture")
        Architecture(data_dim=7, cond_dim=3, embedding_dim=4, generator_dims=(8,))
        >>> from_json(Architecture, {"data_dim": 7, "rows": []}, what="architecture")
        Traceback (most recent call last):
        ...
        ValueError: architecture: missing keys ['cond_dim', 'embedding_dim', 'generator_dims']
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must be a dict, got {type(data).__name__}")
    init = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    missing = sorted(set(init) - set(data))
    if missing:
        raise ValueError(f"{what}: missing keys {missing}")
    unknown = sorted(str(key) for key in set(data) - set(init))
    if unknown:
        raise ValueError(f"{what}: unknown keys {unknown}")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _field(hints[name], data[name], what=what, name=name) for name in init})


def _field(hint: Any, value: object, *, what: str, name: str) -> object:
    """One field's value for the constructor: nested dataclasses rebuilt, lists as tuples where the field
    is a tuple; anything else as it is (the constructor checks it)."""
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value, what=f"{what}: {name}")  # type: ignore[arg-type]
    if typing.get_origin(hint) is not tuple:
        return value
    item = _homogeneous_item(hint)
    if item is None or not dataclasses.is_dataclass(item):
        return tuple(value) if isinstance(value, list) else value
    if not isinstance(value, list | tuple):
        raise ValueError(f"{what}: '{name}' must be a list, got {type(value).__name__}")
    return tuple(from_json(item, entry, what=f"{what}: {name}[{i}]") for i, entry in enumerate(value))  # type: ignore[arg-type]


def _homogeneous_item(hint: Any) -> Any:
    """``X`` for ``tuple[X, ...]``, None for a fixed-length tuple."""
    args = typing.get_args(hint)
    return args[0] if len(args) == 2 and args[1] is Ellipsis else None
