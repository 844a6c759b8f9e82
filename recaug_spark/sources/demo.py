"""The demo source: the synthetic shop of synthetic_shop.py, generated on the executors as raw lines.

``spark.range(n_chunks)`` -> ``mapInPandas``: each task turns chunk ids into log lines, so nothing is
generated on the driver and the output is the same for any number of executors. The lines then go
through exactly the parser every file source uses (records.py), with the mapping below.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from recaug_spark.config import (
    DelimitedFormat,
    DemoSource,
    EventMapping,
    ExprSpec,
    ItemMapping,
    TimestampSpec,
    UserMapping,
)
from recaug_spark.sources import synthetic_shop as shop
from recaug_spark.sources.records import RAW_RECORD, SOURCE_FILE

EVENTS_MAPPING = EventMapping(
    format=DelimitedFormat(header=False, columns=shop.EVENT_FIELDS),
    columns={
        "user_id": "user_id",
        "item_id": "item_id",
        "event_type": "event_type",
        "ts": "ts_ms",
        "quantity": "quantity",
        "price": "price",
        "session_id": "session_id",
    },
    timestamp=TimestampSpec(unit="ms"),
    event_types=dict(zip(shop.RAW_EVENT_TYPES, ("view", "cart", "fav", "purchase"), strict=True)),
    attrs=("device", "region"),
)
ITEMS_MAPPING = ItemMapping(
    format=DelimitedFormat(header=False, columns=shop.ITEM_FIELDS),
    columns={
        "item_id": "item_id",
        "category": "category",
        "brand": "brand",
        "department": "department",
        "price": ExprSpec(expr="try_cast(price AS DOUBLE)"),
    },
    attrs=("launch_date",),
)
USERS_MAPPING = UserMapping(
    format=DelimitedFormat(header=False, columns=shop.USER_FIELDS),
    columns={"user_id": "user_id", "segment": "segment"},
    attrs=("age_band", "region", "device", "signup_date"),
)


def shop_spec(source: DemoSource, seed: int) -> shop.ShopSpec:
    """The generator's spec from the config (users and items default to events / 40)."""
    return shop.ShopSpec(
        events=source.events,
        users=source.users or max(10, source.events // 40),
        items=max(source.categories, source.items or max(10, source.events // 40)),
        categories=source.categories,
        start_date=source.start_date,
        days=source.days,
        cold_user_share=source.cold_user_share,
        cold_item_share=source.cold_item_share,
        bot_share=source.bot_share,
        dirty_share=source.dirty_share,
        duplicate_share=source.duplicate_share,
        chunk_events=source.chunk_events,
        seed=seed,
    )


def spec_fingerprint(spec: shop.ShopSpec) -> str:
    """A short hash of the spec: the identity of the generated data (its batch id)."""
    return hashlib.sha256(json.dumps(asdict(spec), default=str, sort_keys=True).encode()).hexdigest()[:12]


def _generated(spark: SparkSession, n_chunks: int, lines_of: Callable[[int], np.ndarray], origin: str) -> DataFrame:
    def generate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for chunk in batch["id"].tolist():
                lines = lines_of(int(chunk))
                yield pd.DataFrame({RAW_RECORD: lines, SOURCE_FILE: f"{origin}/chunk={chunk}"})

    schema = f"{RAW_RECORD} string, {SOURCE_FILE} string"
    return spark.range(0, n_chunks, 1, numPartitions=n_chunks).mapInPandas(generate, schema)


def event_lines(spark: SparkSession, spec: shop.ShopSpec) -> DataFrame:
    """Raw event lines of the whole shop, generated on the executors."""
    origin = f"demo://{spec_fingerprint(spec)}/events"
    return _generated(spark, spec.n_chunks, lambda c: shop.event_lines(spec, c)[0], origin)


def item_lines(spark: SparkSession, spec: shop.ShopSpec) -> DataFrame:
    """Raw catalogue lines, generated on the executors."""
    origin = f"demo://{spec_fingerprint(spec)}/items"
    return _generated(spark, spec.n_item_chunks, lambda c: shop.item_lines(spec, c), origin)


def user_lines(spark: SparkSession, spec: shop.ShopSpec) -> DataFrame:
    """Raw profile lines, generated on the executors."""
    origin = f"demo://{spec_fingerprint(spec)}/users"
    return _generated(spark, spec.n_chunks, lambda c: shop.user_lines(spec, c), origin)
