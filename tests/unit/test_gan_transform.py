"""The GAN's data transformer: mixture fit, exact round trips, serialisation and batch independence (no Spark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recaug_spark.gan.columns import NULL_LEVEL, OTHER_LEVEL, CategoricalColumn, ContinuousColumn, SpanInfo
from recaug_spark.gan.transform import DataTransformer

CJ_SAMPLE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "completejourney" / "transactions_sample.csv"
)


def mixed_frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Prices with 2 decimals (some missing), integer quantities and hours, a signed 1-decimal delta, categories."""
    rng = np.random.default_rng(seed)
    price = np.round(np.where(rng.random(n) < 0.7, rng.gamma(2.0, 1.5, n), rng.normal(40.0, 5.0, n)), 2)
    price = np.abs(price)
    price[rng.random(n) < 0.1] = np.nan
    shop = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), n)
    shop[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "shop": shop,
            "price": price,
            "quantity": np.where(rng.random(n) < 0.8, 1, rng.integers(2, 12, n)),
            "hour": rng.integers(0, 24, n),
            "delta": np.round(rng.normal(0.0, 3.0, n), 1),
            "segment": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "ignored": np.arange(n),
        }
    )


def fit_mixed(frame: pd.DataFrame | None = None, **options: Any) -> DataTransformer:
    return DataTransformer.fit(
        mixed_frame() if frame is None else frame,
        continuous=["price", "quantity", "hour", "delta"],
        categorical=["shop", "segment"],
        **options,
    )


def assert_frames_round_trip(original: pd.DataFrame, back: pd.DataFrame, transformer: DataTransformer) -> None:
    """Categoricals equal as strings (null -> None); continuous equal exactly, or to 1e-9 where decimals is None."""
    assert list(back.columns) == list(transformer.columns)
    for column in transformer.categorical:
        expected = [None if pd.isna(v) else str(v) for v in original[column.name]]
        assert back[column.name].tolist() == expected, column.name
    for column in transformer.continuous:
        expected = original[column.name].to_numpy(dtype=np.float64)
        got = back[column.name].to_numpy()
        assert got.dtype == np.float64
        if column.decimals is None:
            scale = np.nanmax(np.abs(expected))
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * scale, err_msg=column.name)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=column.name)


def json_numbers(value: object) -> int:
    if isinstance(value, dict):
        return sum(json_numbers(v) for v in value.values())
    if isinstance(value, list):
        return sum(json_numbers(v) for v in value)
    return int(isinstance(value, int | float) and not isinstance(value, bool))


# --------------------------------------------------------------------------------------------------
# The mixture


def test_two_mode_column_gets_two_modes_near_the_clusters() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(10.0, 1.0, 600), rng.normal(1000.0, 25.0, 400)])
    t = DataTransformer.fit(pd.DataFrame({"x": x}), continuous=["x"], categorical=[])
    col = t.continuous[0]
    assert col.n_modes == 2
    assert col.means[0] == pytest.approx(10.0, rel=0.03) and col.means[1] == pytest.approx(1000.0, rel=0.03)
    assert col.weights == pytest.approx((0.6, 0.4), abs=0.02)
    assert sum(col.weights) == pytest.approx(1.0)
    alpha = t.transform(pd.DataFrame({"x": x}))[:, 0]
    assert np.mean(np.abs(alpha) <= 1.0) > 0.99
    mode = t.transform(pd.DataFrame({"x": x}))[:, 1:3].argmax(axis=1)
    np.testing.assert_array_equal(mode, (x > 500).astype(int))


def test_constant_column_has_one_mode_with_the_std_floor() -> None:
    frame = pd.DataFrame({"c": [7.25] * 50})
    t = DataTransformer.fit(frame, continuous=["c"], categorical=[])
    col = t.continuous[0]
    assert (col.means, col.stds, col.weights) == ((7.25,), (1e-6,), (1.0,))
    assert (col.decimals, col.integer, col.low, col.high) == (2, False, 7.25, 7.25)
    assert t.inverse_transform(t.transform(frame))["c"].tolist() == [7.25] * 50


