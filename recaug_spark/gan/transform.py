"""Mode-specific normalization (CTGAN): a reversible encoding of mixed tabular columns into a GAN's float matrix.

Each column becomes a block of matrix columns, in the order the fitted frame lists them:

    continuous   [alpha (1, tanh)] [mode one-hot (n_modes, softmax)] [present/missing (2, softmax), if nullable]
    categorical  [level one-hot (n_levels, softmax)]

A continuous value ``x`` is assigned the mode ``k`` of a fitted 1-D Gaussian mixture that explains it
best (argmax of ``w_k N(x; mu_k, sd_k)``) and stored as ``alpha = (x - mu_k) / (4 sd_k)``; the inverse is
``x = 4 sd_k alpha + mu_k``, then rounded to the fitted precision, so a round trip gives the values back.
A categorical value is matched as ``str(value)`` among the top-K most frequent levels. The fitted
parameters (no rows) serialise to a JSON-able dict. Pure numpy/pandas: no Spark, no torch.
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

NULL_LEVEL = "<null>"
OTHER_LEVEL = "<other>"
FORMAT_VERSION = 1

_MAX_DECIMALS = 6
_DECIMAL_TOLERANCE = 1e-9
_LL_TOLERANCE = 1e-6  # EM stops when the mean log-likelihood per row gains less than this
_CHUNK_ROWS = 65_536  # rows per block of the (rows x modes) posterior, to bound memory
_MERGE_GRID = 257  # points between two adjacent means where the mixture's shape is checked
_DIP_TOLERANCE = 1e-9  # a dip shallower than this (in log-density) is rounding, not a second mode
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_ACTIVATIONS = ("tanh", "softmax")


# --------------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class SpanInfo:
    """One block of output columns and the activation the generator applies to it.

    Example:
        >>> SpanInfo(3, "softmax")
        SpanInfo(dim=3, activation='softmax')
    """

    dim: int
    activation: Literal["tanh", "softmax"]

    def __post_init__(self) -> None:
        if not _is_int(self.dim) or self.dim < 1:
            raise ValueError(f"span dim must be a positive int, got {self.dim!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"span activation must be one of {list(_ACTIVATIONS)}, got {self.activation!r}")


@dataclass(frozen=True)
class ContinuousColumn:
    """The fitted parameters of one continuous column: its mixture modes and its output constraints.

    Example:
        >>> col = ContinuousColumn(name="price", means=(2.0, 50.0), stds=(1.0, 10.0), weights=(0.9, 0.1),
        ...     integer=False, non_negative=True, decimals=2, nullable=False, low=0.5, high=80.0)
        >>> [s.dim for s in col.spans()]
        [1, 2]
    """

    name: str
    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...]
    integer: bool
    non_negative: bool
    decimals: int | None
    nullable: bool
    low: float
    high: float

    def __post_init__(self) -> None:
        _check_name(self.name, "continuous column")
        what = f"continuous column '{self.name}'"
        means = _finite_floats(self.means, f"{what} means")
        stds = _finite_floats(self.stds, f"{what} stds")
        weights = _finite_floats(self.weights, f"{what} weights")
        if not means:
            raise ValueError(f"{what} needs at least one mode")
        if not len(means) == len(stds) == len(weights):
            raise ValueError(
                f"{what}: means, stds and weights must have one entry per mode, "
                f"got {len(means)}, {len(stds)} and {len(weights)}"
            )
        if min(stds) <= 0:
            raise ValueError(f"{what}: stds must be > 0, got {list(stds)}")
        if min(weights) <= 0:
            raise ValueError(f"{what}: weights must be > 0, got {list(weights)}")
        for flag in ("integer", "non_negative", "nullable"):
            if not isinstance(getattr(self, flag), bool | np.bool_):
                raise ValueError(f"{what}: {flag} must be a bool, got {getattr(self, flag)!r}")
            object.__setattr__(self, flag, bool(getattr(self, flag)))
        if self.decimals is not None and (not _is_int(self.decimals) or not 0 <= self.decimals <= _MAX_DECIMALS):
            raise ValueError(f"{what}: decimals must be None or an int in 0..{_MAX_DECIMALS}, got {self.decimals!r}")
        low, high = _finite_floats((self.low, self.high), f"{what} low/high")
        if low > high:
            raise ValueError(f"{what}: low {low} is above high {high}")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "decimals", None if self.decimals is None else int(self.decimals))
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def n_modes(self) -> int:
        """Number of kept mixture modes (the width of the mode one-hot)."""
        return len(self.means)

    def spans(self) -> list[SpanInfo]:
        """The column's spans in matrix order: alpha, mode one-hot, and present/missing when nullable."""
        spans = [SpanInfo(1, "tanh"), SpanInfo(self.n_modes, "softmax")]
        return [*spans, SpanInfo(2, "softmax")] if self.nullable else spans


