"""Sections ``gan`` and ``generate``: the conditional WGAN-GP that train-gan fits and generate samples from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from recaug_spark.config.types import Frozen, PositiveInt, UnitInterval


class MixtureConfig(Frozen):
    """Mode-specific normalization of continuous columns: a Gaussian mixture per column (EM)."""

    max_modes: int = Field(10, ge=1, le=50, description="Mixture components a column starts with (from quantiles).")
    weight_threshold: float = Field(0.005, ge=0, lt=1, description="Modes lighter than this are dropped.")
    sample_rows: int = Field(
        20_000, ge=100, description="The mixture is fitted on at most this many values of the column."
    )
    iterations: int = Field(100, ge=1, description="EM iterations.")


class GanModelConfig(Frozen):
    """Network sizes (CTGAN's defaults): residual blocks in the generator, a packed critic."""

    embedding_dim: int = Field(128, ge=1, description="Size of the noise vector z.")
    generator_dims: tuple[PositiveInt, ...] = Field(
        (256, 256), min_length=1, description="Width of each residual block of the generator."
    )
    critic_dims: tuple[PositiveInt, ...] = Field(
        (256, 256), min_length=1, description="Width of each hidden layer of the critic."
    )
    pac: int = Field(10, ge=1, description="PacGAN: rows the critic judges together.")
    dropout: float = Field(0.5, ge=0, lt=1, description="Dropout of the critic's hidden layers.")


class DistributedConfig(Frozen):
    """Data-parallel training through pyspark's TorchDistributor (0 processes = in the driver)."""

    processes: int = Field(
        0, ge=0, le=64, description="Training processes, gradients all-reduced; 0 = one process in the driver."
    )
    local_mode: bool = Field(True, description="Processes on the driver (true) or on the executors (false).")


class GanTrainConfig(Frozen):
    """WGAN-GP training: min_G max_D E[D(x)] - E[D(G(z))] - lambda * gradient penalty."""

    batch_size: int = Field(500, ge=2, description="Rows per step (a multiple of model.pac).")
    critic_steps: int = Field(1, ge=1, description="Critic updates per generator update.")
    generator_lr: float = Field(2e-4, gt=0, description="Adam learning rate of the generator.")
    critic_lr: float = Field(2e-4, gt=0, description="Adam learning rate of the critic.")
    betas: tuple[UnitInterval, UnitInterval] = Field((0.5, 0.9), description="Adam's beta1, beta2 (in [0, 1)).")
    weight_decay: float = Field(1e-6, ge=0, description="Adam weight decay of both networks.")
    gp_lambda: float = Field(10.0, ge=0, description="Weight lambda of the gradient penalty.")
    probe_rows: int = Field(2_000, ge=100, description="Rows sampled for each fidelity probe against the holdout.")
    probe_every: int = Field(1, ge=1, description="Epochs between fidelity probes.")
    patience: int = Field(5, ge=1, description="Stop after this many probes without a better fidelity.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Training device; auto = cuda when available.")
    threads: int | None = Field(None, ge=1, description="Torch threads on the driver; null = torch's default.")
    distributed: DistributedConfig = Field(
        DistributedConfig(), description="Data-parallel training through TorchDistributor."
    )


class GanConfig(Frozen):
    """Stage train-gan: the training table, its transformer, the networks and the training loop.

    The table is the training-period events joined with the user profile (bronze/users): any column of
    silver/events, ``segment``, ``profile.<field>`` (a user attribute) or ``attrs.<field>`` (an event
    attribute). ``event_type`` is required (every synthetic event needs a type).
    """

    continuous: tuple[str, ...] | None = Field(
        None,
        description="Continuous columns of the GAN's table. null = price, quantity, hour: those the source fills "
        "and whose training values vary.",
    )
    categorical: tuple[str, ...] | None = Field(
        None,
        description="Categorical columns (event_type required). null = event_type, category, dow, segment: those "
        "the source fills and whose training values vary (a column with one value is left out, whatever its "
        "kind, and every synthetic row takes that value).",
    )
    epochs: int = Field(30, ge=1, description="The epoch budget (early stopping may end sooner).")
    top_k: int = Field(30, ge=1, le=10_000, description="Levels kept per categorical column (the rest become <other>).")
    max_rows: int = Field(
        50_000, ge=100, description="Training rows sampled (by a keyed hash of event_id, deterministic)."
    )
    holdout_rows: int = Field(
        5_000, ge=10, description="Held-out real rows, never trained on, for the probe and the privacy check."
    )
    mixture: MixtureConfig = Field(MixtureConfig(), description="Mode-specific normalization of continuous columns.")
    model: GanModelConfig = Field(GanModelConfig(), description="Network sizes.")
    train: GanTrainConfig = Field(GanTrainConfig(), description="The WGAN-GP training loop.")
    retrain: bool = Field(False, description="Train even when a generator for the same inputs and config exists.")

    @model_validator(mode="after")
    def _columns(self) -> GanConfig:
        both = sorted(set(self.continuous or ()) & set(self.categorical or ()))
        if both:
            raise ValueError(f"column(s) {both} are both continuous and categorical")
        if self.categorical is not None and "event_type" not in self.categorical:
            raise ValueError("'event_type' must be one of the categorical columns (synthetic events need a type)")
        if self.train.batch_size % self.model.pac:
            raise ValueError(f"train.batch_size ({self.train.batch_size}) must be a multiple of model.pac")
        return self


class ConditionConfig(Frozen):
    """What the generator is conditioned on.

    ``sampled``: a categorical column and level per row, drawn from the training frequencies;
    ``fixed``: one column set to one level (``column``, ``level``) for every row;
    ``cold_users``: every row belongs to a cold-start user (silver/split) and is conditioned on that
    user's ``column`` (a user column of the GAN table, e.g. segment).
    """

    mode: Literal["sampled", "fixed", "cold_users"] = Field(
        "sampled",
        description="sampled: a column and level per row from the training frequencies; fixed: column = level "
        "for every row; cold_users: rows of cold-start users, conditioned on their column.",
    )
    column: str | None = Field(
        None,
        description="Modes fixed and cold_users: the categorical column conditioned on (cold_users: a user column).",
    )
    level: str | None = Field(None, description="Mode fixed: the level every row gets.")

    @model_validator(mode="after")
    def _needs(self) -> ConditionConfig:
        if self.mode == "fixed" and (self.column is None or self.level is None):
            raise ValueError("mode 'fixed' needs 'column' and 'level'")
        if self.mode == "cold_users" and self.column is None:
            raise ValueError("mode 'cold_users' needs 'column' (a user column such as segment)")
        return self


class GenerateConfig(Frozen):
    """Stage generate: synthetic events from the trained generator, on the executors."""

    rows: int = Field(100_000, ge=1, le=10_000_000_000, description="Synthetic rows requested.")
    batch_rows: int = Field(
        10_000, ge=1, le=1_000_000, description="Rows per generator call (one batch id and seed each)."
    )
    partitions: int | None = Field(
        None, ge=1, description="Partitions of spark.range; null = the session's default parallelism."
    )
    version: str | None = Field(None, description="Generator version; null = the newest for this config.")
    condition: ConditionConfig = Field(ConditionConfig(), description="What the generator is conditioned on.")
    users: Literal["existing", "new"] = Field(
        "existing", description="existing: ids drawn under the row's user columns; new: new ids `syn:<version>:...`"
    )
    rows_per_new_user: int = Field(20, ge=1, description="Users new: rows per new user id.")
    candidates_per_level: int = Field(
        1_000, ge=1, description="Most frequent training items (and users) kept per level to draw from."
    )
    max_condition_users: int = Field(
        100_000, ge=1, description="Mode cold_users: at most this many cold-start users broadcast (hash-ordered)."
    )
    constraints: tuple[str, ...] = Field(
        ("price IS NULL OR price > 0", "quantity IS NULL OR quantity > 0"),
        description="SQL conditions a synthetic row must meet (the rest are rejected and counted).",
    )
    quality_rows: int = Field(10_000, ge=100, description="Rows of each side compared by the quality report.")
    keep_runs: int = Field(3, ge=1, description="Generate runs kept in gold/synthetic_events (older ones deleted).")
