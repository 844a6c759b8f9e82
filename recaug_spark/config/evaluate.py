"""Section ``evaluate``: the data variants, the recommenders (ALS, item-kNN, SASRec with its contrastive task)
and how they are compared."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from recaug_spark.augment import ops
from recaug_spark.config.augment import AugmentOp, CropOp, FromRegistry, MaskOp, ReorderOp, op_union
from recaug_spark.config.gan import DistributedConfig
from recaug_spark.config.types import Frozen, ModelName, PositiveInt

Variant = Literal["real", "real+augmented", "real+synthetic", "real+both", "real+contrastive", "real+policy"]


class AlsConfig(Frozen):
    """Spark ML ALS with implicit feedback (the feedback strength is the rating)."""

    rank: int = Field(32, ge=1, description="Latent factors per user and item.")
    reg_param: float = Field(0.05, ge=0, description="L2 regularization.")
    alpha: float = Field(10.0, ge=0, description="Confidence = 1 + alpha x strength.")
    max_iter: int = Field(10, ge=1, description="Alternating iterations.")
    blocks: int = Field(4, ge=1, description="User and item blocks (fixed, so results do not follow the cluster).")


# The ops that can make a contrastive view, in registration order (the reference documents these).
VIEW_OPS: tuple[str, ...] = tuple(name for name, op in ops.OPS.items() if op.view)

# Tagged like OpSpec ("<crop>"), so that an error's location drops the tag and names the key.
if TYPE_CHECKING:  # built from the registry at run time, like OpSpec
    ViewOp = AugmentOp
else:
    ViewOp = Annotated[op_union(views=True), FromRegistry(views=True)]


class ContrastiveConfig(Frozen):
    """CL4SRec's contrastive task (Xie et al., ICDE 2022), for the variant ``real+contrastive``: two views of
    each training sequence, each made by one op drawn uniformly from ``ops`` (the augment kernels, on
    the fly per batch), and an InfoNCE loss over the batch pulling a sequence's two views together;
    the loss is next-item cross-entropy + ``lambda`` x InfoNCE. Defaults: CL4SRec's (crop 0.6, mask
    0.3, reorder 0.6; RecBole's lambda 0.1, tau 1, dot-product similarity)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, populate_by_name=True)

    weight: float = Field(0.1, alias="lambda", ge=0, description="lambda: weight of the InfoNCE loss.")
    tau: float = Field(1.0, gt=0, description="Temperature of the InfoNCE softmax.")
    similar_top_k: int = Field(
        10, ge=1, description="Substitute and insert: similar items per item (co-occurrence in sessions)."
    )
    similar_window: int | None = Field(
        None, ge=1, description="Substitute and insert: similar items as augment.similar_window defines them."
    )
    ops: tuple[ViewOp, ...] = Field(
        (CropOp(op="crop", eta=0.6), MaskOp(op="mask", gamma=0.3, token="[mask]"), ReorderOp(op="reorder", beta=0.6)),
        min_length=1,
        description="The ops a view is made with, one drawn uniformly per view (crop, mask, reorder, substitute, "
        "insert; a mask token is a learned embedding).",
    )


