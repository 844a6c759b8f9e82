"""The pure frame edits behind the grouped UDF, and the op registry (no Spark)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.augment import frames, recipes, sequence
from recaug_spark.config import OP_MODELS, AugmentConfig
from recaug_spark.rng import Draws

T0 = int(pd.Timestamp("2024-03-01 10:00:00").value // 1000)  # µs since the epoch


MINUTE = 60_000_000  # µs


def history(n: int, *, sessions: int = 1) -> frames.Rows:
    """n events a minute apart, items i0..i<n-1>, split evenly into ``sessions`` sessions."""
    session = np.arange(n) * sessions // max(n, 1)
    strings = lambda values: np.array(values, dtype=object)  # noqa: E731
    return {
        "user_id": strings(["u1"] * n),
        "event_id": strings([f"e{i:03d}" for i in range(n)]),
        "item_id": strings([f"i{i}" for i in range(n)]),
        "event_type": strings(["view"] * n),
        "ts": T0 + np.arange(n, dtype=np.int64) * MINUTE,
        "session_id": strings([f"s{k}" for k in session]),
        frames.KEY: np.full(n, 7, dtype=np.int64),
        frames.SESSION_KEY: session.astype(np.int64) * 1_000_003,
    }


def draws(seed: int = 3) -> Draws:
    return Draws.of(seed=seed, op="op", copy=0, keys=np.array([7], dtype=np.uint64))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000), beta=st.floats(0.05, 1.0))
def test_a_reordered_sequence_reads_back_in_its_new_order(n: int, seed: int, beta: float) -> None:
    rows = history(n)
    kernel = lambda items, d: sequence.reorder(items, d, beta=beta)  # noqa: E731
    out = pd.DataFrame(frames.item_edit(kernel)(rows, draws(seed)))
    expected = kernel(rows["item_id"], draws(seed)).items
    by_time = out.sort_values("ts", kind="stable")
    assert by_time["item_id"].tolist() == list(expected)  # the time order is the new order
    assert sorted(out["ts"]) == sorted(rows["ts"])  # the same time slots
    item_of = dict(zip(rows["event_id"], rows["item_id"], strict=True))
    assert (by_time["source_event_id"].map(item_of) == by_time.item_id).all()


def test_an_inserted_event_follows_its_neighbour_by_one_microsecond() -> None:
    rows = history(6)
    table = sequence.SimilarItems({f"i{k}": ["x"] for k in range(6)})
    edit = frames.item_edit(lambda items, d: sequence.insert(items, d, ratio=0.5, similar=table))
    out = pd.DataFrame(edit(rows, draws()))
    inserted = out[out.changed]
    assert len(inserted) == 3 and (inserted.item_id == "x").all()
    source_ts = inserted.source_event_id.map(dict(zip(rows["event_id"], rows["ts"], strict=True)))
    assert ((inserted.ts - source_ts) == 1).all()  # one microsecond later
    assert (inserted.event_id == inserted.source_event_id + "+1").all()
    assert out.event_id.is_unique and len(out) == 9


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), sessions=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_a_session_shift_moves_whole_sessions_inside_their_day(n: int, sessions: int, seed: int) -> None:
    rows = history(n, sessions=sessions)
    out = pd.DataFrame(frames.session_shift("day")(rows, draws(seed)))
    day = 86_400_000_000
    assert (out.ts // day == rows["ts"] // day).all()
    offsets = (out.ts - rows["ts"]).groupby(rows["session_id"]).nunique()
    assert (offsets == 1).all()  # every event of a session moved by the same offset
    assert (out.changed == (out.ts != rows["ts"])).all()


def test_edit_sequence_bounds_the_history_and_numbers_the_copies() -> None:
    rows = frames.take(history(30), np.random.default_rng(1).permutation(30))  # any input order
    crop = frames.item_edit(lambda i, d: sequence.crop(i, d, eta=0.5))
    recipe = frames.SequenceRecipe(seed=1, label="0:crop", p=1.0, copies=3, max_history=10, eligible=lambda n: n > 3)
    out = pd.DataFrame(frames.edit_sequence(rows, crop, recipe))
    assert sorted(out[frames.COPY].unique()) == [0, 1, 2]
    assert set(out.source_event_id) <= {f"e{i:03d}" for i in range(20, 30)}  # the 10 most recent
    assert (out.groupby(frames.COPY).size() == 5).all()
    never = frames.SequenceRecipe(seed=1, label="0:crop", p=0.0, copies=3, max_history=10, eligible=lambda n: True)
    assert len(frames.edit_sequence(rows, crop, never)["event_id"]) == 0


def test_slide_window_copies_without_a_full_window_write_no_rows() -> None:
    rows = history(10)
    window = frames.item_edit(lambda i, d: sequence.slide_window(i, d, length=4, stride=3))
    recipe = frames.SequenceRecipe(seed=1, label="0:slide_window", p=1.0, copies=5, max_history=10,
                                   eligible=lambda n: n > 3)  # fmt: skip
    out = pd.DataFrame(frames.edit_sequence(rows, window, recipe))
    windows = {c: frame.source_event_id.tolist() for c, frame in out.groupby(frames.COPY)}
    assert windows == {
        0: ["e006", "e007", "e008", "e009"],
        1: ["e003", "e004", "e005", "e006"],
        2: ["e000", "e001", "e002", "e003"],
    }  # copies 3 and 4 would start before the first event
    assert (out.event_id == out.source_event_id).all() and not out.changed.any()
    assert (out.ts == out.source_event_id.map(dict(zip(rows["event_id"], rows["ts"], strict=True)))).all()
    too_long = frames.item_edit(lambda i, d: sequence.slide_window(i, d, length=11))
    empty = frames.edit_sequence(rows, too_long, recipe)  # every copy empty: typed, empty columns
    assert all(len(v) == 0 for v in empty.values()) and empty[frames.COPY].dtype == np.int32
    assert empty["item_id"].dtype == object and empty["ts"].dtype == np.int64


def test_occurrences_count_earlier_equal_values() -> None:
    assert frames.occurrences(np.array([3, 1, 3, 3, 1, 0])).tolist() == [0, 0, 1, 2, 1, 0]
    assert frames.occurrences(np.array([], dtype=np.int64)).tolist() == []


@pytest.mark.parametrize("name", sorted(OP_MODELS))
def test_every_configurable_op_has_a_kernel(name: str) -> None:
    defaults = {"column": "price", "columns": ["price", "quantity"], "sigma": 1.0, "share": 0.1, "r": 1.0,
                "attr": "device"}  # fmt: skip
    fields = OP_MODELS[name].model_fields
    spec = AugmentConfig.model_validate(
        {"ops": [{"op": name, **{k: v for k, v in defaults.items() if k in fields}}]}
    ).ops[0]
    assert recipes.shape(spec) in (recipes.ROW, recipes.SEQUENCE)
    assert recipes.descriptor(4, spec).startswith(f"4:{name}(")