def test_discrete_column_std_is_floored_and_weights_thresholded() -> None:
    rng = np.random.default_rng(1)
    q = np.where(rng.random(5000) < 0.9, 1, rng.integers(2, 6, 5000))  # mostly 1: a spike the floor must hold
    t = DataTransformer.fit(pd.DataFrame({"q": q}), continuous=["q"], categorical=[], weight_threshold=0.01)
    col = t.continuous[0]
    assert 1 <= col.n_modes <= 10
    assert min(col.stds) >= 1e-3 * q.std() * (1 - 1e-12)
    assert min(col.weights) >= 0.01
    assert list(col.means) == sorted(col.means)


def test_large_columns_fit_on_a_bounded_subset_deterministically() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.lognormal(1.0, 0.8, 30_000)})
    a = DataTransformer.fit(frame, continuous=["x"], categorical=[], gmm_rows=2_000, seed=5)
    b = DataTransformer.fit(frame.iloc[::-1], continuous=["x"], categorical=[], gmm_rows=2_000, seed=5)
    assert a == b  # the subset is drawn from the sorted values: row order does not matter
    assert a.continuous[0].low == frame["x"].min() and a.continuous[0].high == frame["x"].max()


# --------------------------------------------------------------------------------------------------
# Round trips


def test_flags_and_exact_round_trip_on_a_mixed_frame() -> None:
    frame = mixed_frame()
    t = fit_mixed(frame)
    assert t.columns == ("shop", "price", "quantity", "hour", "delta", "segment")
    by_name = {c.name: c for c in t.continuous}
    price, quantity, hour, delta = by_name["price"], by_name["quantity"], by_name["hour"], by_name["delta"]
    assert (price.decimals, price.integer, price.non_negative, price.nullable) == (2, False, True, True)
    assert (quantity.decimals, quantity.integer, quantity.non_negative, quantity.nullable) == (0, True, True, False)
    assert (hour.decimals, hour.integer, hour.low, hour.high) == (0, True, 0.0, 23.0)
    assert (delta.decimals, delta.integer, delta.non_negative) == (1, False, False)
    assert [s.dim for s in price.spans()] == [1, price.n_modes, 2]
    assert t.categorical[0].levels[-1] != OTHER_LEVEL and NULL_LEVEL in t.categorical[0].levels
    for dtype in (np.float32, np.float64):
        matrix = t.transform(frame, dtype=dtype)
        assert matrix.dtype == dtype and matrix.shape == (len(frame), t.output_dim)
        assert_frames_round_trip(frame, t.inverse_transform(matrix), t)


def test_matrix_layout_is_one_hot_per_softmax_span() -> None:
    frame = mixed_frame()
    t = fit_mixed(frame)
    matrix = t.transform(frame)
    spans = [span for _, column_spans in t.spans() for span in column_spans]
    assert sum(s.dim for s in spans) == t.output_dim == matrix.shape[1]
    offset = 0
    for span in spans:
        block = matrix[:, offset : offset + span.dim]
        if span.activation == "softmax":
            assert set(np.unique(block)) <= {0.0, 1.0} and (block.sum(axis=1) == 1).all()
        offset += span.dim
    price_start = len(t.categorical[0].levels)  # shop's one-hot comes first
    missing = frame["price"].isna().to_numpy()
    n_modes = t.continuous[0].n_modes
    np.testing.assert_array_equal(matrix[:, price_start + 1 + n_modes + 1], missing.astype(np.float32))
    assert (matrix[missing, price_start] == 0).all() and (matrix[missing, price_start + 1] == 1).all()


def test_values_beyond_top_k_come_back_as_other() -> None:
    frame = pd.DataFrame({"t": ["b", "a", "c", "a", "b", "d", None, "a"]})
    t = DataTransformer.fit(frame, continuous=[], categorical=["t"], top_k=2)
    col = t.categorical[0]
    assert col.levels == ("a", "b", OTHER_LEVEL)
    assert col.frequencies == pytest.approx((3 / 8, 2 / 8, 3 / 8))
    back = t.inverse_transform(t.transform(frame))["t"].tolist()
    assert back == ["b", "a", OTHER_LEVEL, "a", "b", OTHER_LEVEL, OTHER_LEVEL, "a"]


