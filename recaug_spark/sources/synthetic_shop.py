"""A synthetic online shop as a pure numpy model: catalogue, users, and their sessions as raw log lines.

The model plants the structure real logs have, so every later stage has something to find:

* Items belong to categories whose sizes and traffic follow a power law; prices are log-normal around
  a per-category level; popularity inside a category is Zipf-like. A share of items launches during
  the period (cold-start items), and a session can only see items already launched.
* Users have a segment (bargain_hunter, mainstream, premium, window_shopper) that sets their funnel
  and session length, a profile (age band, region, device), two preferred categories (80% of their
  sessions; the preference structure a recommender should learn), and a heavy-tailed activity level.
  A share of users signs up near the end (cold-start users); a few are bots (long, fast, view-only
  sessions).
* Sessions start at times drawn from a daily and weekly seasonality profile. Event types follow a
  view -> cart -> purchase funnel (a first-order Markov chain per segment); carts, favourites and
  purchases act on the item just viewed.
* Views follow each other: every item has ``SUCCESSORS`` successor items (in its category unless it is
  the category's only item; never the item itself; drawn by popularity from their own random stream)
  with preference weights ``SUCCESSOR_WEIGHTS``. A view after the first of a session goes, with
  probability ``NEXT_ITEM_SHARE``, to a successor of the session's previous view, and the first view of
  a user's session, with probability ``CONTINUE_SHARE``, to a successor of the last view of the user's
  previous session (by start time); a successor not launched by the session's day falls back to the
  usual draw. This is the order a sequential recommender can learn and a bag of items cannot, and it
  makes a user's next session predictable from the end of their history.
* A configurable share of lines is made dirty (empty user, negative price, unparsable timestamp,
  unknown event type, cut line, non-numeric quantity) and a share is logged twice.

Everything is a function of (seed, chunk): chunk ``k`` produces the same lines on any executor, so
the generated shop is identical for any cluster size. No per-row Python loops; one loop runs over
positions within a session (bounded by the longest session) and one over the steps of a run of views
that follow their previous view (bounded by the longest run); both are vectorised across sessions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

SEGMENTS = ("bargain_hunter", "mainstream", "premium", "window_shopper")
SEGMENT_SHARE = np.array([0.25, 0.45, 0.15, 0.15])
SESSION_LENGTH = np.array([7.0, 6.0, 5.0, 10.0])
CART_AFTER_VIEW = np.array([0.10, 0.10, 0.12, 0.03])
FAV_AFTER_VIEW = np.array([0.04, 0.05, 0.06, 0.08])
BUY_AFTER_VIEW = np.array([0.010, 0.015, 0.030, 0.002])
BUY_AFTER_CART = np.array([0.35, 0.45, 0.60, 0.10])
CART_AFTER_FAV = 0.15
PREFERRED_SESSION_SHARE = 0.8
IN_CATEGORY_VIEW_SHARE = 0.85
SUCCESSORS = 3
SUCCESSOR_WEIGHTS = np.array([0.6, 0.3, 0.1])  # how often a following view picks successor 0, 1, 2
NEXT_ITEM_SHARE = 0.6  # share of views after the first of a session that go to a successor of the previous view
CONTINUE_SHARE = 0.5  # share of a user's later sessions whose first view follows the last view of the one before
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_SHARE = np.array([0.12, 0.26, 0.24, 0.18, 0.12, 0.08])
REGIONS = ("north", "south", "east", "west", "central", "coast", "mountain", "islands")
DEVICES = ("mobile", "desktop", "app")
DEVICE_SHARE = np.array([0.5, 0.3, 0.2])
DEPARTMENTS = ("grocery", "fashion", "electronics", "home", "beauty", "sports", "toys", "books")
# Raw event names as the shop's logger writes them; the demo mapping translates them.
RAW_EVENT_TYPES = ("page_view", "add_to_cart", "favorite", "order")
VIEW, CART, FAV, PURCHASE = 0, 1, 2, 3
HOURLY_PROFILE = np.array(
    [0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.55, 0.75, 0.85, 0.9, 0.95,
     1.0, 0.95, 0.9, 0.9, 0.95, 1.05, 1.2, 1.4, 1.55, 1.5, 1.1, 0.6]
)  # fmt: skip
WEEKDAY_PROFILE = np.array([0.95, 0.95, 0.97, 1.0, 1.05, 1.25, 1.2])  # Monday .. Sunday
DIRTY_KINDS = (
    "empty_user",
    "negative_price",
    "bad_timestamp",
    "unknown_event_type",
    "cut_line",
    "bad_quantity",
)
EVENT_FIELDS = (
    "user_id",
    "item_id",
    "event_type",
    "ts_ms",
    "quantity",
    "price",
    "session_id",
    "device",
    "region",
)
ITEM_FIELDS = ("item_id", "category", "brand", "department", "price", "launch_date")
USER_FIELDS = ("user_id", "segment", "age_band", "region", "device", "signup_date")
ITEMS_PER_CHUNK = 100_000
ITEM_ID_OFFSET = 1_000_000
_STREAMS = {"catalog": 1, "users": 2, "events": 3, "lines": 4, "successors": 5}


@dataclass(frozen=True)
class ShopSpec:
    """Sizes and shares of the synthetic shop (built from the ``source`` config of kind demo)."""

    events: int
    users: int
    items: int
    categories: int
    start_date: date
    days: int
    cold_user_share: float
    cold_item_share: float
    bot_share: float
    dirty_share: float
    duplicate_share: float
    chunk_events: int
    seed: int

    @property
    def n_chunks(self) -> int:
        """Number of event (and user) chunks; chunk k holds a contiguous range of users."""
        return max(1, min(math.ceil(self.events / self.chunk_events), self.users))

    @property
    def n_item_chunks(self) -> int:
        """Number of item chunks for the catalogue table."""
        return math.ceil(self.items / ITEMS_PER_CHUNK)

    def user_range(self, chunk: int) -> tuple[int, int]:
        """User indices [lo, hi) of ``chunk``."""
        return chunk * self.users // self.n_chunks, (chunk + 1) * self.users // self.n_chunks

    def chunk_event_count(self, chunk: int) -> int:
        """Clean events generated by ``chunk`` (before dirty lines replace some and duplicates add some)."""
        n = self.n_chunks
        return self.events * (chunk + 1) // n - self.events * chunk // n

    @property
    def start_epoch_ms(self) -> int:
        """Start of the period, as Unix milliseconds (UTC midnight)."""
        return int(pd.Timestamp(self.start_date, tz="UTC").value // 1_000_000)


def _rng(spec: ShopSpec, stream: str, chunk: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, _STREAMS[stream], chunk])


def _power_shares(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    shares: np.ndarray = weights / weights.sum()
    return shares


@dataclass(frozen=True)
class Catalog:
    """Items, the arrays that sample them by popularity among those launched by a given day, and their successors."""

    category: np.ndarray  # int, per item
    brand: np.ndarray  # int, brand rank within the category, per item
    price_cents: np.ndarray  # int, per item
    launch_day: np.ndarray  # int, day of the period the item appears (0 = before the period)
    category_traffic: np.ndarray  # share of sessions per category
    order: np.ndarray  # item indices sorted by (category, launch_day)
    sorted_key: np.ndarray  # category * (days + 1) + launch_day, along `order`
    cum_weight: np.ndarray  # popularity cumulated along `order`, with a leading 0
    category_start: np.ndarray  # offset of each category in `order` (length categories + 1)
    successors: np.ndarray  # (items, SUCCESSORS) int, the items a view of each item tends to be followed by

    def sample(self, category: np.ndarray, day: np.ndarray, u: np.ndarray, days: int) -> np.ndarray:
        """Items drawn by popularity within ``category`` among the items launched by ``day``.

        Args:
            category: Category per draw.
            day: Day of the period per draw (items with a later launch_day are excluded).
            u: Uniform [0, 1) numbers, one per draw.
            days: Length of the period (the key stride).

        Returns:
            Item indices, one per draw.
        """
        lo = self.category_start[category]
        hi = np.searchsorted(self.sorted_key, category * (days + 1) + day, side="right")
        total = self.cum_weight[hi] - self.cum_weight[lo]
        position = np.searchsorted(self.cum_weight, self.cum_weight[lo] + u * total, side="right") - 1
        items: np.ndarray = self.order[np.clip(position, lo, hi - 1)]
        return items


def _successors(
    spec: ShopSpec, *, category: np.ndarray, order: np.ndarray, cum_weight: np.ndarray, category_start: np.ndarray
) -> np.ndarray:
    """``SUCCESSORS`` items per item, drawn by popularity from the item's category without the item itself.

    An item alone in its category draws from the whole catalogue instead (a one-item catalogue can only
    succeed itself). The draws come from the "successors" stream, so the catalogue's own draws are unchanged.

    Args:
        spec: The shop.
        category: Category per item.
        order: Item indices sorted by (category, launch_day).
        cum_weight: Popularity cumulated along ``order``, with a leading 0.
        category_start: Offset of each category in ``order`` (length categories + 1).

    Returns:
        Item indices, shape (items, SUCCESSORS).
    """
    rng = _rng(spec, "successors", 0)
    n = len(category)
    slot = np.empty(n, dtype=np.int64)
    slot[order] = np.arange(n)  # where each item sits along `order`
    lo, hi = category_start[category], category_start[category + 1]
    alone = hi - lo == 1
    lo, hi = np.where(alone, 0, lo)[:, None], np.where(alone, n, hi)[:, None]
    own = (cum_weight[slot + 1] - cum_weight[slot])[:, None]
    # draw from the range's popularity with the item's own weight cut out, then step over the item
    target = cum_weight[lo] + rng.random((n, SUCCESSORS)) * (cum_weight[hi] - cum_weight[lo] - own)
    target += np.where(target >= cum_weight[slot][:, None], own, 0.0)
    position = np.clip(np.searchsorted(cum_weight, target, side="right") - 1, lo, hi - 1)
    # rounding may still land on the item itself: take the next item of its range instead
    position = np.where(position == slot[:, None], lo + (position - lo + 1) % (hi - lo), position)
    successors: np.ndarray = order[position]
    return successors


@functools.lru_cache(maxsize=4)
def catalog(spec: ShopSpec) -> Catalog:
    """The item catalogue; cached per Python worker (it is a pure function of the spec)."""
    rng = _rng(spec, "catalog", 0)
    n_items, n_cat, days = spec.items, spec.categories, spec.days
    size_share = _power_shares(n_cat, 0.7)
    category = np.concatenate([np.arange(n_cat), rng.choice(n_cat, size=n_items - n_cat, p=size_share)])
    traffic = size_share * rng.lognormal(0.0, 0.3, n_cat)
    category_level = rng.normal(3.0, 0.8, n_cat)  # log of a typical price in the category
    price = np.exp(category_level[category] + rng.normal(0.0, 0.45, n_items))
    price_cents = np.maximum(49, np.round(price * 100)).astype(np.int64)
    brand = np.minimum(rng.zipf(1.6, n_items), 40) - 1
    launch_day = np.where(rng.random(n_items) < spec.cold_item_share, rng.integers(1, days, n_items), 0)
    launch_day[:n_cat] = 0  # every category has an item from day 0
    # Zipf popularity by a random rank within the category
    by_category = np.lexsort((rng.random(n_items), category))
    starts = np.searchsorted(category[by_category], np.arange(n_cat))
    rank = np.empty(n_items, dtype=np.int64)
    rank[by_category] = np.arange(n_items) - np.repeat(starts, np.bincount(category, minlength=n_cat))
    weight = (rank + 1.0) ** -1.05
    order = np.lexsort((launch_day, category))
    sorted_key = category[order] * (days + 1) + launch_day[order]
    cum_weight = np.concatenate([[0.0], np.cumsum(weight[order])])
    category_start = np.searchsorted(category[order], np.arange(n_cat + 1))
    return Catalog(
        category=category,
        brand=brand,
        price_cents=price_cents,
        launch_day=launch_day,
        category_traffic=traffic / traffic.sum(),
        order=order,
        sorted_key=sorted_key,
        cum_weight=cum_weight,
        category_start=category_start,
        successors=_successors(
            spec, category=category, order=order, cum_weight=cum_weight, category_start=category_start
        ),
    )


@dataclass(frozen=True)
class Users:
    """The users of one chunk (global index ``index``)."""

    index: np.ndarray
    segment: np.ndarray
    age: np.ndarray
    region: np.ndarray
    device: np.ndarray
    signup_day: np.ndarray  # negative = before the period; cold-start users sign up near its end
    is_bot: np.ndarray
    activity: np.ndarray
    preferred: np.ndarray  # (n, 2) preferred categories


def users_of_chunk(spec: ShopSpec, chunk: int) -> Users:
    """The users of ``chunk``: profile, activity and preferences, a pure function of (seed, chunk)."""
    rng = _rng(spec, "users", chunk)
    lo, hi = spec.user_range(chunk)
    n = hi - lo
    traffic = catalog(spec).category_traffic
    cold = rng.random(n) < spec.cold_user_share
    bot = ~cold & (rng.random(n) < spec.bot_share)
    first_cold_day = min(spec.days - 1, int(spec.days * 0.85))
    signup = np.where(cold, rng.integers(first_cold_day, spec.days, n), -rng.integers(1, 720, n))
    activity = rng.lognormal(0.0, 1.0, n) * np.where(cold, 0.08, 1.0) * np.where(bot, 60.0, 1.0)
    preferred = rng.choice(spec.categories, size=(n, 2), p=traffic)
    return Users(
        index=np.arange(lo, hi),
        segment=rng.choice(len(SEGMENTS), n, p=SEGMENT_SHARE),
        age=rng.choice(len(AGE_BANDS), n, p=AGE_SHARE),
        region=rng.integers(0, len(REGIONS), n),
        device=rng.choice(len(DEVICES), n, p=DEVICE_SHARE),
        signup_day=signup,
        is_bot=bot,
        activity=activity,
        preferred=preferred,
    )


def _hour_cdf(spec: ShopSpec) -> np.ndarray:
    hours = np.arange(spec.days * 24)
    weekday = (pd.Timestamp(spec.start_date).dayofweek + hours // 24) % 7
    weight = HOURLY_PROFILE[hours % 24] * WEEKDAY_PROFILE[weekday]
    cdf: np.ndarray = np.concatenate([[0.0], np.cumsum(weight)]) / weight.sum()
    return cdf


@dataclass(frozen=True)
class Events:
    """Clean events of one chunk, sorted by (user, ts)."""

    user: np.ndarray
    item: np.ndarray
    event_type: np.ndarray
    ts_ms: np.ndarray
    quantity: np.ndarray  # float, NaN for views and favourites
    price_cents: np.ndarray
    session: np.ndarray  # session index within the chunk
    device: np.ndarray
    region: np.ndarray


def _chain_items(
    cat: Catalog,
    fresh: np.ndarray,
    *,
    previous: np.ndarray,
    follows: np.ndarray,
    pick: np.ndarray,
    day: np.ndarray,
) -> np.ndarray:
    """Items of views where some follow an earlier view: a successor of its item, or the fresh draw.

    A row with ``follows`` takes successor ``pick`` of the item of row ``previous`` if that successor has
    launched by ``day``, and its ``fresh`` item otherwise, like every row without ``follows``. Rows resolve
    in rounds, each taking the rows whose previous row is resolved, so the loop runs once per step of the
    longest run of following rows and is vectorised over all runs. ``previous`` must not form a cycle.

    Args:
        cat: The catalogue (successors and launch days).
        fresh: Item drawn for each row without regard to the previous one.
        previous: Row each row may follow (read only where ``follows``).
        follows: Whether the row follows its previous row.
        pick: Which successor (0 .. SUCCESSORS - 1) a following row takes.
        day: Day of the period per row.

    Returns:
        Item per row.
    """
    item = fresh.copy()
    waiting = follows.copy()
    pending = np.flatnonzero(follows)
    while len(pending):
        ready = pending[~waiting[previous[pending]]]
        successor = cat.successors[item[previous[ready]], pick[ready]]
        item[ready] = np.where(cat.launch_day[successor] <= day[ready], successor, fresh[ready])
        waiting[ready] = False
        pending = pending[waiting[pending]]
    return item


def events_of_chunk(spec: ShopSpec, chunk: int) -> Events:
    """The clean events of ``chunk``: exactly ``spec.chunk_event_count(chunk)`` of them."""
    rng = _rng(spec, "events", chunk)
    users = users_of_chunk(spec, chunk)
    cat = catalog(spec)
    n = spec.chunk_event_count(chunk)
    per_user = rng.multinomial(n, users.activity / users.activity.sum())
    mean_length = np.where(users.is_bot, 40.0, SESSION_LENGTH[users.segment])
    sessions_per_user = np.where(per_user > 0, np.ceil(per_user / mean_length), 0).astype(np.int64)

    # events -> sessions: each event of a user falls into one of the user's sessions
    event_user = np.repeat(np.arange(len(per_user)), per_user)
    first_session = np.cumsum(sessions_per_user) - sessions_per_user
    session_key = first_session[event_user] + (rng.random(n) * sessions_per_user[event_user]).astype(np.int64)
    by_session = np.argsort(session_key, kind="stable")
    event_user, session_key = event_user[by_session], session_key[by_session]
    _, starts, lengths = np.unique(session_key, return_index=True, return_counts=True)
    session = np.repeat(np.arange(len(starts)), lengths)
    position = np.arange(n) - np.repeat(starts, lengths)
    session_user = event_user[starts]
    segment = users.segment[event_user]
    bot = users.is_bot[event_user]

    # session start: seasonal hour within the user's active span
    cdf = _hour_cdf(spec)
    first_hour = np.maximum(0, users.signup_day[session_user] * 24)
    u = cdf[first_hour] + rng.random(len(starts)) * (1.0 - cdf[first_hour])
    hour = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, spec.days * 24 - 1)
    session_start_ms = spec.start_epoch_ms + hour * 3_600_000 + (rng.random(len(starts)) * 3_600_000).astype(np.int64)
    session_day = hour // 24
    preferred = users.preferred[session_user, (rng.random(len(starts)) < 0.4).astype(int)]
    random_category = rng.choice(spec.categories, len(starts), p=cat.category_traffic)
    session_category = np.where(rng.random(len(starts)) < PREFERRED_SESSION_SHARE, preferred, random_category)
    session_device = np.where(
        rng.random(len(starts)) < 0.8, users.device[session_user], rng.choice(len(DEVICES), len(starts))
    )

    # event types: a Markov chain along each session, vectorised over sessions
    event_type = np.full(n, VIEW, dtype=np.int8)
    by_position = np.argsort(position, kind="stable")
    position_starts = np.searchsorted(position[by_position], np.arange(position.max() + 2))
    for p in range(1, position.max() + 1):
        idx = by_position[position_starts[p] : position_starts[p + 1]]
        previous = event_type[idx - 1]
        r = rng.random(len(idx))
        seg = segment[idx]
        p_cart, p_fav, p_buy = CART_AFTER_VIEW[seg], FAV_AFTER_VIEW[seg], BUY_AFTER_VIEW[seg]
        after_view = np.select(
            [r < p_cart, r < p_cart + p_fav, r < p_cart + p_fav + p_buy], [CART, FAV, PURCHASE], VIEW
        )
        after_cart = np.where(r < BUY_AFTER_CART[seg], PURCHASE, VIEW)
        after_fav = np.where(r < CART_AFTER_FAV, CART, VIEW)
        nxt = np.select(
            [previous == VIEW, previous == CART, previous == FAV], [after_view, after_cart, after_fav], VIEW
        )
        event_type[idx] = np.where(bot[idx], VIEW, nxt)

    # fresh items: a view draws one by popularity (chained views replace some of them, below)
    is_view = event_type == VIEW
    in_category = rng.random(n) < IN_CATEGORY_VIEW_SHARE
    draw_category = np.where(
        in_category, session_category[session], rng.choice(spec.categories, n, p=cat.category_traffic)
    )
    drawn = cat.sample(draw_category, session_day[session], rng.random(n), spec.days)
    last_view = np.maximum.accumulate(np.where(is_view, np.arange(n), -1))

    # timestamps: gaps accumulate within the session, so events of a session are strictly ordered
    gap_s = np.where(bot, rng.exponential(1.2, n) + 0.3, rng.exponential(45.0, n) + 2.0)
    gap_s = np.where(is_view, gap_s, rng.exponential(20.0, n) + 3.0)
    gap_s[position == 0] = 0.0
    elapsed = np.cumsum(gap_s)
    elapsed -= np.repeat(elapsed[starts], lengths)
    ts_ms = session_start_ms[session] + np.round(elapsed * 1000).astype(np.int64)

    quantity = np.where(
        (event_type == CART) | (event_type == PURCHASE),
        1.0 + rng.poisson(np.where(segment == 0, 0.6, 0.25)),
        np.nan,
    )
    price_noise = rng.normal(0.0, 0.03, n)

    # items: a view may follow the view before it (in its session, or the end of the user's previous
    # session); cart/fav/purchase act on the last viewed item of the session. These draws come last, so
    # every other field is what it would be without successors.
    by_time = np.lexsort((session_start_ms, session_user))
    same_user = session_user[by_time[1:]] == session_user[by_time[:-1]]
    earlier = np.full(len(starts), -1, dtype=np.int64)  # the user's session before, by start time
    earlier[by_time[1:][same_user]] = by_time[:-1][same_user]
    previous = np.empty(n, dtype=np.int64)  # the view a view may follow, -1 for none
    previous[1:] = last_view[:-1]
    previous[starts] = np.where(earlier >= 0, last_view[starts + lengths - 1][earlier], -1)
    share = np.where(position == 0, CONTINUE_SHARE, NEXT_ITEM_SHARE)
    follows = is_view & (previous >= 0) & (rng.random(n) < share)
    pick = np.minimum(np.searchsorted(np.cumsum(SUCCESSOR_WEIGHTS), rng.random(n), side="right"), SUCCESSORS - 1)
    item = _chain_items(cat, drawn, previous=previous, follows=follows, pick=pick, day=session_day[session])[last_view]
    price_cents = np.maximum(1, np.round(cat.price_cents[item] * np.exp(price_noise))).astype(np.int64)

    out = np.lexsort((ts_ms, users.index[event_user]))
    return Events(
        user=users.index[event_user][out],
        item=item[out],
        event_type=event_type[out],
        ts_ms=ts_ms[out],
        quantity=quantity[out],
        price_cents=price_cents[out],
        session=session[out],
        device=session_device[session][out],
        region=users.region[event_user][out],
    )


def _money(cents: np.ndarray) -> pd.Series:
    series = pd.Series(cents)
    return (series // 100).astype(str) + "." + (series % 100).astype(str).str.zfill(2)


def event_lines(spec: ShopSpec, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The raw log lines of ``chunk`` and, per line, what it is: clean, dirty:<kind> or duplicate.

    The labels are for tests and accounting only; the lines are what a logger would have written.

    Returns:
        (lines, labels), two object arrays of the same length.
    """
    ev = events_of_chunk(spec, chunk)
    rng = _rng(spec, "lines", chunk)
    n = len(ev.user)
    fields = {
        "user_id": pd.Series(ev.user + 1).astype(str),
        "item_id": pd.Series(ev.item + ITEM_ID_OFFSET).astype(str),
        "event_type": pd.Series(np.asarray(RAW_EVENT_TYPES, dtype=object)[ev.event_type]),
        "ts_ms": pd.Series(ev.ts_ms).astype(str),
        "quantity": pd.Series(np.nan_to_num(ev.quantity).astype(np.int64))
        .astype(str)
        .where(~np.isnan(ev.quantity), ""),
        "price": _money(ev.price_cents),
        "session_id": f"{chunk}-" + pd.Series(ev.session).astype(str),
        "device": pd.Series(np.asarray(DEVICES, dtype=object)[ev.device]),
        "region": pd.Series(np.asarray(REGIONS, dtype=object)[ev.region]),
    }
    labels = np.full(n, "clean", dtype=object)
    n_dirty = round(spec.dirty_share * n)
    dirty = rng.choice(n, n_dirty, replace=False)
    kinds = rng.integers(0, len(DIRTY_KINDS), n_dirty)
    labels[dirty] = np.asarray([f"dirty:{k}" for k in DIRTY_KINDS], dtype=object)[kinds]
    corrupt: dict[str, tuple[str, Callable[[pd.Series], pd.Series]]] = {
        "empty_user": ("user_id", lambda s: s.str.slice(0, 0)),
        "negative_price": ("price", lambda s: "-" + s),
        "bad_timestamp": ("ts_ms", lambda s: s.str.slice(0, 6) + "T99:99"),
        "unknown_event_type": ("event_type", lambda s: s + "_v2"),
        "bad_quantity": ("quantity", lambda s: pd.Series("two", index=s.index)),
    }
    for code, kind in enumerate(DIRTY_KINDS):
        rows = dirty[kinds == code]
        if kind in corrupt and len(rows):
            column, change = corrupt[kind]
            fields[column].iloc[rows] = change(fields[column].iloc[rows]).to_numpy()
    line = fields["user_id"]
    for name in EVENT_FIELDS[1:]:
        line = line + "," + fields[name]
    cut = dirty[kinds == DIRTY_KINDS.index("cut_line")]
    line.iloc[cut] = line.iloc[cut].str.rsplit(",", n=3).str[0].to_numpy()

    clean = np.flatnonzero(labels == "clean")
    copies = np.sort(rng.choice(clean, min(len(clean), round(spec.duplicate_share * n)), replace=False))
    order = np.argsort(np.concatenate([np.arange(n) * 2, copies * 2 + 1]), kind="stable")
    lines = np.concatenate([line.to_numpy(dtype=object), line.to_numpy(dtype=object)[copies]])[order]
    all_labels = np.concatenate([labels, np.full(len(copies), "duplicate", dtype=object)])[order]
    return lines, all_labels


