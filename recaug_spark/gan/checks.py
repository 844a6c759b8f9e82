"""Argument checks shared by the GAN's fitted parameters: each raises a ValueError naming what it got.

A value read from an artifact is checked by the same functions as one passed by a caller, so a
malformed ``metadata.json`` fails with the message a bad argument would. Pure Python.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def is_int(value: object) -> bool:
    """True for an integral number that is not a bool (``True`` is an int to Python, not to a config).

    Example:
        >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
        (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def check_name(name: object, what: str) -> None:
    """ValueError unless ``name`` is a non-empty string."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} name must be a non-empty string, got {name!r}")


def finite_floats(values: object, what: str) -> tuple[float, ...]:
    """``values`` (any iterable of real numbers but a string or a dict) as a tuple of finite floats.

    Example:
        >>> finite_floats([1, 2.5], "means")
        (1.0, 2.5)
        >>> finite_floats("1,2", "means")
        Traceback (most recent call last):
        ...
        ValueError: means must be a list of numbers, got '1,2'
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a list of numbers, got {values!r}")
    items = list(values)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) for v in items):
        raise ValueError(f"{what} must be numbers, got {items!r}")
    floats = tuple(float(v) for v in items)
    if not all(math.isfinite(v) for v in floats):
        raise ValueError(f"{what} must be finite, got {list(floats)}")
    return floats


def name_list(names: Sequence[str], what: str) -> tuple[str, ...]:
    """``names`` as a tuple of distinct strings (a bare string is an error, not a list of characters)."""
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValueError(f"{what} must be a list of column names, got {names!r}")
    result = tuple(names)
    if not all(isinstance(n, str) for n in result):
        raise ValueError(f"{what} column names must be strings, got {list(result)!r}")
    duplicated = sorted({n for n in result if result.count(n) > 1})
    if duplicated:
        raise ValueError(f"{what} names {duplicated} more than once")
    return result
