"""The generator's training sample from the lake: the GAN table's bounded training rows and holdout.

The training table (gan/table.py: training rows only, the leakage rule) is sampled in Spark to
``gan.max_rows`` rows plus a holdout of ``gan.holdout_rows``, both chosen by a hash of the event id and
read at the given Delta versions; only that bounded sample reaches the driver, as Arrow batches.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recaug_spark import source_columns
from recaug_spark.config import GanConfig, RecaugConfig
from recaug_spark.errors import ConfigError, InputError
from recaug_spark.gan import table as gan_table
from recaug_spark.lake import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSample:
    """The GAN config with its columns chosen, the selection (stored in the artifact), the table's size,
    and the training rows and holdout on the driver (``event_id`` plus the GAN columns)."""

    gan: GanConfig
    selection: gan_table.Selection
    total: int
    sample: pd.DataFrame
    holdout: pd.DataFrame
    constants: Mapping[str, Any]  # the columns left out for one value, and that value


def training_sample(lake: Lake, cfg: RecaugConfig, inputs: Mapping[str, int]) -> TrainingSample:
    """Sample the GAN's training table at the ``inputs`` versions and settle its columns.

    Raises:
        InputError: the table has fewer than ``2 x gan.model.pac`` rows.
        ConfigError: a continuous column has no value in the training rows.

    Example:
        ``training_sample(lake, cfg, lake.versions(gan_table.INPUTS)).sample``
    """
    candidates = gan_table.candidates(cfg.gan, source_columns.provided(cfg.source))
    table = gan_table.gan_table(gan_table.training_view(lake, inputs), candidates)
    total = table.count()
    minimum = 2 * cfg.gan.model.pac
    if total < minimum:
        raise InputError(
            f"the GAN's training table has {total} rows; at least {minimum} are needed (gan.model.pac x 2)"
        )
    selection = gan_table.Selection.plan(total, cfg.gan, seed=cfg.run.seed)
    sample = gan_table.to_pandas(selection.training(table), candidates)
    holdout = gan_table.to_pandas(selection.holdout(table), candidates)
    log.info("train-gan: %d training rows, %d held out, of %d", len(sample), len(holdout), total)
    gan = gan_table.without_constant(candidates, cfg.gan, sample)
    constants = gan_table.constants(candidates, gan, sample)
    if not gan_table.names(gan):
        raise ConfigError(
            "gan", f"every column of the GAN's table holds one value in the training rows ({constants}): nothing to "
            "learn. Map more columns in the source (source.events.columns), or name them in gan.continuous and "
            "gan.categorical",
        )  # fmt: skip
    sample, holdout = (frame[["event_id", *gan_table.names(gan)]] for frame in (sample, holdout))
    empty = [c for c in gan.continuous or () if sample[c].isna().all()]
    if empty:
        raise ConfigError(
            "gan.continuous",
            f"{empty} have no values in the training rows (does the source have them?); "
            "leave them out of gan.continuous",
        )
    return TrainingSample(gan, selection, total, sample, holdout, constants)