@dataclass(frozen=True)
class CategoricalColumn:
    """The fitted levels of one categorical column and each level's share of the fitted rows.

    Example:
        >>> col = CategoricalColumn(name="shop", levels=("a", "b", OTHER_LEVEL), frequencies=(0.5, 0.3, 0.2))
        >>> col.spans()
        [SpanInfo(dim=3, activation='softmax')]
    """

    name: str
    levels: tuple[str, ...]
    frequencies: tuple[float, ...]

    def __post_init__(self) -> None:
        _check_name(self.name, "categorical column")
        what = f"categorical column '{self.name}'"
        if isinstance(self.levels, str) or not isinstance(self.levels, Iterable):
            raise ValueError(f"{what}: levels must be a list of strings, got {self.levels!r}")
        levels = tuple(self.levels)
        if not levels or not all(isinstance(level, str) for level in levels):
            raise ValueError(f"{what}: levels must be a non-empty list of strings, got {list(levels)!r}")
        if len(set(levels)) != len(levels):
            raise ValueError(f"{what}: levels must be unique, got {list(levels)!r}")
        frequencies = _finite_floats(self.frequencies, f"{what} frequencies")
        if len(frequencies) != len(levels):
            raise ValueError(f"{what}: {len(levels)} levels but {len(frequencies)} frequencies")
        if min(frequencies) < 0:
            raise ValueError(f"{what}: frequencies must be >= 0, got {list(frequencies)}")
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "frequencies", frequencies)

    def spans(self) -> list[SpanInfo]:
        """The column's single span: a one-hot over its levels."""
        return [SpanInfo(len(self.levels), "softmax")]


# --------------------------------------------------------------------------------------------------
# The transformer


