"""The domain constants the config and the stages share: canonical columns, event types, stage names, limits."""

from __future__ import annotations

from typing import Literal, get_args

EventType = Literal["view", "cart", "fav", "purchase"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)  # ("view", "cart", "fav", "purchase")

# The canonical columns a source mapping may fill, per bronze table.
EVENT_COLUMNS = ("user_id", "item_id", "event_type", "ts", "quantity", "price", "session_id")
ITEM_COLUMNS = ("item_id", "category", "brand", "department", "price")
USER_COLUMNS = ("user_id", "segment")

RESERVED_PREFIX = "_rc_"  # bookkeeping columns of the record parser (sources/records.py)

SAFE_RETENTION_HOURS = 168.0  # Delta's default VACUUM retention (7 days): shorter breaks readers and time travel

RefreshStage = Literal["ingest", "preprocess", "split", "augment", "train-gan", "generate", "policy", "evaluate"]
REFRESH_ORDER: tuple[str, ...] = get_args(RefreshStage)  # the stages of a refresh, in pipeline order
