"""The GAN's data transformer: a frame of continuous and categorical columns as one float matrix and back.

The matrix holds each fitted column's block of spans (gan/columns.py) side by side, in the order of
the fitted frame's columns. The transformer is that layout: it fits the columns, knows where each
block starts, encodes a frame block by block and decodes a matrix (encoded rows, or generator output
in the same layout) the same way. Its parameters (no rows) go to JSON and back through gan/codec.py,
the format of a generator artifact's ``transformer`` field. Pure numpy/pandas: no Spark, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recaug_spark.gan.checks import is_int, name_list
from recaug_spark.gan.codec import from_json, to_json
from recaug_spark.gan.columns import CategoricalColumn, ContinuousColumn, FittedColumn, SpanInfo

FORMAT_VERSION = 1  # of the parameters' JSON (``version``); a reader refuses any other


@dataclass(frozen=True, kw_only=True)
class DataTransformer:
    """Encodes a frame of continuous and categorical columns into a float matrix and back.

    ``continuous`` and ``categorical`` list the fitted columns in ``columns`` order (the order of the
    fitted frame's columns); the matrix holds each column's spans in that order. ``version`` is the
    format of the parameters' JSON (:meth:`to_dict`).

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
    version: int = FORMAT_VERSION
    _layout: dict[str, tuple[int, FittedColumn]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version != FORMAT_VERSION:
            raise ValueError(f"transformer version {self.version!r} is not supported (expected {FORMAT_VERSION})")
        continuous, categorical = tuple(self.continuous), tuple(self.categorical)
        if not all(isinstance(c, ContinuousColumn) for c in continuous):
            raise ValueError("continuous must hold ContinuousColumn objects")
        if not all(isinstance(c, CategoricalColumn) for c in categorical):
            raise ValueError("categorical must hold CategoricalColumn objects")
        if isinstance(self.columns, str):
            raise ValueError(f"columns must be a list of names, got the string {self.columns!r}")
        columns = tuple(self.columns)
        by_name: dict[str, FittedColumn] = {}
        fitted: tuple[FittedColumn, ...] = (*continuous, *categorical)
        for column in fitted:
            if column.name in by_name:
                raise ValueError(f"column '{column.name}' is fitted twice")
            by_name[column.name] = column
        if len(set(columns)) != len(columns) or set(columns) != set(by_name):
            raise ValueError(
                f"columns {list(columns)} must list each fitted column once; the fitted ones are {sorted(by_name)}"
            )
        layout: dict[str, tuple[int, FittedColumn]] = {}
        start = 0
        for name in columns:
            layout[name] = (start, by_name[name])
            start += by_name[name].width
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
        continuous_names = name_list(continuous, "continuous")
        categorical_names = name_list(categorical, "categorical")
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
        if not is_int(top_k) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        if not is_int(max_modes) or max_modes < 1:
            raise ValueError(f"max_modes must be a positive int, got {max_modes!r}")
        if not 0.0 <= weight_threshold < 1.0:
            raise ValueError(f"weight_threshold must be in [0, 1), got {weight_threshold!r}")
        if not is_int(gmm_rows) or gmm_rows < 1:
            raise ValueError(f"gmm_rows must be a positive int, got {gmm_rows!r}")
        if not is_int(iterations) or iterations < 0:
            raise ValueError(f"iterations must be an int >= 0, got {iterations!r}")
        chosen = set(wanted)
        columns = tuple(str(c) for c in frame.columns if c in chosen)
        continuous_set = set(continuous_names)
        fitted_continuous = tuple(
            ContinuousColumn.fit(
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
            CategoricalColumn.fit(name, frame[name], top_k=top_k) for name in columns if name not in continuous_set
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
            (name, start, column.width)
            for name, (start, column) in self._layout.items()
            if isinstance(column, CategoricalColumn)
        ]

    def level_index(self, column: str, values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
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
        return entry[1].level_index(values)

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
        out = np.zeros((len(frame), self.output_dim), dtype=out_dtype)
        for name, (start, column) in self._layout.items():
            out[:, start : start + column.width] = column.encode(frame[name], dtype=out_dtype)
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
        decoded = {
            name: column.decode(data[:, start : start + column.width]) for name, (start, column) in self._layout.items()
        }
        return pd.DataFrame(decoded, columns=list(self.columns))

    # -- serialisation (gan/codec.py) ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON types (no rows: modes, flags, ranges, levels, frequencies).

        Example:
            >>> import json
            >>> t = DataTransformer.fit(pd.DataFrame({"x": [1.5, 2.5]}), continuous=["x"], categorical=[])
            >>> DataTransformer.from_dict(json.loads(json.dumps(t.to_dict()))) == t
            True
        """
        params: dict[str, Any] = to_json(self)
        return params

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
        return from_json(cls, data, what="transformer dict")