def test_levels_rank_by_count_then_value() -> None:
    frame = pd.DataFrame({"t": ["z", "y", "y", "x", "x", None, None, 3]})
    col = DataTransformer.fit(frame, continuous=[], categorical=["t"], top_k=10).categorical[0]
    assert col.levels == (NULL_LEVEL, "x", "y", "3", "z")  # '<' < 'x' < 'y'; then '3' < 'z'
    assert sum(col.frequencies) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def completejourney() -> pd.DataFrame:
    if not CJ_SAMPLE.exists():
        pytest.skip(f"{CJ_SAMPLE} is not there")
    raw = pd.read_csv(CJ_SAMPLE)
    raw = raw[raw["quantity"] > 0].reset_index(drop=True)
    return pd.DataFrame(
        {
            "store_id": raw["store_id"],
            "price": raw["sales_value"] / raw["quantity"],
            "hour": pd.to_datetime(raw["transaction_timestamp"]).dt.hour,
            "quantity": raw["quantity"],
        }
    )


def test_round_trip_on_completejourney(completejourney: pd.DataFrame) -> None:
    frame = completejourney
    stores = frame["store_id"].nunique()
    t = DataTransformer.fit(frame, continuous=["price", "hour", "quantity"], categorical=["store_id"], top_k=stores)
    by_name = {c.name: c for c in t.continuous}
    assert (by_name["hour"].decimals, by_name["quantity"].decimals) == (0, 0)
    assert by_name["quantity"].integer and by_name["quantity"].non_negative and by_name["price"].non_negative
    assert OTHER_LEVEL not in t.categorical[0].levels and len(t.categorical[0].levels) == stores
    assert_frames_round_trip(frame, t.inverse_transform(t.transform(frame, dtype=np.float64)), t)
    # float32, what the networks see: integers and categoricals still exact, prices to float32 precision
    back = t.inverse_transform(t.transform(frame))
    for name in ("hour", "quantity"):
        np.testing.assert_array_equal(back[name].to_numpy(), frame[name].to_numpy(dtype=np.float64))
    np.testing.assert_allclose(back["price"], frame["price"], rtol=1e-3, atol=1e-6)
    assert back["store_id"].tolist() == frame["store_id"].astype(str).tolist()

    small = DataTransformer.fit(frame, continuous=["price", "hour", "quantity"], categorical=["store_id"], top_k=5)
    levels = small.categorical[0].levels
    assert len(levels) == 6 and levels[-1] == OTHER_LEVEL
    back = small.inverse_transform(small.transform(frame, dtype=np.float64))
    stores_as_text = frame["store_id"].astype(str)
    expected = stores_as_text.where(stores_as_text.isin(levels[:5]), OTHER_LEVEL)
    assert back["store_id"].tolist() == expected.tolist()
    assert (expected == OTHER_LEVEL).any()
    assert_frames_round_trip(
        frame.drop(columns="store_id"), back.drop(columns="store_id"), t_without(small, "store_id")
    )


def t_without(t: DataTransformer, name: str) -> DataTransformer:
    """The transformer's parameters minus one categorical column (to reuse the round-trip check)."""
    return DataTransformer(
        continuous=t.continuous,
        categorical=tuple(c for c in t.categorical if c.name != name),
        columns=tuple(c for c in t.columns if c != name),
    )


# --------------------------------------------------------------------------------------------------
# Serialisation


def test_json_round_trip_is_bit_identical() -> None:
    frame = mixed_frame()
    t = fit_mixed(frame)
    again = DataTransformer.from_dict(json.loads(json.dumps(t.to_dict())))
    assert again == t
    np.testing.assert_array_equal(again.transform(frame), t.transform(frame))
    assert again.transform(frame).tobytes() == t.transform(frame).tobytes()


