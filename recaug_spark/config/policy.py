"""Section ``policy``: whether stage policy searches for the augmentation that lifts each model, and how
(recaug_spark/policy/).

A section of its own, not keys of ``augment``: the augment stage's output does not depend on them, and
a stage reruns when its sections' hash changes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat

from recaug_spark.config.types import Frozen, ModelName

SEARCHABLE = ("sasrec",)
"""The models the search can train (step-budgeted ones)."""


class PolicyConfig(Frozen):
    """Stage policy: the candidates (one factor at a time around each op of ``augment.ops`` and the
    recipe), the budget of the successive-halving search, the do-no-harm rule and the policy slice."""

    mode: Literal["auto", "fixed"] = Field(
        "auto",
        description="auto: stage policy searches, on a slice of the training period, for the candidate (ops, "
        "strength, weight, users, mode) that lifts each model of policy.models, or decides none; fixed: no "
        "search, the ops as configured.",
    )
    models: tuple[Literal["sasrec"], ...] | None = Field(
        None,
        description="Models the policy is searched for (each must be in evaluate.models; so far the search trains "
        "SASRec); null = those of evaluate.models it can train.",
    )
    strengths: tuple[PositiveFloat, ...] = Field(
        (0.5, 2.0), description="Multipliers of an op's strength parameter tried besides x1."
    )
    weights: tuple[PositiveFloat, ...] = Field(
        (0.5, 1.0), min_length=1, description="Weights of the augmented rows tried (the first is the base)."
    )
    targets: tuple[Literal["all", "short", "cold"], ...] = Field(
        ("all", "short", "cold"),
        min_length=1,
        description="Whose rows are augmented: all users, short histories, cold users (the first is the base).",
    )
    modes: tuple[Literal["mixed", "pretrain"], ...] = Field(
        ("mixed", "pretrain"),
        min_length=1,
        description="mixed: real and augmented rows throughout; pretrain: real + augmented, then real only "
        "(the first is the base).",
    )
    pretrain_share: float = Field(0.3, gt=0, lt=1, description="Share of the steps a pretrain candidate pre-trains.")
    budget: float = Field(
        4.0,
        ge=3,
        description="The search's steps in units of one full training on real: real twice (its seed and the "
        "replication's), the replicated candidate once, successive halving within the rest.",
    )
    eta: int = Field(3, ge=2, description="Successive halving: 1 / eta of a rung's candidates go on.")
    first_rung: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Successive halving: the least share of one full training a candidate trains before it can "
        "be dropped (fewer candidates are admitted to afford it): an augmentation can slow early learning and "
        "lift the trained model.",
    )
    harm: float = Field(
        0.01, ge=0, description="Do no harm: no all-users interval may reach below -harm x real's mean."
    )
    max_users: int = Field(50_000, ge=1, description="Policy-slice users scored, a keyed hash sample.")
    valid_days: int = Field(
        7, ge=1, description="Global splits: the training period's last days form the policy slice."
    )
    ablation: tuple[ModelName, ...] = Field(
        (),
        description="Models also trained on the fit rows alone and with each op of augment.ops alone, compared "
        "on the policy slice (the validation half of a per-op ablation; evaluate.ablation is its test half); "
        "empty: none.",
    )
