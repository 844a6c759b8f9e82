"""train-gan's choice of unset GAN columns: the defaults the source fills, constant ones left out."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from recaug_spark.config import GanConfig
from recaug_spark.gan import table


def test_unset_columns_are_the_defaults_the_source_fills() -> None:
    chosen = table.candidates(GanConfig(), frozenset({"hour", "event_type", "dow", "category"}))
    assert chosen.continuous == ("hour",) and chosen.categorical == ("event_type", "category", "dow")
    every = table.candidates(GanConfig(), None)  # the demo shop fills every column
    assert every.continuous == ("price", "quantity", "hour")
    assert every.categorical == ("event_type", "category", "dow", "segment")
    configured = table.candidates(GanConfig(continuous=("price",)), frozenset({"hour", "dow"}))
    assert configured.continuous == ("price",) and configured.categorical == ("event_type", "dow")


def test_constant_default_columns_are_left_out_and_the_choice_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    sample = pd.DataFrame({
        "price": [1.0, 2.0, None], "quantity": [1.0, 1.0, 1.0], "hour": [None, None, None],
        "event_type": ["purchase"] * 3, "category": ["a", None, None], "dow": ["1", "1", "1"],
        "segment": [None, None, None],
    })  # fmt: skip
    configured = GanConfig()
    with caplog.at_level(logging.INFO):
        chosen = table.without_constant(table.candidates(configured, None), configured, sample)
    # One value (a missing value counts as one) teaches a GAN nothing, whatever the column's kind (a
    # purchase-only log's event_type too): every synthetic row takes that value.
    assert chosen.continuous == ("price",)
    assert chosen.categorical == ("category",)
    assert (
        "gan.continuous not set: chose ['price'] (left out, one value in the training rows: ['hour', 'quantity'])"
        in caplog.text
    )
    assert (
        "gan.categorical not set: chose ['category'] (left out, one value in the training rows: ['dow', "
        "'event_type', 'segment'])" in caplog.text
    )
    every = table.candidates(configured, None)
    assert table.constants(every, chosen, sample) == {
        "quantity": 1.0, "hour": None, "event_type": "purchase", "dow": "1", "segment": None,
    }  # fmt: skip
    # Columns the user set are kept, constant or not.
    mine = GanConfig(continuous=("quantity",), categorical=("event_type", "dow"))
    assert table.without_constant(table.candidates(mine, None), mine, sample) == mine
