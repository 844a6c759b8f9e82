"""The synthetic shop kernel: deterministic, exact in size, and with the structure it promises."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.sources import synthetic_shop as shop


def spec(**changes: object) -> shop.ShopSpec:
    base = {
        "events": 30_000,
        "users": 600,
        "items": 900,
        "categories": 12,
        "start_date": date(2026, 9, 1),
        "days": 30,
        "cold_user_share": 0.1,
        "cold_item_share": 0.1,
        "bot_share": 0.01,
        "dirty_share": 0.02,
        "duplicate_share": 0.01,
        "chunk_events": 10_000,
        "seed": 7,
    }
    return shop.ShopSpec(**(base | changes))  # type: ignore[arg-type]


def frame(ev: shop.Events) -> pd.DataFrame:
    return pd.DataFrame(vars(ev))


def test_same_chunk_same_lines_other_seed_other_lines() -> None:
    a, la = shop.event_lines(spec(), 1)
    b, lb = shop.event_lines(spec(), 1)
    c, _ = shop.event_lines(spec(seed=8), 1)
    assert (a == b).all() and (la == lb).all()
    assert not np.array_equal(a, c)


def test_chunks_partition_users_and_events_exactly() -> None:
    s = spec()
    assert s.n_chunks == 3
    ranges = [s.user_range(c) for c in range(s.n_chunks)]
    assert ranges[0][0] == 0 and ranges[-1][1] == s.users
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    counts = [len(shop.events_of_chunk(s, c).user) for c in range(s.n_chunks)]
    assert counts == [s.chunk_event_count(c) for c in range(s.n_chunks)]
    assert sum(counts) == s.events


def test_line_labels_account_for_every_line() -> None:
    s = spec()
    lines, labels = shop.event_lines(s, 0)
    n = s.chunk_event_count(0)
    kinds = Counter(label.split(":")[0] for label in labels)
    assert kinds["clean"] + kinds["dirty"] == n
    assert kinds["dirty"] == round(s.dirty_share * n)
    assert kinds["duplicate"] == round(s.duplicate_share * n)
    assert len(lines) == n + kinds["duplicate"]
    clean = lines[labels == "clean"]
    assert len(set(clean)) == len(clean)  # clean events are distinct lines
    assert set(lines[labels == "duplicate"]) <= set(clean)  # a duplicate repeats a clean line
    assert all(len(line.split(",")) == 9 for line in clean)


def test_dirty_lines_are_broken_the_way_their_label_says() -> None:
    lines, labels = shop.event_lines(spec(dirty_share=0.2), 0)
    dirty = [label for label in set(labels) if label.startswith("dirty")]
    fields = {label: [line.split(",") for line in lines[labels == label]] for label in dirty}
    assert all(f[0] == "" for f in fields["dirty:empty_user"])
    assert all(float(f[5]) < 0 for f in fields["dirty:negative_price"])
    assert all(not f[3].isdigit() for f in fields["dirty:bad_timestamp"])
    assert all(f[2] not in shop.RAW_EVENT_TYPES for f in fields["dirty:unknown_event_type"])
    assert all(len(f) == 6 for f in fields["dirty:cut_line"])
    assert all(f[4] == "two" for f in fields["dirty:bad_quantity"])


def test_funnel_actions_act_on_the_item_just_viewed() -> None:
    df = frame(shop.events_of_chunk(spec(), 0)).sort_values(["session", "ts_ms"], kind="stable")
    previous_item = df.groupby("session")["item"].shift()
    actions = df.event_type != shop.VIEW
    assert (df.item[actions] == previous_item[actions]).all()
    first = df.groupby("session").head(1)
    assert (first.event_type == shop.VIEW).all()  # every session starts with a view


def test_purchases_follow_the_funnel_and_types_are_plausible() -> None:
    df = frame(shop.events_of_chunk(spec(events=60_000, chunk_events=60_000), 0))
    share = df.event_type.value_counts(normalize=True)
    assert share[shop.VIEW] > 0.75
    assert 0.01 < share[shop.PURCHASE] < 0.08
    assert df.quantity[df.event_type.isin([shop.CART, shop.PURCHASE])].ge(1).all()
    assert df.quantity[df.event_type.isin([shop.VIEW, shop.FAV])].isna().all()


def test_timestamps_inside_the_period_and_strictly_increasing_per_session() -> None:
    s = spec()
    df = frame(shop.events_of_chunk(s, 2))
    assert df.ts_ms.min() >= s.start_epoch_ms
    assert df.ts_ms.max() < s.start_epoch_ms + (s.days + 1) * 86_400_000
    ordered = df.sort_values(["session", "ts_ms"])
    assert (ordered.groupby("session").ts_ms.diff().dropna() > 0).all()


def test_items_appear_only_after_launch_and_users_after_signup() -> None:
    s = spec(cold_item_share=0.3, cold_user_share=0.3)
    cat = shop.catalog(s)
    for chunk in range(s.n_chunks):
        df = frame(shop.events_of_chunk(s, chunk))
        day = (df.ts_ms - s.start_epoch_ms) // 86_400_000
        assert (cat.launch_day[df.item] <= day).all()
        users = shop.users_of_chunk(s, chunk)
        signup = pd.Series(users.signup_day, index=users.index)
        assert (signup[df.user].to_numpy() <= day.to_numpy()).all()


def test_cold_users_have_few_events_and_exist() -> None:
    s = spec(events=60_000, chunk_events=60_000, users=1000)
    users = shop.users_of_chunk(s, 0)
    cold = users.index[users.signup_day >= 0]
    per_user = frame(shop.events_of_chunk(s, 0)).user.value_counts()
    warm = per_user.drop(cold, errors="ignore")
    assert 50 < len(cold) < 150
    assert per_user.reindex(cold).fillna(0).median() < warm.median() / 5


def test_planted_category_preference() -> None:
    s = spec(events=60_000, chunk_events=60_000)
    users = shop.users_of_chunk(s, 0)
    df = frame(shop.events_of_chunk(s, 0))
    category = shop.catalog(s).category[df.item]
    preferred = users.preferred[df.user - users.index[0]]
    share = ((category == preferred[:, 0]) | (category == preferred[:, 1])).mean()
    assert share > 0.6  # uniform choice of 2 of 12 categories would give ~0.17


def successor_shares(s: shop.ShopSpec) -> tuple[float, float]:
    """(share of consecutive views of a session whose second item succeeds the first, share of a user's
    later sessions whose first view succeeds the last view of the session before) in chunk 0 of ``s``."""
    successors = shop.catalog(s).successors
    views = frame(shop.events_of_chunk(s, 0)).query(f"event_type == {shop.VIEW}")
    views = views.sort_values(["user", "ts_ms"], kind="stable")  # sessions start at their first event
    previous = views.groupby("session").item.shift()
    within = previous.notna().to_numpy()
    follows = (successors[previous[within].astype(int)] == views.item[within].to_numpy()[:, None]).any(axis=1)
    first = views.groupby("session").head(1)
    last_item = views.groupby("session").item.last()
    earlier = first.groupby("user").session.shift()
    later = earlier.notna().to_numpy()
    ended = last_item[earlier[later].astype(int)].to_numpy()
    continues = (successors[ended] == first.item[later].to_numpy()[:, None]).any(axis=1)
    assert len(follows) > 20_000 and len(continues) > 3_000
    return float(follows.mean()), float(continues.mean())


def test_views_in_a_session_follow_the_successors_of_the_view_before() -> None:
    within, _ = successor_shares(spec(events=60_000, chunk_events=60_000))
    # NEXT_ITEM_SHARE (less successors not yet launched) plus the chance a fresh draw is a successor
    assert 0.5 <= within < 0.75


def test_a_users_next_session_continues_from_the_end_of_the_last() -> None:
    _, across = successor_shares(spec(events=60_000, chunk_events=60_000))
    assert 0.4 <= across < 0.65  # CONTINUE_SHARE = 0.5, plus chance, less unlaunched successors


def test_without_the_shares_successors_come_by_chance_only(monkeypatch: pytest.MonkeyPatch) -> None:
    s = spec(events=60_000, chunk_events=60_000)
    chained = shop.events_of_chunk(s, 0)
    monkeypatch.setattr(shop, "NEXT_ITEM_SHARE", 0.0)
    monkeypatch.setattr(shop, "CONTINUE_SHARE", 0.0)
    within, across = successor_shares(s)
    assert within < 0.25 and across < 0.2
    # the chain's draws come last: every field but the items (and the prices they carry) is unchanged
    plain = shop.events_of_chunk(s, 0)
    for name in ("user", "event_type", "ts_ms", "session", "device", "region"):
        np.testing.assert_array_equal(getattr(chained, name), getattr(plain, name))
    np.testing.assert_array_equal(chained.quantity, plain.quantity)  # NaN where NaN
    changed = chained.item != plain.item
    assert 0.3 < changed.mean() < 0.7
    np.testing.assert_array_equal(chained.price_cents[~changed], plain.price_cents[~changed])


def test_successors_share_the_category_and_never_repeat_the_item() -> None:
    for s in (spec(), spec(items=15, categories=12), spec(items=2_000, categories=3, seed=3)):
        cat = shop.catalog(s)
        items = np.arange(s.items)
        assert cat.successors.shape == (s.items, shop.SUCCESSORS)
        assert ((cat.successors >= 0) & (cat.successors < s.items)).all()
        assert (cat.successors != items[:, None]).all()
        alone = np.bincount(cat.category, minlength=s.categories)[cat.category] == 1
        same = cat.category[cat.successors] == cat.category[:, None]
        assert same[~alone].all()
        assert alone.any() == (s.items < 2 * s.categories)  # the small catalogue has one-item categories


def test_successors_come_from_their_own_stream() -> None:
    a, b = shop.catalog(spec()), shop.catalog(spec(seed=8))
    again = shop.catalog(spec(events=60_000))  # another spec with the same catalogue sizes and seed
    np.testing.assert_array_equal(a.successors, again.successors)
    np.testing.assert_array_equal(a.cum_weight, again.cum_weight)
    assert not np.array_equal(a.successors, b.successors)
    # popular items are chosen more often as successors, by the category's popularity
    weight = np.diff(a.cum_weight)[np.argsort(a.order)]
    chosen = np.bincount(a.successors.ravel(), minlength=len(weight))
    assert np.corrcoef(weight, chosen)[0, 1] > 0.5


def test_chained_shop_is_deterministic_and_exact_in_size() -> None:
    s = spec()
    for chunk in range(s.n_chunks):
        a, b = shop.events_of_chunk(s, chunk), shop.events_of_chunk(s, chunk)
        for name, values in vars(a).items():
            np.testing.assert_array_equal(values, getattr(b, name))
        assert len(a.user) == s.chunk_event_count(chunk)
    shop.catalog.cache_clear()  # a fresh worker rebuilds the same successors and the same lines
    lines, _ = shop.event_lines(s, 1)
    shop.catalog.cache_clear()
    assert (shop.event_lines(s, 1)[0] == lines).all()


def test_catalog_and_profile_lines_are_well_formed() -> None:
    s = spec()
    items = shop.item_lines(s, 0)
    assert len(items) == s.items
    assert len({line.split(",")[0] for line in items}) == s.items
    assert all(float(line.split(",")[4]) > 0 for line in items)
    users = np.concatenate([shop.user_lines(s, c) for c in range(s.n_chunks)])
    assert len({line.split(",")[0] for line in users}) == s.users


@settings(max_examples=15, deadline=None)
@given(
    events=st.integers(1_000, 8_000),
    users=st.integers(10, 300),
    categories=st.integers(2, 20),
    seed=st.integers(0, 2**31),
)
def test_any_small_shop_generates_exactly(events: int, users: int, categories: int, seed: int) -> None:
    s = spec(
        events=events,
        users=users,
        items=max(categories, 50),
        categories=categories,
        seed=seed,
        chunk_events=2_000,
    )
    total = 0
    for chunk in range(s.n_chunks):
        ev = shop.events_of_chunk(s, chunk)
        lo, hi = s.user_range(chunk)
        assert ((ev.user >= lo) & (ev.user < hi)).all()
        assert ((ev.item >= 0) & (ev.item < s.items)).all()
        total += len(ev.user)
    assert total == events