def _malformed(data: dict[str, Any], case: str) -> dict[str, Any]:
    cont, cat = data["continuous"][0], data["categorical"][0]
    if case == "missing top key":
        del data["columns"]
    elif case == "unknown top key":
        data["rows"] = [[1, 2]]
    elif case == "wrong version":
        data["version"] = 99
    elif case == "missing column key":
        del cont["stds"]
    elif case == "means/stds length mismatch":
        cont["stds"] = cont["stds"][:-1] if len(cont["stds"]) > 1 else [*cont["stds"], 1.0]
    elif case == "levels/frequencies mismatch":
        cat["frequencies"] = [*cat["frequencies"], 0.0]
    elif case == "negative std":
        cont["stds"] = [-1.0] * len(cont["stds"])
    elif case == "decimals out of range":
        cont["decimals"] = 9
    elif case == "string means":
        cont["means"] = "1,2"
    elif case == "flag not bool":
        cont["integer"] = "yes"
    elif case == "duplicate levels":
        cat["levels"] = [cat["levels"][0]] * len(cat["levels"])
    elif case == "columns disagree":
        data["columns"] = [*data["columns"][:-1], "nope"]
    elif case == "continuous not a list":
        data["continuous"] = {"price": cont}
    elif case == "low above high":
        cont["low"], cont["high"] = cont["high"] + 1, cont["low"]
    return data


MALFORMED = [
    ("missing top key", "missing keys \\['columns'\\]"),
    ("unknown top key", "unknown keys \\['rows'\\]"),
    ("wrong version", "version 99"),
    ("missing column key", "continuous\\[0\\]: missing keys \\['stds'\\]"),
    ("means/stds length mismatch", "'shop'|'price'.*one entry per mode"),
    ("levels/frequencies mismatch", "levels but .* frequencies"),
    ("negative std", "stds must be > 0"),
    ("decimals out of range", "decimals must be None"),
    ("string means", "means must be a list of numbers"),
    ("flag not bool", "integer must be a bool"),
    ("duplicate levels", "levels must be unique"),
    ("columns disagree", "must list each fitted column once"),
    ("continuous not a list", "'continuous' must be a list"),
    ("low above high", "low .* is above high"),
]


@pytest.mark.parametrize(("case", "message"), MALFORMED, ids=[case for case, _ in MALFORMED])
def test_malformed_dict_raises_value_error(case: str, message: str) -> None:
    data = json.loads(json.dumps(fit_mixed().to_dict()))
    with pytest.raises(ValueError, match=message):
        DataTransformer.from_dict(_malformed(data, case))


def test_from_dict_rejects_a_non_dict() -> None:
    with pytest.raises(ValueError, match="must be a dict"):
        DataTransformer.from_dict([1, 2])  # type: ignore[arg-type]


def test_to_dict_holds_parameters_not_rows() -> None:
    def frame(n: int) -> pd.DataFrame:
        rng = np.random.default_rng(n)
        two_clusters = np.where(rng.random(n) < 0.5, rng.normal(10.0, 1.0, n), rng.normal(1000.0, 25.0, n))
        return pd.DataFrame(
            {
                "x": two_clusters,
                "small": rng.choice(["a", "b", "c", "d"], n),
                "ids": rng.integers(0, 5_000, n).astype(str),  # many more values than top_k
            }
        )

    dicts = [
        DataTransformer.fit(frame(n), continuous=["x"], categorical=["small", "ids"], top_k=30).to_dict()
        for n in (1_000, 50_000)
    ]
    counts = [json_numbers(d) for d in dicts]
    assert counts[0] == counts[1]
    bound = 1 + (10 * 3 + 3) + 2 * (30 + 2)  # version; modes x 3 + low, high, decimals; frequencies
    assert counts[1] <= bound
    for d in dicts:
        assert all(len(c["levels"]) <= 30 + 2 for c in d["categorical"])
        assert len(json.dumps(d)) < 5_000


def test_same_seed_same_parameters() -> None:
    frame = mixed_frame(n=3_000)
    assert fit_mixed(frame, gmm_rows=500, seed=4).to_dict() == fit_mixed(frame, gmm_rows=500, seed=4).to_dict()