def item_lines(spec: ShopSpec, chunk: int) -> np.ndarray:
    """Catalogue lines (``ITEM_FIELDS``) of items [chunk * ITEMS_PER_CHUNK, ...)."""
    cat = catalog(spec)
    idx = np.arange(chunk * ITEMS_PER_CHUNK, min(spec.items, (chunk + 1) * ITEMS_PER_CHUNK))
    category = cat.category[idx]
    launch = pd.Series(pd.Timestamp(spec.start_date) + pd.to_timedelta(cat.launch_day[idx], unit="D"))
    line = (
        pd.Series(idx + ITEM_ID_OFFSET).astype(str)
        + ",c"
        + pd.Series(category).astype(str).str.zfill(3)
        + ",brand-"
        + pd.Series(category).astype(str)
        + "-"
        + pd.Series(cat.brand[idx]).astype(str)
        + ","
        + pd.Series(np.asarray(DEPARTMENTS, dtype=object)[category % len(DEPARTMENTS)])
        + ","
        + _money(cat.price_cents[idx])
        + ","
        + launch.dt.strftime("%Y-%m-%d")
    )
    lines: np.ndarray = line.to_numpy(dtype=object)
    return lines


def user_lines(spec: ShopSpec, chunk: int) -> np.ndarray:
    """Profile lines (``USER_FIELDS``) of the users of ``chunk``."""
    users = users_of_chunk(spec, chunk)
    signup = pd.Series(pd.Timestamp(spec.start_date) + pd.to_timedelta(users.signup_day, unit="D"))
    line = (
        pd.Series(users.index + 1).astype(str)
        + ","
        + pd.Series(np.asarray(SEGMENTS, dtype=object)[users.segment])
        + ","
        + pd.Series(np.asarray(AGE_BANDS, dtype=object)[users.age])
        + ","
        + pd.Series(np.asarray(REGIONS, dtype=object)[users.region])
        + ","
        + pd.Series(np.asarray(DEVICES, dtype=object)[users.device])
        + ","
        + signup.dt.strftime("%Y-%m-%d")
    )
    lines: np.ndarray = line.to_numpy(dtype=object)
    return lines
