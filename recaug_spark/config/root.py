"""The whole configuration of a run (:class:`RecaugConfig`: one field per section) and its stable hashes."""

from __future__ import annotations

import hashlib
import json

from pydantic import Field, model_validator

from recaug_spark.config.augment import AugmentConfig
from recaug_spark.config.evaluate import EvaluateConfig
from recaug_spark.config.gan import GanConfig, GenerateConfig
from recaug_spark.config.infrastructure import LakeConfig, RunConfig, SparkConfig
from recaug_spark.config.ingest import IngestConfig
from recaug_spark.config.maintain import MaintainConfig
from recaug_spark.config.policy import SEARCHABLE, PolicyConfig
from recaug_spark.config.preprocess import PreprocessConfig
from recaug_spark.config.refresh import RefreshConfig
from recaug_spark.config.source import SourceConfig
from recaug_spark.config.split import SplitConfig
from recaug_spark.config.types import Frozen


class RecaugConfig(Frozen):
    """The whole validated configuration of one run."""

    lake: LakeConfig = Field(LakeConfig(), description="Where the lake lives.")
    spark: SparkConfig = Field(..., description="How the SparkSession is built.")
    run: RunConfig = Field(RunConfig(), description="Settings shared by every stage of a run.")
    ingest: IngestConfig = Field(IngestConfig(), description="Validation limits of ingest, for every source.")
    preprocess: PreprocessConfig = Field(PreprocessConfig(), description="Stage preprocess: bronze -> silver.")
    split: SplitConfig = Field(SplitConfig(), description="Stage split: train/test and cold-start labels.")
    augment: AugmentConfig = Field(AugmentConfig(), description="Stage augment: the ops over the training rows.")
    gan: GanConfig = Field(GanConfig(), description="Stage train-gan: the conditional WGAN-GP.")
    generate: GenerateConfig = Field(GenerateConfig(), description="Stage generate: synthetic events.")
    policy: PolicyConfig = Field(PolicyConfig(), description="Stage policy: the augmentation that lifts each model.")
    evaluate: EvaluateConfig = Field(EvaluateConfig(), description="Stage evaluate: recommenders per variant.")
    maintain: MaintainConfig = Field(MaintainConfig(), description="Stage maintain: OPTIMIZE and VACUUM.")
    refresh: RefreshConfig = Field(RefreshConfig(), description="Stage refresh: which stages run, and the lock.")
    source: SourceConfig = Field(..., description="What ingest reads: the demo shop or delimited files.")

    @model_validator(mode="after")
    def _searched_models_are_evaluated(self) -> RecaugConfig:
        missing = [m for m in self.policy.models or () if m not in self.evaluate.models]
        if self.policy.mode == "auto" and missing:
            raise ValueError(
                f"policy.models {missing} are not in evaluate.models {list(self.evaluate.models)}: add them "
                "there, or leave them out of policy.models"
            )
        return self

    @property
    def policy_models(self) -> tuple[str, ...]:
        """The models stage policy searches for: none with ``policy.mode: fixed``."""
        if self.policy.mode == "fixed":
            return ()
        chosen = self.policy.models
        return chosen if chosen is not None else tuple(m for m in self.evaluate.models if m in SEARCHABLE)

    def config_hash(self) -> str:
        """A short, stable hash of the whole configuration (values only: descriptions do not enter it)."""
        return self.section_hash(*type(self).model_fields)

    def section_hash(self, *sections: str) -> str:
        """A short, stable hash of some sections (what one stage's output depends on).

        Example:
            >>> cfg = RecaugConfig.model_validate({"spark": {"delta_version": "4.4.0"}, "source": {"kind": "demo"}})
            >>> cfg.section_hash("source") == cfg.model_copy(update={"run": RunConfig(seed=1)}).section_hash("source")
            True
        """
        dumped = self.model_dump(mode="json")
        canonical = json.dumps({s: dumped[s] for s in sections}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
