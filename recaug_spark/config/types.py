"""The building blocks every config section shares: the frozen base model and the validated field types.

``Frozen`` and ``Angle`` are defined in recaug_spark/frozen.py (augment/ops.py defines config models too) and
re-exported here.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from recaug_spark.frozen import Angle, Frozen  # noqa: F401  (re-exported: frozen.py says why they live there)

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def absolutize(path: str) -> str:
    """Make a local relative path absolute (against the working directory); leave URIs alone.

    Executors and spark-submit may run elsewhere, so every path leaves the config absolute.

    Example:
        >>> absolutize("s3a://bucket/lake")
        's3a://bucket/lake'
        >>> absolutize("/data/x.csv")
        '/data/x.csv'
    """
    if _URI_SCHEME.match(path) or path.startswith("file:"):
        return path
    return os.path.abspath(os.path.expanduser(path))


def identifier(value: str) -> str:
    """Return ``value`` if it is an identifier (letters, digits, underscore; not starting with a digit).

    Example:
        >>> identifier("taobao")
        'taobao'
    """
    if not _IDENTIFIER.match(value):
        raise ValueError(f"'{value}' is not an identifier (letters, digits, underscore)")
    return value


def as_utc(moment: datetime | None) -> datetime | None:
    """An aware datetime in UTC: a naive one is taken as UTC, an aware one is converted.

    Example:
        >>> as_utc(datetime(2017, 11, 25, 8)).isoformat()
        '2017-11-25T08:00:00+00:00'
    """
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


PathStr = Annotated[str, AfterValidator(absolutize)]
Identifier = Annotated[str, AfterValidator(identifier)]
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
UnitInterval = Annotated[float, Field(ge=0, lt=1)]


# The names evaluate.models accepts: the packaged models', and those recommend/recommenders.register adds.
MODEL_NAMES: set[str] = {"popularity", "itemknn", "als", "sasrec"}


def registered_model(name: str) -> str:
    """A model's name in evaluate.models: a registered one, checked on load.

    Example:
        >>> registered_model("sasrec")
        'sasrec'
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODEL_NAMES)}")
    return name


ModelName = Annotated[str, AfterValidator(registered_model)]
