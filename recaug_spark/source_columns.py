"""The columns a source can fill, the defaults that follow them, and the check that what a config names
can be served, all at load time, before any stage reads a row.

A csv mapping says which canonical columns it fills: a purchase log without prices maps no ``price``.
The package defaults of ``augment.ops``, ``preprocess.impute`` and ``preprocess.normalize`` are written
for a shop with prices; when the user's config does not set one of them, :func:`fit_to_source` keeps
the default items whose columns the source fills (and logs what it left out), so a price-less dataset
gets the sequence and context ops only. When the user's config sets one and an item needs a column
the source does not fill, the load fails naming the item, the column and the fix (exit code 2), not
a stage fourteen minutes later.

The GAN's columns (``gan.continuous``, ``gan.categorical``) are checked here when set; when unset
(None) train-gan chooses them from :data:`GAN_DEFAULTS`, because leaving out constant columns needs
the data (gan/table.py ``choose_columns``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recaug_spark.augment import ops
from recaug_spark.config import CsvSource, DemoSource, ImputeSpec, ItemsFromEvents, NormalizeSpec, RecaugConfig
from recaug_spark.errors import ConfigError

log = logging.getLogger(__name__)

DERIVED_COLUMNS = ("event_id", "event_date", "hour", "dow")  # preprocess derives them from every event
ATTRS, PROFILE = "attrs.", "profile."
GAN_DEFAULTS = {
    "continuous": ("price", "quantity", "hour"),
    "categorical": ("event_type", "category", "dow", "segment"),
}


def provided(source: CsvSource | DemoSource) -> frozenset[str] | None:
    """The columns ``source`` fills: canonical event columns, joined item and user columns, the derived
    time columns, ``attrs.<field>`` and ``profile.<field>``; None for the demo shop (it fills all).

    Items' own ``price`` is not joined into the events (an event's price is what it was sold at), so
    only ``source.events.columns.price`` provides ``price``.

    Example:
        >>> from recaug_spark.config import CsvSource
        >>> src = CsvSource.model_validate({"kind": "csv", "name": "log", "events": {"path": "x.csv",
        ...     "format": {"header": True}, "columns": {"user_id": "u", "item_id": "i", "event_type": "t",
        ...     "ts": "at"}, "attrs": ["store"]}})
        >>> sorted(provided(src))
        ['attrs.store', 'dow', 'event_date', 'event_id', 'event_type', 'hour', 'item_id', 'ts', 'user_id']
    """
    if isinstance(source, DemoSource):
        return None
    columns = {*source.events.columns, *DERIVED_COLUMNS, *(ATTRS + a for a in source.events.attrs)}
    if isinstance(source.items, ItemsFromEvents):
        columns |= set(source.items.from_events)
    elif source.items is not None:
        columns |= set(source.items.columns) - {"price"}
    if source.users is not None:
        columns |= {*source.users.columns, *(PROFILE + a for a in source.users.attrs)}
    return frozenset(columns)


def op_columns(spec: Any) -> tuple[str, ...]:
    """The columns an augment op reads, from its spec (augment/ops.py): the numeric columns it names
    (``column``, ``columns``) and ``attrs.<attr>`` for each attribute (categorical jitter's ``attr``); none
    for the sequence ops (they need items and times, which every source has).

    Example:
        >>> from recaug_spark.config import CategoricalJitterOp, CropOp
        >>> op_columns(CategoricalJitterOp(op="categorical_jitter", attr="device")), op_columns(CropOp(op="crop"))
        (('attrs.device',), ())
    """
    op = ops.of(spec)
    return (*op.columns_of(spec), *(ATTRS + attr for attr in op.attributes_of(spec)))


def _impute_columns(spec: ImputeSpec) -> tuple[str, ...]:
    return (spec.column, *(c for level in spec.levels for c in level))


def _normalize_columns(spec: NormalizeSpec) -> tuple[str, ...]:
    return (spec.column, *spec.partition_by)


def _label(item: Any) -> str:
    return getattr(item, "op", None) or str(getattr(item, "column", item))


@dataclass(frozen=True)
class SourceDependent:
    """A config list whose items each need some columns of the source."""

    section: str
    key: str
    needs: Callable[[Any], tuple[str, ...]]

    @property
    def path(self) -> tuple[str, str]:
        return (self.section, self.key)

    def items(self, cfg: RecaugConfig) -> tuple[Any, ...]:
        return tuple(getattr(getattr(cfg, self.section), self.key) or ())


LISTS = (
    SourceDependent("augment", "ops", op_columns),
    SourceDependent("preprocess", "impute", _impute_columns),
    SourceDependent("preprocess", "normalize", _normalize_columns),
    SourceDependent("gan", "continuous", lambda name: (name,)),
    SourceDependent("gan", "categorical", lambda name: (name,)),
)


def _missing(needs: Sequence[str], columns: frozenset[str]) -> list[str]:
    return [c for c in needs if c not in columns]


def fit_to_source(cfg: RecaugConfig, provenance: Mapping[tuple[str, ...], str]) -> RecaugConfig:
    """``cfg`` with the unset source-dependent defaults cut to what the source fills; ConfigError when a
    set item needs a column the source does not fill.

    Args:
        cfg: The validated config.
        provenance: Which config keys some layer set (config.merge_layers): a key absent from it holds
            the package default.
    """
    columns = provided(cfg.source)
    if columns is None:
        return cfg
    fitted = cfg
    for spec in LISTS:
        origin = provenance.get(spec.path)
        for index, item in enumerate(spec.items(cfg)):
            missing = _missing(spec.needs(item), columns)
            if missing and origin is not None:
                raise ConfigError(
                    f"{spec.section}.{spec.key}[{index}]",
                    f"'{_label(item)}' needs unknown column(s) {missing}: source '{cfg.source.name}' does not "
                    f"fill them (it has {sorted(columns)}); map {' and '.join(missing)} in source.events.columns "
                    f"(or items/users), or leave '{_label(item)}' out of {spec.section}.{spec.key}",
                    origin,
                )
        if origin is None and spec.section != "gan":
            kept = [item for item in spec.items(cfg) if not _missing(spec.needs(item), columns)]
            if len(kept) < len(spec.items(cfg)):
                left_out = [_label(i) for i in spec.items(cfg) if _missing(spec.needs(i), columns)]
                log.info(
                    "config: %s.%s not set; source '%s' lacks columns of %s, so the default is %s",
                    spec.section, spec.key, cfg.source.name, left_out, [_label(i) for i in kept] or "empty",
                )  # fmt: skip
                # Dropping validated items from a list breaks no validator: copies, not a revalidation.
                section = getattr(fitted, spec.section).model_copy(update={spec.key: tuple(kept)})
                fitted = fitted.model_copy(update={spec.section: section})
    return fitted