# --------------------------------------------------------------------------------------------------
# Properties

FITTED = fit_mixed()
BY_NAME = {c.name: c for c in FITTED.continuous}
maybe_price = st.one_of(st.none(), st.floats(0.0, 200.0, allow_nan=False).map(lambda v: round(v, 2)))
shops = st.sampled_from(["north", "south", "east", "west", "elsewhere", None])
rows = st.lists(
    st.tuples(
        maybe_price,
        st.integers(0, 50),
        st.integers(0, 23),
        st.floats(-1e9, 1e9, allow_nan=False),
        shops,
        st.sampled_from(["a", "b", "c"]),
    ),
    max_size=40,
)


def to_frame(data: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(data, columns=["price", "quantity", "hour", "delta", "shop", "segment"])
    frame["price"] = pd.to_numeric(frame["price"], errors="coerce")
    frame["shop"] = frame["shop"].astype(object)
    return frame


OTHER = fit_mixed(top_k=3)  # 'shop' has an OTHER_LEVEL here, so unseen shops are accepted


@settings(max_examples=60, deadline=None)
@given(data=rows, cut=st.integers(0, 40))
def test_transform_ignores_how_rows_are_batched(data: list[tuple[Any, ...]], cut: int) -> None:
    t = OTHER
    frame = to_frame(data)
    cut = min(cut, len(frame))
    whole = t.transform(frame)
    parts = np.concatenate([t.transform(frame.iloc[:cut]), t.transform(frame.iloc[cut:])])
    assert whole.tobytes() == parts.tobytes()
    reverse = t.transform(frame.iloc[::-1])
    np.testing.assert_array_equal(reverse, whole[::-1])
    assert np.isfinite(whole).all()


@settings(max_examples=60, deadline=None)
@given(data=rows)
def test_finite_input_gives_finite_output(data: list[tuple[Any, ...]]) -> None:
    frame = to_frame(data)
    matrix = OTHER.transform(frame)
    assert matrix.shape == (len(frame), OTHER.output_dim) and np.isfinite(matrix).all()
    back = OTHER.inverse_transform(matrix)
    for name in ("quantity", "hour", "delta"):
        assert np.isfinite(back[name]).all()
    np.testing.assert_array_equal(back["price"].isna(), frame["price"].isna())


@settings(max_examples=60, deadline=None)
@given(
    matrix=st.integers(0, 30).flatmap(
        lambda n: hnp.arrays(np.float32, (n, FITTED.output_dim), elements=st.floats(-1.0, 1.0, width=32))
    )
)
def test_inverse_of_any_matrix_respects_the_constraints(matrix: np.ndarray) -> None:
    back = FITTED.inverse_transform(matrix)
    assert list(back.columns) == list(FITTED.columns) and len(back) == len(matrix)
    for column in FITTED.continuous:
        values = back[column.name].to_numpy()
        present = values[~np.isnan(values)]
        assert np.isfinite(present).all()
        if not column.nullable:
            assert len(present) == len(values)
        if column.integer:
            assert (present == np.rint(present)).all()
        if column.non_negative:
            assert (present >= 0).all()
        if column.decimals is not None:
            np.testing.assert_array_equal(np.round(present, column.decimals), present)
    for column in FITTED.categorical:
        allowed = {None if level == NULL_LEVEL else level for level in column.levels}
        assert set(back[column.name]) <= allowed


# --------------------------------------------------------------------------------------------------
# Levels, spans and errors


def test_level_index_and_categorical_spans() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "t": ["b", "a", "b", None], "u": [1, 2, 2, 3]})
    t = DataTransformer.fit(frame, continuous=["x"], categorical=["u", "t"], top_k=2)
    x_width = 1 + t.continuous[0].n_modes
    assert t.columns == ("x", "t", "u")
    assert t.categorical_spans() == [("t", x_width, 3), ("u", x_width + 3, 3)]
    assert t.categorical[0].levels == ("b", NULL_LEVEL, OTHER_LEVEL)  # ties: '<null>' sorts before 'a'
    assert t.categorical[1].levels == ("2", "1", OTHER_LEVEL)
    assert t.level_index("t", ["a", None, "b", float("nan")]).tolist() == [2, 1, 0, 1]
    index = t.level_index("u", [2, "1", 3, 99])
    assert index.dtype == np.int64 and index.tolist() == [0, 1, 2, 2]
    full = DataTransformer.fit(frame, continuous=["x"], categorical=["u", "t"], top_k=3)
    assert full.categorical[0].levels == ("b", NULL_LEVEL, "a")
    assert full.level_index("t", ["a", None]).tolist() == [2, 1]
    with pytest.raises(ValueError, match=r"'t' has no level for \['c', 'd'\]"):
        full.level_index("t", ["c", "a", "d"])
    with pytest.raises(ValueError, match=r"'x' is not a categorical column.*\['t', 'u'\]"):
        t.level_index("x", [1.0])


