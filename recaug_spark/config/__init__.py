"""Typed, validated configuration: frozen pydantic models, one module per section, loaded from YAML layers.

``load_config`` (loader.py) merges the packaged defaults, each ``--conf`` file and the ``--set``
overrides, expands ``${ENV}`` references and validates the result into a :class:`RecaugConfig`
(root.py). The sections live in their own modules (infrastructure, source and mapping, ingest,
preprocess, split, augment, gan, evaluate, maintain, refresh); shared field types in types.py and the
domain constants in constants.py. ``python -m recaug_spark.config.docs`` writes docs/configuration.md
from the models' field descriptions and defaults. Every public name is importable from this package.
"""

from recaug_spark.config.augment import (
    OP_MODELS,
    AugmentConfig,
    AugmentOp,
    CategoricalJitterOp,
    CropOp,
    FeatureMaskOp,
    GaussianNoiseOp,
    InsertOp,
    JitterOp,
    MaskOp,
    OpSpec,
    RandomScalingOp,
    ReorderOp,
    RotationOp,
    SaltAndPepperOp,
    SlideWindowOp,
    SubsetSplitOp,
    SubstituteOp,
    TimeShiftOp,
)
from recaug_spark.config.constants import (
    EVENT_COLUMNS,
    EVENT_TYPES,
    ITEM_COLUMNS,
    REFRESH_ORDER,
    RESERVED_PREFIX,
    SAFE_RETENTION_HOURS,
    USER_COLUMNS,
    EventType,
    RefreshStage,
)
from recaug_spark.config.evaluate import (
    VIEW_OPS,
    AlsConfig,
    ContrastiveConfig,
    EvaluateConfig,
    ItemKnnConfig,
    SasrecConfig,
    Variant,
    ViewOp,
)
from recaug_spark.config.gan import (
    ConditionConfig,
    DistributedConfig,
    GanConfig,
    GanModelConfig,
    GanTrainConfig,
    GenerateConfig,
    MixtureConfig,
)
from recaug_spark.config.infrastructure import LakeConfig, RunConfig, SparkConfig
from recaug_spark.config.ingest import IngestConfig
from recaug_spark.config.loader import (
    Layer,
    Provenance,
    default_conf_dir,
    expand_env,
    load_config,
    merge_layers,
    override_layer,
    parse_value,
    read_layer,
)
from recaug_spark.config.maintain import MaintainConfig
from recaug_spark.config.mapping import (
    ColumnSpec,
    ConstSpec,
    DelimitedFormat,
    EventFiles,
    EventMapping,
    ExprSpec,
    FileInput,
    ItemFiles,
    ItemMapping,
    ItemsFromEvents,
    RuleSpec,
    TableMapping,
    TimestampSpec,
    UserFiles,
    UserMapping,
)
from recaug_spark.config.policy import PolicyConfig
from recaug_spark.config.preprocess import (
    BotRule,
    CleanConfig,
    CleanFlag,
    DuplicateRule,
    ExtremeRule,
    FeedbackConfig,
    ImputeSpec,
    NormalizeSpec,
    PreprocessConfig,
    TimeRangeRule,
)
from recaug_spark.config.refresh import RefreshConfig
from recaug_spark.config.root import RecaugConfig
from recaug_spark.config.source import CsvSource, DemoSource, SourceConfig
from recaug_spark.config.split import SplitConfig
from recaug_spark.config.types import (
    Angle,
    Frozen,
    Identifier,
    ModelName,
    NonNegativeFloat,
    PathStr,
    PositiveInt,
    UnitInterval,
    UtcDatetime,
    absolutize,
)

__all__ = [
    "EVENT_COLUMNS", "EVENT_TYPES", "ITEM_COLUMNS", "OP_MODELS", "REFRESH_ORDER", "RESERVED_PREFIX",
    "SAFE_RETENTION_HOURS", "USER_COLUMNS", "VIEW_OPS", "AlsConfig", "Angle", "AugmentConfig", "AugmentOp",
    "BotRule", "CategoricalJitterOp", "CleanConfig", "CleanFlag", "ColumnSpec", "ConditionConfig", "ConstSpec",
    "ContrastiveConfig", "CropOp", "CsvSource", "DelimitedFormat", "DemoSource", "DistributedConfig",
    "DuplicateRule", "EvaluateConfig", "EventFiles", "EventMapping", "EventType", "ExprSpec", "ExtremeRule",
    "FeatureMaskOp", "FeedbackConfig", "FileInput", "Frozen", "GanConfig", "GanModelConfig", "GanTrainConfig",
    "GaussianNoiseOp", "GenerateConfig", "Identifier", "ImputeSpec", "IngestConfig", "InsertOp", "ItemFiles",
    "ItemKnnConfig", "ItemMapping", "ItemsFromEvents", "JitterOp", "LakeConfig", "Layer", "MaintainConfig",
    "MaskOp", "MixtureConfig", "ModelName", "NonNegativeFloat", "NormalizeSpec", "OpSpec", "PathStr",
    "PolicyConfig", "PositiveInt", "PreprocessConfig", "Provenance", "RandomScalingOp", "RecaugConfig",
    "RefreshConfig", "RefreshStage", "ReorderOp", "RotationOp", "RuleSpec", "RunConfig", "SaltAndPepperOp",
    "SasrecConfig", "SlideWindowOp", "SourceConfig", "SparkConfig", "SplitConfig", "SubsetSplitOp", "SubstituteOp",
    "TableMapping", "TimeRangeRule", "TimeShiftOp", "TimestampSpec", "UnitInterval", "UserFiles", "UserMapping",
    "UtcDatetime", "Variant", "ViewOp", "absolutize", "default_conf_dir", "expand_env", "load_config",
    "merge_layers", "override_layer", "parse_value", "read_layer",
]  # fmt: skip