class SasrecConfig(Frozen):
    """SASRec (Kang and McAuley, 2018): causal self-attention over a user's recent items, trained to
    predict the next item at every position of every window of a history, with sampled softmax over
    shared negatives (logQ-corrected), a budget of optimizer steps and early stopping on the validation
    MRR over the full catalogue. Defaults chosen on validation slices (Beauty's and the demo's):
    docs/stages.md#sasrec."""

    max_len: int = Field(50, ge=2, le=1_000, description="A user's most recent items the model reads.")
    hidden: int = Field(64, ge=2, description="Embedding and hidden size (a multiple of heads).")
    inner: int = Field(256, ge=1, description="Feed-forward size of each block.")
    layers: int = Field(2, ge=1, le=12, description="Causal self-attention blocks.")
    heads: int = Field(2, ge=1, le=16, description="Attention heads per block.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout of embeddings, attention and feed-forward.")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate.")
    weight_decay: float = Field(0.0, ge=0, description="Adam weight decay.")
    batch_size: int = Field(128, ge=1, description="Training sequences per optimizer step (bucketed by length).")
    steps: int = Field(20_000, ge=1, description="The budget of optimizer steps (early stopping may end sooner).")
    min_steps: int = Field(1_000, ge=0, description="Early stopping never ends training before this many steps.")
    eval_every: int = Field(250, ge=1, description="Steps between two validations.")
    patience: int = Field(
        8, ge=1, description="Stop after this many validations in a row without a better validation MRR."
    )
    validation_users: int = Field(
        5_000,
        ge=1,
        description="Users (keyed hash sample) whose last training item is the validation target; only they "
        "train without it.",
    )
    loss: Literal["sampled_softmax", "full_softmax"] = Field(
        "sampled_softmax",
        description="sampled_softmax: cross-entropy against `negatives` items shared by the batch, logQ-corrected; "
        "full_softmax: against the whole catalogue.",
    )
    negatives: int = Field(256, ge=1, description="sampled_softmax: negatives drawn per optimizer step.")
    popularity_negatives: float = Field(
        0.0,
        ge=0,
        le=1,
        description="sampled_softmax: share of the negatives drawn by item popularity (training targets), the "
        "rest uniform; the logQ correction uses the mixture.",
    )
    collapse_repeats: bool = Field(
        True, description="Drop an event whose item repeats the previous one (a view then a cart of one item)."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Training device; auto = cuda when available.")
    threads: int | None = Field(None, ge=1, description="Torch threads on the driver; null = all cores.")
    score_batch: int = Field(512, ge=1, description="Users scored per forward pass on an executor.")
    contrastive: ContrastiveConfig = Field(
        ContrastiveConfig(), description="CL4SRec's contrastive task of the variant real+contrastive."
    )
    distributed: DistributedConfig = Field(
        DistributedConfig(), description="Data-parallel training through TorchDistributor (as gan.train.distributed)."
    )

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> SasrecConfig:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        return self


class ItemKnnConfig(Frozen):
    """Item-kNN: cosine similarity of items over the users who interacted with both."""

    neighbours: int = Field(50, ge=1, description="Most similar items kept per item.")
    max_history: int = Field(100, ge=1, description="A user's strongest items used for similarities.")


class EvaluateConfig(Frozen):
    """Stage evaluate: recommenders trained per variant, ranked over the full catalogue, compared to ``real``."""

    variants: tuple[Variant, ...] = Field(
        ("real", "real+augmented", "real+synthetic", "real+both", "real+contrastive", "real+policy"),
        description="Training data variants; real is required (the others are compared with it), real+contrastive "
        "is SASRec's, real+policy trains each model with the augmentation stage policy chose for it (the real "
        "model where it chose none).",
    )
    models: tuple[ModelName, ...] = Field(
        ("popularity", "itemknn", "als", "sasrec"),
        description="The recommenders trained per variant (names of the model registry, recommend/recommenders.py).",
    )
    ks: tuple[PositiveInt, ...] = Field((5, 10, 20), min_length=1, description="Cut-offs K of every metric (>= 1).")
    exclude_seen: bool = Field(True, description="Items a user had in training are neither recommended nor relevant.")
    augmented_weight: float = Field(0.5, ge=0, description="Strength factor of augmented rows.")
    synthetic_weight: float = Field(0.5, ge=0, description="Strength factor of synthetic rows.")
    augment_run: str | None = Field(None, description="aug_run_id to use; null = the newest.")
    generate_run: str | None = Field(None, description="gen_run_id to use; null = the newest.")
    bootstrap_resamples: int = Field(1000, ge=10, description="Poisson bootstrap replicates over users.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of every interval.")
    max_users: int | None = Field(
        None,
        ge=1,
        description="Score at most this many test users, a keyed hash sample (the same users for every variant "
        "and on any cluster); null = all of them.",
    )
    short_history_max: int = Field(
        20, ge=1, description="Segment short: warm users with at most this many training events."
    )
    ablation: bool = Field(
        False, description="Also evaluate real+<op> for each op of the augment run (that op's copies only)."
    )
    ablation_models: tuple[ModelName, ...] | None = Field(
        None, description="The models the ablation variants train; null = every model of evaluate.models."
    )
    als: AlsConfig = Field(AlsConfig(), description="ALS with implicit feedback.")
    itemknn: ItemKnnConfig = Field(ItemKnnConfig(), description="Item-kNN.")
    sasrec: SasrecConfig = Field(SasrecConfig(), description="SASRec, trained on the driver.")

    @model_validator(mode="after")
    def _real_first(self) -> EvaluateConfig:
        if "real" not in self.variants:
            raise ValueError("'real' must be one of the variants (every other variant is compared with it)")
        return self