@pytest.mark.parametrize(
    ("continuous", "categorical", "message"),
    [
        (["price", "nope"], ["shop", "gone"], r"columns \['nope', 'gone'\] are not in the frame; it has \['shop'"),
        (["price", "shop"], ["shop"], r"columns \['shop'\] are named both continuous and categorical"),
        ([], [], "at least one"),
        (["price", "price"], [], r"continuous names \['price'\] more than once"),
        ("price", [], "must be a list of column names"),
        (["shop"], [], "continuous column 'shop' is not numeric"),
    ],
)
def test_fit_rejects_bad_column_lists(continuous: Any, categorical: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataTransformer.fit(mixed_frame(), continuous=continuous, categorical=categorical)


def test_fit_rejects_empty_and_all_null_input() -> None:
    with pytest.raises(ValueError, match="without rows"):
        DataTransformer.fit(mixed_frame().iloc[:0], continuous=["price"], categorical=[])
    with pytest.raises(ValueError, match="'x' has no non-null values"):
        DataTransformer.fit(pd.DataFrame({"x": [None, np.nan]}), continuous=["x"], categorical=[])
    with pytest.raises(ValueError, match="'x' has 1 infinite"):
        DataTransformer.fit(pd.DataFrame({"x": [1.0, np.inf]}), continuous=["x"], categorical=[])


def test_transform_and_inverse_reject_what_they_cannot_encode() -> None:
    frame = mixed_frame()
    t = fit_mixed(frame)
    with pytest.raises(ValueError, match=r"columns \['hour'\] are not in the frame"):
        t.transform(frame.drop(columns="hour"))
    with pytest.raises(ValueError, match="'quantity' has 1 null"):
        t.transform(frame.assign(quantity=[None, *frame["quantity"].iloc[1:]]))
    with pytest.raises(ValueError, match=r"'segment' has no level for \['zz'\]"):
        t.transform(frame.assign(segment="zz"))
    with pytest.raises(ValueError, match="float32 or float64"):
        t.transform(frame, dtype=np.int32)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"shape \\(rows, {t.output_dim}\\)"):
        t.inverse_transform(np.zeros((2, t.output_dim + 1)))
    assert t.inverse_transform(np.zeros((0, t.output_dim))).shape == (0, len(t.columns))


def test_parameters_validate_themselves() -> None:
    with pytest.raises(ValueError, match="span activation"):
        SpanInfo(2, "relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'x': means, stds and weights"):
        ContinuousColumn(
            name="x",
            means=(1.0, 2.0),
            stds=(1.0,),
            weights=(0.5, 0.5),
            integer=False,
            non_negative=False,
            decimals=None,
            nullable=False,
            low=0.0,
            high=1.0,
        )
    with pytest.raises(ValueError, match="3 levels but 2 frequencies"):
        CategoricalColumn(name="t", levels=("a", "b", "c"), frequencies=(0.5, 0.5))


def test_module_is_pure() -> None:
    """The transformer runs where only numpy and pandas are: it imports no pyspark, torch or sklearn."""
    blocker = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pyspark", "py4j", "torch", "sklearn"}:
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
import recaug_spark.gan.transform
"""
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