@dataclass(frozen=True, kw_only=True)
class DataTransformer:
    """Encodes a frame of continuous and categorical columns into a float matrix and back.

    ``continuous`` and ``categorical`` list the fitted columns in ``columns`` order (the order of the
    fitted frame's columns); the matrix holds each column's spans in that order.

    Example:
        >>> frame = pd.DataFrame({"price": [1.25, 2.5, 2.5, 40.0], "shop": ["a", "b", "a", None]})
        >>> t = DataTransformer.fit(frame, continuous=["price"], categorical=["shop"])
        >>> matrix = t.transform(frame)
        >>> matrix.shape == (4, t.output_dim), matrix.dtype
        (True, dtype('float32'))
        >>> back = t.inverse_transform(matrix)
        >>> back["price"].tolist(), back["shop"].tolist()
        ([1.25, 2.5, 2.5, 40.0], ['a', 'b', 'a', None])
    """

    continuous: tuple[ContinuousColumn, ...]
    categorical: tuple[CategoricalColumn, ...]
    columns: tuple[str, ...]
    _layout: dict[str, tuple[int, ContinuousColumn | CategoricalColumn]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        continuous, categorical = tuple(self.continuous), tuple(self.categorical)
        if not all(isinstance(c, ContinuousColumn) for c in continuous):
            raise ValueError("continuous must hold ContinuousColumn objects")
        if not all(isinstance(c, CategoricalColumn) for c in categorical):
            raise ValueError("categorical must hold CategoricalColumn objects")
        if isinstance(self.columns, str):
            raise ValueError(f"columns must be a list of names, got the string {self.columns!r}")
        columns = tuple(self.columns)
        by_name: dict[str, ContinuousColumn | CategoricalColumn] = {}
        for column in (*continuous, *categorical):
            if column.name in by_name:
                raise ValueError(f"column '{column.name}' is fitted twice")
            by_name[column.name] = column
        if len(set(columns)) != len(columns) or set(columns) != set(by_name):
            raise ValueError(
                f"columns {list(columns)} must list each fitted column once; the fitted ones are {sorted(by_name)}"
            )
        layout: dict[str, tuple[int, ContinuousColumn | CategoricalColumn]] = {}
        start = 0
        for name in columns:
            layout[name] = (start, by_name[name])
            start += sum(span.dim for span in by_name[name].spans())
        object.__setattr__(self, "continuous", continuous)
        object.__setattr__(self, "categorical", categorical)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "_layout", layout)

    # -- fitting -------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        *,
        continuous: Sequence[str],
        categorical: Sequence[str],
        top_k: int = 30,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        gmm_rows: int = 20_000,
        iterations: int = 100,
        seed: int = 0,
    ) -> DataTransformer:
        """Fit the modes of each continuous column and the levels of each categorical one.

        Args:
            frame: The rows to fit on (other columns are ignored).
            continuous: Numeric columns (nulls allowed: they add a present/missing span).
            categorical: Columns whose values are matched as strings; nulls become ``NULL_LEVEL``.
            top_k: Levels kept per categorical column; the rest share ``OTHER_LEVEL``.
            max_modes: Gaussian components the mixture starts from.
            weight_threshold: Components lighter than this are dropped after EM.
            gmm_rows: At most this many non-null values (a seeded random subset) fit each mixture.
            iterations: At most this many EM steps per column.
            seed: Seeds the subset draw; the same seed and data give the same parameters.

        Returns:
            The fitted transformer; ``columns`` follows the frame's column order.

        Example:
            >>> frame = pd.DataFrame({"q": [1, 1, 2, 1], "t": ["x", "y", "x", "x"]})
            >>> t = DataTransformer.fit(frame, continuous=["q"], categorical=["t"])
            >>> t.columns, t.categorical[0].levels, t.continuous[0].integer
            (('q', 't'), ('x', 'y'), True)
        """
        continuous_names = _name_list(continuous, "continuous")
        categorical_names = _name_list(categorical, "categorical")
        overlap = sorted(set(continuous_names) & set(categorical_names), key=str)
        if overlap:
            raise ValueError(f"columns {overlap} are named both continuous and categorical")
        wanted = (*continuous_names, *categorical_names)
        if not wanted:
            raise ValueError("fit needs at least one continuous or categorical column")
        missing = [name for name in wanted if name not in frame.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the frame; it has {[str(c) for c in frame.columns]}")
        if frame.columns.has_duplicates:
            duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()] if c in wanted})
            if duplicated:
                raise ValueError(f"columns {duplicated} occur more than once in the frame")
        if len(frame) == 0:
            raise ValueError("cannot fit on a frame without rows")
        if not _is_int(top_k) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        if not _is_int(max_modes) or max_modes < 1:
            raise ValueError(f"max_modes must be a positive int, got {max_modes!r}")
        if not 0.0 <= weight_threshold < 1.0:
            raise ValueError(f"weight_threshold must be in [0, 1), got {weight_threshold!r}")
        if not _is_int(gmm_rows) or gmm_rows < 1:
            raise ValueError(f"gmm_rows must be a positive int, got {gmm_rows!r}")
        if not _is_int(iterations) or iterations < 0:
            raise ValueError(f"iterations must be an int >= 0, got {iterations!r}")
        chosen = set(wanted)
        columns = tuple(str(c) for c in frame.columns if c in chosen)
        continuous_set = set(continuous_names)
        fitted_continuous = tuple(
            _fit_continuous(
                name,
                frame[name],
                max_modes=max_modes,
                weight_threshold=weight_threshold,
                gmm_rows=gmm_rows,
                iterations=iterations,
                seed=seed,
            )
            for name in columns
            if name in continuous_set
        )
        fitted_categorical = tuple(
            _fit_categorical(name, frame[name], top_k=top_k) for name in columns if name not in continuous_set
        )
        return cls(continuous=fitted_continuous, categorical=fitted_categorical, columns=columns)

    # -- layout --------------------------------------------------------------------------------

    @property
    def output_dim(self) -> int:
        """Width of the encoded matrix."""
        return sum(span.dim for _, spans in self.spans() for span in spans)

    def spans(self) -> list[tuple[str, list[SpanInfo]]]:
        """Each column (in ``columns`` order) with its spans in matrix order.

        Example:
            >>> t = DataTransformer.fit(pd.DataFrame({"t": ["a", "b"]}), continuous=[], categorical=["t"])
            >>> t.spans()
            [('t', [SpanInfo(dim=2, activation='softmax')])]
        """
        return [(name, column.spans()) for name, (_, column) in self._layout.items()]

    def categorical_spans(self) -> list[tuple[str, int, int]]:
        """(column, first matrix column of its one-hot, number of levels) per categorical column, in column order.

        Example:
            >>> frame = pd.DataFrame({"t": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
            >>> DataTransformer.fit(frame, continuous=["x"], categorical=["t"]).categorical_spans()
            [('t', 0, 2)]
        """
        return [
            (name, start, len(column.levels))
            for name, (start, column) in self._layout.items()
            if isinstance(column, CategoricalColumn)
        ]

    def level_index(self, column: str, values: Sequence[object]) -> np.ndarray:
        """The index of each value (matched as ``str(value)``, nulls as ``NULL_LEVEL``) among ``column``'s levels.

        Values that are not levels map to ``OTHER_LEVEL`` when the column has it.

        Raises:
            ValueError: ``column`` is not a fitted categorical column, or a value is unknown and the
                column has no ``OTHER_LEVEL``.

        Example:
            >>> t = DataTransformer.fit(pd.DataFrame({"t": ["a", "b", "a", None]}), continuous=[], categorical=["t"])
            >>> t.categorical[0].levels, t.level_index("t", ["b", None, "a"]).tolist()
            (('a', '<null>', 'b'), [2, 1, 0])
        """
        entry = self._layout.get(column)
        if entry is None or not isinstance(entry[1], CategoricalColumn):
            names = [c.name for c in self.categorical]
            raise ValueError(f"'{column}' is not a categorical column of the transformer; it has {names}")
        return _level_index(entry[1], _as_strings(values))

    # -- encoding ------------------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame, *, dtype: type[np.floating] = np.float32) -> np.ndarray:
        """Encode ``frame``'s fitted columns (others are ignored) as a matrix of shape (rows, output_dim).

        Each row's encoding depends on that row only. ``dtype`` is float32 (what the networks take) or
        float64. float32 keeps ~7 significant digits of alpha: the inverse's rounding still restores
        columns with ``decimals`` exactly (unless a value lies extremely far from its mode), others to
        ~1e-6 relative. With float64 every round trip is exact to ~1e-12 relative.

        Raises:
            ValueError: a fitted column is missing, a continuous value is not numeric or infinite, a
                column fitted without nulls has one, or a categorical value is unknown without ``OTHER_LEVEL``.

        Example:
            >>> t = DataTransformer.fit(pd.DataFrame({"t": ["a", "b"]}), continuous=[], categorical=["t"])
            >>> t.transform(pd.DataFrame({"t": ["b", "b", "a"]})).tolist()
            [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
        """
        out_dtype = np.dtype(dtype)
        if out_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64, got {out_dtype}")
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the frame; it has {[str(c) for c in frame.columns]}")
        n = len(frame)
        out = np.zeros((n, self.output_dim), dtype=out_dtype)
        rows = np.arange(n)
        for name, (start, column) in self._layout.items():
            if isinstance(column, CategoricalColumn):
                out[rows, start + _level_index(column, _as_strings(frame[name]))] = 1.0
                continue
            values = _float_values(frame[name], name)
            null = np.isnan(values)
            if null.any() and not column.nullable:
                raise ValueError(
                    f"continuous column '{name}' has {int(null.sum())} null(s) but was fitted without nulls"
                )
            alpha, mode = _encode(column, values, null)
            out[:, start] = alpha
            if not np.isfinite(out[:, start]).all():
                raise ValueError(f"continuous column '{name}' has values too far from its fitted modes for {out_dtype}")
            out[rows, start + 1 + mode] = 1.0
            if column.nullable:
                out[rows, start + 1 + column.n_modes + null.astype(np.int64)] = 1.0
        return out

    def inverse_transform(self, matrix: np.ndarray) -> pd.DataFrame:
        """Decode a matrix (encoded rows, or generator output in the same layout) into a frame.

        One-hot spans are read by argmax. Continuous columns come back as float64, rounded to their
        ``decimals``, to integers when ``integer``, clipped at 0 when ``non_negative`` and to the fitted
        [low, high] range, and NaN where the present/missing span says missing. Categorical columns come
        back as objects: the level string, or None for ``NULL_LEVEL``.

        Example:
            >>> t = DataTransformer.fit(pd.DataFrame({"n": [0, 3, 5]}), continuous=["n"], categorical=[])
            >>> t.inverse_transform(t.transform(pd.DataFrame({"n": [5, 0]})))["n"].tolist()
            [5.0, 0.0]
        """
        data = np.asarray(matrix, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.output_dim:
            raise ValueError(f"matrix must have shape (rows, {self.output_dim}), got {data.shape}")
        decoded: dict[str, np.ndarray] = {}
        for name, (start, column) in self._layout.items():
            if isinstance(column, CategoricalColumn):
                levels = np.array([None if level == NULL_LEVEL else level for level in column.levels], dtype=object)
                decoded[name] = levels[data[:, start : start + len(column.levels)].argmax(axis=1)]
                continue
            decoded[name] = _decode(column, data[:, start : start + sum(span.dim for span in column.spans())])
        return pd.DataFrame(decoded, columns=list(self.columns))

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON types (no rows: modes, flags, ranges, levels, frequencies).

        Example:
            >>> import json
            >>> t = DataTransformer.fit(pd.DataFrame({"x": [1.5, 2.5]}), continuous=["x"], categorical=[])
            >>> DataTransformer.from_dict(json.loads(json.dumps(t.to_dict()))) == t
            True
        """
        return {
            "version": FORMAT_VERSION,
            "columns": list(self.columns),
            "continuous": [
                {
                    "name": c.name,
                    "means": list(c.means),
                    "stds": list(c.stds),
                    "weights": list(c.weights),
                    "integer": c.integer,
                    "non_negative": c.non_negative,
                    "decimals": c.decimals,
                    "nullable": c.nullable,
                    "low": c.low,
                    "high": c.high,
                }
                for c in self.continuous
            ],
            "categorical": [
                {"name": c.name, "levels": list(c.levels), "frequencies": list(c.frequencies)} for c in self.categorical
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataTransformer:
        """Rebuild a transformer from :meth:`to_dict`'s output.

        Raises:
            ValueError: a key is missing or unknown, or a value has the wrong type or size.

        Example:
            >>> DataTransformer.from_dict({"version": 1, "columns": []})
            Traceback (most recent call last):
            ...
            ValueError: transformer dict: missing keys ['categorical', 'continuous']
        """
        _check_keys(data, _TOP_KEYS, "transformer dict")
        if data["version"] != FORMAT_VERSION:
            raise ValueError(
                f"transformer dict: version {data['version']!r} is not supported (expected {FORMAT_VERSION})"
            )
        for key in ("columns", "continuous", "categorical"):
            if not isinstance(data[key], list | tuple):
                raise ValueError(f"transformer dict: '{key}' must be a list, got {type(data[key]).__name__}")
        continuous = []
        for i, entry in enumerate(data["continuous"]):
            _check_keys(entry, _CONTINUOUS_KEYS, f"transformer dict: continuous[{i}]")
            continuous.append(ContinuousColumn(**{key: entry[key] for key in _CONTINUOUS_KEYS}))
        categorical = []
        for i, entry in enumerate(data["categorical"]):
            _check_keys(entry, _CATEGORICAL_KEYS, f"transformer dict: categorical[{i}]")
            categorical.append(CategoricalColumn(**{key: entry[key] for key in _CATEGORICAL_KEYS}))
        return cls(continuous=tuple(continuous), categorical=tuple(categorical), columns=tuple(data["columns"]))


_TOP_KEYS = ("version", "columns", "continuous", "categorical")
_CONTINUOUS_KEYS = (
    "name",
    "means",
    "stds",
    "weights",
    "integer",
    "non_negative",
    "decimals",
    "nullable",
    "low",
    "high",
)
_CATEGORICAL_KEYS = ("name", "levels", "frequencies")


# --------------------------------------------------------------------------------------------------
# Continuous columns


def _fit_continuous(
    name: str,
    series: pd.Series,
    *,
    max_modes: int,
    weight_threshold: float,
    gmm_rows: int,
    iterations: int,
    seed: int,
) -> ContinuousColumn:
    values = _float_values(series, name)
    null = np.isnan(values)
    present = np.sort(values[~null])  # sorted: the fit depends on the values, not on the row order
    if present.size == 0:
        raise ValueError(f"continuous column '{name}' has no non-null values to fit")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    means, stds, weights = _fit_mixture(
        present,
        max_modes=max_modes,
        weight_threshold=weight_threshold,
        gmm_rows=gmm_rows,
        iterations=iterations,
        rng=rng,
    )
    return ContinuousColumn(
        name=name,
        means=tuple(float(m) for m in means),
        stds=tuple(float(s) for s in stds),
        weights=tuple(float(w) for w in weights),
        integer=bool(np.all(present == np.rint(present))),
        non_negative=bool(present[0] >= 0.0),
        decimals=_decimals(present),
        nullable=bool(null.any()),
        low=float(present[0]),
        high=float(present[-1]),
    )


def _decimals(values: np.ndarray) -> int | None:
    """The smallest d in 0..6 with every value * 10**d integral (to 1e-9, or a few ulps for huge values)."""
    for d in range(_MAX_DECIMALS + 1):
        scaled = values * 10.0**d
        tolerance = np.maximum(_DECIMAL_TOLERANCE, 4.0 * np.spacing(np.abs(scaled)))
        if np.all(np.abs(scaled - np.rint(scaled)) <= tolerance):
            return d
    return None


def _fit_mixture(
    values: np.ndarray,
    *,
    max_modes: int,
    weight_threshold: float,
    gmm_rows: int,
    iterations: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means, stds, weights) of a 1-D Gaussian mixture fitted by EM to the sorted ``values``, by mean.

    Starts from ``max_modes`` components (means at quantiles, equal weights, the overall std), runs at
    most ``iterations`` EM steps, drops components lighter than ``weight_threshold`` and merges adjacent
    components whose two-component mixture is unimodal (redundant pieces of one mode), refitting after
    a merge while steps remain. Works on standardized values for numerical stability.
    """
    center, scale = float(values.mean()), float(values.std())
    floor = max(1e-6, 1e-3 * scale)
    if scale == 0.0 or not np.isfinite(scale):
        return np.array([values[0]]), np.array([floor]), np.array([1.0])
    if values.size > gmm_rows:
        values = values[np.sort(rng.choice(values.size, size=gmm_rows, replace=False))]
    x = (values - center) / scale
    floor_z = floor / scale
    mu = np.unique(np.quantile(x, (np.arange(max_modes) + 0.5) / max_modes))
    sd = np.full(mu.size, max(float(x.std()), floor_z))
    w = np.full(mu.size, 1.0 / mu.size)
    budget = iterations
    while True:
        w, mu, sd, budget = _em(x, w, mu, sd, floor=floor_z, budget=budget)
        w, mu, sd = _prune(w, mu, sd, weight_threshold)
        merged = _merge_unimodal(w, mu, sd)
        if merged[0].size == w.size:
            break
        w, mu, sd = merged
        if budget == 0:
            break
    order = np.argsort(mu, kind="stable")
    return center + scale * mu[order], np.maximum(scale * sd[order], floor), w[order] / w.sum()


def _em(
    x: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray, *, floor: float, budget: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """At most ``budget`` EM steps; returns the parameters and the steps left."""
    previous = -np.inf
    x2 = x * x
    while budget > 0:
        resp = np.subtract.outer(x, mu)  # built in place: log(w_k N(x; mu_k, sd_k)), then responsibilities
        resp /= sd
        resp *= resp
        resp *= -0.5
        resp += np.log(w) - np.log(sd) - _LOG_SQRT_2PI
        top = resp.max(axis=1)
        resp -= top[:, None]
        np.exp(resp, out=resp)
        total = resp.sum(axis=1)
        log_likelihood = float(np.mean(top + np.log(total)))
        if log_likelihood - previous < _LL_TOLERANCE:
            break
        previous = log_likelihood
        budget -= 1
        resp /= total[:, None]
        mass = resp.sum(axis=0)
        alive = mass > 1e-10 * x.size  # a component that explains nothing is removed, not divided by zero
        if not alive.all():
            resp, mass = resp[:, alive], mass[alive]
        w = mass / x.size
        mu = (x @ resp) / mass
        var = (x2 @ resp) / mass - mu * mu  # standardized values: no harmful cancellation
        sd = np.maximum(np.sqrt(np.maximum(var, 0.0)), floor)
    return w, mu, sd, budget


def _log_joint(x: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log(w_k N(x; mu_k, sd_k)) for every value and component: shape (len(x), len(mu))."""
    z = (x[:, None] - mu) / sd
    return (np.log(w) - np.log(sd) - _LOG_SQRT_2PI) - 0.5 * z * z


def _prune(
    w: np.ndarray, mu: np.ndarray, sd: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = w >= threshold
    if not keep.any():
        keep = w == w.max()
        keep &= np.cumsum(keep) == 1  # exactly one: the first of the heaviest
    return w[keep] / w[keep].sum(), mu[keep], sd[keep]


def _merge_unimodal(w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeatedly merge (by moments) the closest adjacent pair whose mixture has a single mode."""
    order = np.argsort(mu, kind="stable")
    w, mu, sd = w[order], mu[order], sd[order]
    while w.size > 1:
        t = np.linspace(0.0, 1.0, _MERGE_GRID)
        grid = mu[:-1, None] + (mu[1:] - mu[:-1])[:, None] * t  # (pairs, grid) points between adjacent means
        left = np.log(w[:-1, None]) - np.log(sd[:-1, None]) - 0.5 * ((grid - mu[:-1, None]) / sd[:-1, None]) ** 2
        right = np.log(w[1:, None]) - np.log(sd[1:, None]) - 0.5 * ((grid - mu[1:, None]) / sd[1:, None]) ** 2
        density = np.logaddexp(left, right)  # log of the pair's mixture density, up to a constant
        # A dip between two higher points makes the pair bimodal: its depth is how far the density falls
        # below the lower of the highest points to its left and to its right (0 for a single mode).
        dip = np.minimum(
            np.maximum.accumulate(density, axis=1), np.maximum.accumulate(density[:, ::-1], axis=1)[:, ::-1]
        )
        unimodal = (dip - density).max(axis=1) <= _DIP_TOLERANCE
        if not unimodal.any():
            break
        separation = (mu[1:] - mu[:-1]) / (sd[:-1] + sd[1:])
        i = int(np.argmin(np.where(unimodal, separation, np.inf)))
        weight = w[i] + w[i + 1]
        mean = (w[i] * mu[i] + w[i + 1] * mu[i + 1]) / weight
        var = (
            w[i] * (sd[i] ** 2 + (mu[i] - mean) ** 2) + w[i + 1] * (sd[i + 1] ** 2 + (mu[i + 1] - mean) ** 2)
        ) / weight
        w = np.concatenate([w[:i], [weight], w[i + 2 :]])
        mu = np.concatenate([mu[:i], [mean], mu[i + 2 :]])
        sd = np.concatenate([sd[:i], [math.sqrt(var)], sd[i + 2 :]])
    return w, mu, sd


def _encode(column: ContinuousColumn, values: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, mode) per value: the most probable mode a posteriori, and the offset from it in 4-std units."""
    mu, sd = np.asarray(column.means), np.asarray(column.stds)
    filled = np.where(null, mu[0], values)
    mode = np.zeros(values.size, dtype=np.int64)
    if column.n_modes > 1:
        w = np.asarray(column.weights)
        for start in range(0, values.size, _CHUNK_ROWS):  # blocks of rows bound the posterior's memory
            block = filled[start : start + _CHUNK_ROWS]
            mode[start : start + block.size] = _log_joint(block, w, mu, sd).argmax(axis=1)
    alpha = (filled - mu[mode]) / (4.0 * sd[mode])
    return np.where(null, 0.0, alpha), mode


def _decode(column: ContinuousColumn, block: np.ndarray) -> np.ndarray:
    """Values from a column's block of the matrix: alpha, mode one-hot, present/missing."""
    mu, sd = np.asarray(column.means), np.asarray(column.stds)
    mode = block[:, 1 : 1 + column.n_modes].argmax(axis=1)
    x = block[:, 0] * (4.0 * sd[mode]) + mu[mode]
    if column.decimals is not None:
        x = np.round(x, column.decimals)
    if column.integer:
        x = np.rint(x)
    if column.non_negative:
        x = np.maximum(x, 0.0)
    x = np.clip(x, column.low, column.high)  # within the fitted range (as SDV's enforce_min_max_values)
    x = x + 0.0  # -0.0 -> 0.0
    if column.nullable:
        x[block[:, 1 + column.n_modes :].argmax(axis=1) == 1] = np.nan
    return x


def _float_values(series: pd.Series, name: str) -> np.ndarray:
    """A column as float64 with NaN for nulls; ValueError when it is not numeric or holds infinities."""
    try:
        values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"continuous column '{name}' is not numeric: {error}") from None
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(f"continuous column '{name}' has {int(infinite.sum())} infinite value(s)")
    return values


# --------------------------------------------------------------------------------------------------
# Categorical columns


def _fit_categorical(name: str, series: pd.Series, *, top_k: int) -> CategoricalColumn:
    strings = _as_strings(series)
    counts = pd.Series(strings).value_counts(sort=False)
    ranked = (
        pd.DataFrame({"level": counts.index.to_numpy(dtype=object), "count": counts.to_numpy()})
        .sort_values(["count", "level"], ascending=[False, True], kind="mergesort")
        .reset_index(drop=True)
    )
    kept, rest = ranked.iloc[:top_k], ranked.iloc[top_k:]
    levels = [str(level) for level in kept["level"]]
    shares = (kept["count"].to_numpy(dtype=np.float64) / strings.size).tolist()
    if len(rest):
        left_out = float(rest["count"].sum()) / strings.size
        if OTHER_LEVEL in levels:  # the literal value shares its level with the left-out ones
            shares[levels.index(OTHER_LEVEL)] += left_out
        else:
            levels.append(OTHER_LEVEL)
            shares.append(left_out)
    return CategoricalColumn(name=name, levels=tuple(levels), frequencies=tuple(float(s) for s in shares))


def _as_strings(values: Sequence[object] | pd.Series) -> np.ndarray:
    """``str(value)`` per value (object array), ``NULL_LEVEL`` for None/NaN/NA."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    strings = series.astype(str).to_numpy(dtype=object)
    strings[series.isna().to_numpy()] = NULL_LEVEL
    return strings


def _level_index(column: CategoricalColumn, strings: np.ndarray) -> np.ndarray:
    index = pd.Index(column.levels, dtype=object).get_indexer(strings).astype(np.int64)
    unknown = index < 0
    if unknown.any():
        if OTHER_LEVEL not in column.levels:
            values = sorted(set(strings[unknown].tolist()))
            shown = values[:10] + ([f"... {len(values) - 10} more"] if len(values) > 10 else [])
            raise ValueError(
                f"categorical column '{column.name}' has no level for {shown} and no '{OTHER_LEVEL}' level; "
                f"its levels are {list(column.levels)[:20]}"
            )
        index[unknown] = column.levels.index(OTHER_LEVEL)
    return index


# --------------------------------------------------------------------------------------------------
# Validation helpers


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} name must be a non-empty string, got {name!r}")


def _finite_floats(values: object, what: str) -> tuple[float, ...]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a list of numbers, got {values!r}")
    items = list(values)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) for v in items):
        raise ValueError(f"{what} must be numbers, got {items!r}")
    floats = tuple(float(v) for v in items)
    if not all(math.isfinite(v) for v in floats):
        raise ValueError(f"{what} must be finite, got {list(floats)}")
    return floats


def _check_keys(entry: object, keys: Sequence[str], what: str) -> None:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{what} must be a dict, got {type(entry).__name__}")
    missing = sorted(set(keys) - set(entry))
    unknown = sorted(str(k) for k in set(entry) - set(keys))
    if missing:
        raise ValueError(f"{what}: missing keys {missing}")
    if unknown:
        raise ValueError(f"{what}: unknown keys {unknown}")


def _name_list(names: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValueError(f"{what} must be a list of column names, got {names!r}")
    result = tuple(names)
    if not all(isinstance(n, str) for n in result):
        raise ValueError(f"{what} column names must be strings, got {list(result)!r}")
    duplicated = sorted({n for n in result if result.count(n) > 1})
    if duplicated:
        raise ValueError(f"{what} names {duplicated} more than once")
    return result
