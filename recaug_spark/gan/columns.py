"""One fitted column of the GAN's matrix: its parameters, its spans, and the reversible encoding of its
values into them (CTGAN's mode-specific normalization for numbers, a one-hot for categories).

Each column is a block of matrix columns:

    continuous   [alpha (1, tanh)] [mode one-hot (n_modes, softmax)] [present/missing (2, softmax), if nullable]
    categorical  [level one-hot (n_levels, softmax)]

A continuous value ``x`` is assigned the mode ``k`` of its fitted 1-D Gaussian mixture
(gan/mixture.py) and stored as ``alpha = (x - mu_k) / (4 sd_k)``; the inverse is
``x = 4 sd_k alpha + mu_k``, rounded to the fitted precision, so a round trip gives the values back.
A categorical value is matched as ``str(value)`` among the top-K most frequent levels. The parameters
are summaries (modes, flags, range, levels, shares), never rows. Pure numpy/pandas.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from recaug_spark.gan.checks import check_name, finite_floats, is_int
from recaug_spark.gan.mixture import fit_mixture, most_likely_mode

NULL_LEVEL = "<null>"
OTHER_LEVEL = "<other>"

_MAX_DECIMALS = 6
_DECIMAL_TOLERANCE = 1e-9
_ACTIVATIONS = ("tanh", "softmax")


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
        if not is_int(self.dim) or self.dim < 1:
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
        check_name(self.name, "continuous column")
        what = f"continuous column '{self.name}'"
        means = finite_floats(self.means, f"{what} means")
        stds = finite_floats(self.stds, f"{what} stds")
        weights = finite_floats(self.weights, f"{what} weights")
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
        if self.decimals is not None and (not is_int(self.decimals) or not 0 <= self.decimals <= _MAX_DECIMALS):
            raise ValueError(f"{what}: decimals must be None or an int in 0..{_MAX_DECIMALS}, got {self.decimals!r}")
        low, high = finite_floats((self.low, self.high), f"{what} low/high")
        if low > high:
            raise ValueError(f"{what}: low {low} is above high {high}")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "decimals", None if self.decimals is None else int(self.decimals))
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @classmethod
    def fit(
        cls,
        name: str,
        series: pd.Series,
        *,
        max_modes: int,
        weight_threshold: float,
        gmm_rows: int,
        iterations: int,
        seed: int,
    ) -> ContinuousColumn:
        """The mixture and the constraints (integer, sign, decimals, nulls, range) of ``series``' values.

        The mixture's subset is drawn from a generator seeded by ``seed`` and the column's name, so
        columns fitted together do not share draws. See :class:`~recaug_spark.gan.transform.DataTransformer`'s
        ``fit`` for the options.

        Example:
            >>> col = ContinuousColumn.fit("q", pd.Series([1, 1, 2, None]), max_modes=10, weight_threshold=0.005,
            ...     gmm_rows=20_000, iterations=100, seed=0)
            >>> col.integer, col.decimals, col.nullable, (col.low, col.high)
            (True, 0, True, (1.0, 2.0))
        """
        values = _float_values(series, name)
        null = np.isnan(values)
        present = np.sort(values[~null])  # sorted: the fit depends on the values, not on the row order
        if present.size == 0:
            raise ValueError(f"continuous column '{name}' has no non-null values to fit")
        rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
        means, stds, weights = fit_mixture(
            present,
            max_modes=max_modes,
            weight_threshold=weight_threshold,
            gmm_rows=gmm_rows,
            iterations=iterations,
            rng=rng,
        )
        return cls(
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

    @property
    def n_modes(self) -> int:
        """Number of kept mixture modes (the width of the mode one-hot)."""
        return len(self.means)

    @property
    def width(self) -> int:
        """Number of matrix columns of the column's block."""
        return sum(span.dim for span in self.spans())

    def spans(self) -> list[SpanInfo]:
        """The column's spans in matrix order: alpha, mode one-hot, and present/missing when nullable."""
        spans = [SpanInfo(1, "tanh"), SpanInfo(self.n_modes, "softmax")]
        return [*spans, SpanInfo(2, "softmax")] if self.nullable else spans

    def encode(self, series: pd.Series, *, dtype: np.dtype) -> np.ndarray:
        """The column's block (rows, width) for ``series``: alpha, the most probable mode a posteriori
        (one-hot), and present/missing. A missing value has alpha 0 and the first mode.

        Raises:
            ValueError: a value is not numeric or infinite, a column fitted without nulls has one, or
                alpha overflows ``dtype``.
        """
        values = _float_values(series, self.name)
        null = np.isnan(values)
        if null.any() and not self.nullable:
            raise ValueError(
                f"continuous column '{self.name}' has {int(null.sum())} null(s) but was fitted without nulls"
            )
        mu, sd = np.asarray(self.means), np.asarray(self.stds)
        filled = np.where(null, mu[0], values)
        mode = most_likely_mode(filled, means=mu, stds=sd, weights=np.asarray(self.weights))
        block = np.zeros((values.size, self.width), dtype=dtype)
        block[:, 0] = np.where(null, 0.0, (filled - mu[mode]) / (4.0 * sd[mode]))
        if not np.isfinite(block[:, 0]).all():
            raise ValueError(f"continuous column '{self.name}' has values too far from its fitted modes for {dtype}")
        rows = np.arange(values.size)
        block[rows, 1 + mode] = 1.0
        if self.nullable:
            block[rows, 1 + self.n_modes + null.astype(np.int64)] = 1.0
        return block

    def decode(self, block: np.ndarray) -> np.ndarray:
        """Values (float64, NaN for missing) from the column's block: alpha, mode one-hot, present/missing.

        One-hots are read by argmax. Values are rounded to ``decimals``, to integers when ``integer``,
        clipped at 0 when ``non_negative`` and to the fitted [low, high] range.
        """
        mu, sd = np.asarray(self.means), np.asarray(self.stds)
        mode = block[:, 1 : 1 + self.n_modes].argmax(axis=1)
        x: np.ndarray = block[:, 0] * (4.0 * sd[mode]) + mu[mode]
        if self.decimals is not None:
            x = np.round(x, self.decimals)
        if self.integer:
            x = np.rint(x)
        if self.non_negative:
            x = np.maximum(x, 0.0)
        x = np.clip(x, self.low, self.high)  # within the fitted range (as SDV's enforce_min_max_values)
        x = x + 0.0  # -0.0 -> 0.0
        if self.nullable:
            x[block[:, 1 + self.n_modes :].argmax(axis=1) == 1] = np.nan
        return x


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
        check_name(self.name, "categorical column")
        what = f"categorical column '{self.name}'"
        if isinstance(self.levels, str) or not isinstance(self.levels, Iterable):
            raise ValueError(f"{what}: levels must be a list of strings, got {self.levels!r}")
        levels = tuple(self.levels)
        if not levels or not all(isinstance(level, str) for level in levels):
            raise ValueError(f"{what}: levels must be a non-empty list of strings, got {list(levels)!r}")
        if len(set(levels)) != len(levels):
            raise ValueError(f"{what}: levels must be unique, got {list(levels)!r}")
        frequencies = finite_floats(self.frequencies, f"{what} frequencies")
        if len(frequencies) != len(levels):
            raise ValueError(f"{what}: {len(levels)} levels but {len(frequencies)} frequencies")
        if min(frequencies) < 0:
            raise ValueError(f"{what}: frequencies must be >= 0, got {list(frequencies)}")
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "frequencies", frequencies)

    @classmethod
    def fit(cls, name: str, series: pd.Series, *, top_k: int) -> CategoricalColumn:
        """The ``top_k`` most frequent values of ``series`` as strings (ties by value), the rest as
        ``OTHER_LEVEL``, nulls as ``NULL_LEVEL``, with their shares of the rows.

        Example:
            >>> CategoricalColumn.fit("t", pd.Series(["b", "a", "c", "a", None]), top_k=2).levels
            ('a', '<null>', '<other>')
        """
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
        return cls(name=name, levels=tuple(levels), frequencies=tuple(float(s) for s in shares))

    @property
    def width(self) -> int:
        """Number of matrix columns of the column's block (its levels)."""
        return len(self.levels)

    def spans(self) -> list[SpanInfo]:
        """The column's single span: a one-hot over its levels."""
        return [SpanInfo(self.width, "softmax")]

    def level_index(self, values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
        """The index of each value (as ``str(value)``, nulls as ``NULL_LEVEL``) among the levels (int64);
        a value that is not a level gets ``OTHER_LEVEL``'s index.

        Raises:
            ValueError: a value is not a level and the column has no ``OTHER_LEVEL``.
        """
        strings = _as_strings(values)
        index: np.ndarray = pd.Index(self.levels, dtype=object).get_indexer(strings).astype(np.int64)
        unknown = index < 0
        if unknown.any():
            if OTHER_LEVEL not in self.levels:
                found = sorted(set(strings[unknown].tolist()))
                shown = found[:10] + ([f"... {len(found) - 10} more"] if len(found) > 10 else [])
                raise ValueError(
                    f"categorical column '{self.name}' has no level for {shown} and no '{OTHER_LEVEL}' level; "
                    f"its levels are {list(self.levels)[:20]}"
                )
            index[unknown] = self.levels.index(OTHER_LEVEL)
        return index

    def encode(self, series: pd.Series, *, dtype: np.dtype) -> np.ndarray:
        """The column's block (rows, width): the one-hot of each value's level."""
        index = self.level_index(series)
        block = np.zeros((index.size, self.width), dtype=dtype)
        block[np.arange(index.size), index] = 1.0
        return block

    def decode(self, block: np.ndarray) -> np.ndarray:
        """Each row's level (argmax of the block) as an object array, None for ``NULL_LEVEL``."""
        levels = np.array([None if level == NULL_LEVEL else level for level in self.levels], dtype=object)
        decoded: np.ndarray = levels[block.argmax(axis=1)]
        return decoded


FittedColumn = ContinuousColumn | CategoricalColumn


def _decimals(values: np.ndarray) -> int | None:
    """The smallest d in 0..6 with every value * 10**d integral (to 1e-9, or a few ulps for huge values)."""
    for d in range(_MAX_DECIMALS + 1):
        scaled = values * 10.0**d
        tolerance = np.maximum(_DECIMAL_TOLERANCE, 4.0 * np.spacing(np.abs(scaled)))
        if np.all(np.abs(scaled - np.rint(scaled)) <= tolerance):
            return d
    return None


def _float_values(series: pd.Series, name: str) -> np.ndarray:
    """A column as float64 with NaN for nulls; ValueError when it is not numeric or holds infinities."""
    try:
        values: np.ndarray = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"continuous column '{name}' is not numeric: {error}") from None
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(f"continuous column '{name}' has {int(infinite.sum())} infinite value(s)")
    return values


def _as_strings(values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
    """``str(value)`` per value (object array), ``NULL_LEVEL`` for None/NaN/NA."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    strings: np.ndarray = series.astype(str).to_numpy(dtype=object)
    strings[series.isna().to_numpy()] = NULL_LEVEL
    return strings
