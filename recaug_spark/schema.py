"""Canonical table names and schemas of the lake (DESIGN.md, "Lake layout" and "Canonical event schema")."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from recaug_spark.errors import SchemaError

BRONZE_EVENTS = "bronze/events"
BRONZE_ITEMS = "bronze/items"
BRONZE_USERS = "bronze/users"
BRONZE_QUARANTINE = "bronze/quarantine"
BRONZE_FILES = "bronze/ingested_files"
PIPELINE_RUNS = "gold/pipeline_runs"
SILVER_EVENTS = "silver/events"
SILVER_STATS = "silver/norm_stats"
SILVER_USER_FEATURES = "silver/user_features"
SILVER_ITEM_FEATURES = "silver/item_features"
SILVER_FEEDBACK = "silver/feedback"
SILVER_SPLIT = "silver/split"
GOLD_AUGMENTED = "gold/augmented_events"
GOLD_SYNTHETIC = "gold/synthetic_events"
GOLD_EVAL = "gold/eval_metrics"
GOLD_POLICY = "gold/augment_policy"
LOCKS = "gold/locks"
# The run-id column that partitions each run-scoped gold table (a run replaces its own partition).
AUGMENT_RUN = "aug_run_id"
GENERATE_RUN = "gen_run_id"
# Every Delta table of the lake layout, in pipeline order (what `recaug maintain` looks after).
LAKE_TABLES = (
    BRONZE_EVENTS, BRONZE_ITEMS, BRONZE_USERS, BRONZE_QUARANTINE, BRONZE_FILES,
    SILVER_EVENTS, SILVER_STATS, SILVER_USER_FEATURES, SILVER_ITEM_FEATURES, SILVER_FEEDBACK, SILVER_SPLIT,
    GOLD_AUGMENTED, GOLD_SYNTHETIC, GOLD_POLICY, GOLD_EVAL, PIPELINE_RUNS, LOCKS,
)  # fmt: skip

_STRING_MAP = T.MapType(T.StringType(), T.StringType())

EVENTS = T.StructType(
    [
        T.StructField("event_id", T.StringType(), False),
        T.StructField("user_id", T.StringType(), False),
        T.StructField("item_id", T.StringType(), False),
        T.StructField("event_type", T.StringType(), False),
        T.StructField("ts", T.TimestampType(), False),
        T.StructField("event_date", T.DateType(), False),
        T.StructField("quantity", T.DoubleType(), True),
        T.StructField("price", T.DoubleType(), True),
        T.StructField("session_id", T.StringType(), True),
        T.StructField("source", T.StringType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("ingested_at", T.TimestampType(), False),
        # extras: raw fields kept as strings, and the names of the flag rules a row matched
        T.StructField("attrs", _STRING_MAP, True),
        T.StructField("quality_flags", T.ArrayType(T.StringType()), True),
    ]
)

ITEMS = T.StructType(
    [
        T.StructField("item_id", T.StringType(), False),
        T.StructField("category", T.StringType(), True),
        T.StructField("brand", T.StringType(), True),
        T.StructField("department", T.StringType(), True),
        T.StructField("price", T.DoubleType(), True),
        T.StructField("source", T.StringType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("ingested_at", T.TimestampType(), False),
        T.StructField("attrs", _STRING_MAP, True),
    ]
)

USERS = T.StructType(
    [
        T.StructField("user_id", T.StringType(), False),
        T.StructField("segment", T.StringType(), True),
        T.StructField("source", T.StringType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("ingested_at", T.TimestampType(), False),
        T.StructField("attrs", _STRING_MAP, True),  # profile fields
    ]
)

QUARANTINE = T.StructType(
    [
        T.StructField("record_id", T.StringType(), False),
        T.StructField("source", T.StringType(), False),
        T.StructField("table_name", T.StringType(), False),
        T.StructField("source_file", T.StringType(), True),
        T.StructField("raw_record", T.StringType(), True),
        # exact bytes (base64) when the record was not valid UTF-8 or was cut to max_raw_length
        T.StructField("raw_base64", T.StringType(), True),
        T.StructField("reason", T.StringType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("ingested_at", T.TimestampType(), False),
    ]
)

INGESTED_FILES = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("table_name", T.StringType(), False),
        T.StructField("path", T.StringType(), False),
        T.StructField("size", T.LongType(), False),
        T.StructField("modification_time", T.LongType(), False),
        T.StructField("batch_id", T.StringType(), False),
        T.StructField("ingested_at", T.TimestampType(), False),
    ]
)

# gold/locks: one row per held lock (locks.py); ``beats`` counts heartbeats, so a takeover can tell
# whether the row it judged stale is still the row it replaces.
LOCKS_SCHEMA = T.StructType(
    [
        T.StructField("lock_key", T.StringType(), False),
        T.StructField("owner", T.StringType(), False),
        T.StructField("token", T.StringType(), False),
        T.StructField("host", T.StringType(), False),
        T.StructField("pid", T.LongType(), False),
        T.StructField("acquired_at", T.TimestampType(), False),
        T.StructField("heartbeat_at", T.TimestampType(), False),
        T.StructField("beats", T.LongType(), False),
    ]
)

PIPELINE_RUNS_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("stage", T.StringType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("started_at", T.TimestampType(), False),
        T.StructField("finished_at", T.TimestampType(), True),
        T.StructField("input_versions", T.MapType(T.StringType(), T.LongType()), True),
        T.StructField("output_versions", T.MapType(T.StringType(), T.LongType()), True),
        T.StructField("row_counts", T.MapType(T.StringType(), T.LongType()), True),
        T.StructField("config_hash", T.StringType(), False),
        T.StructField("message", T.StringType(), True),
        T.StructField("spark_master", T.StringType(), True),
        T.StructField("recaug_version", T.StringType(), True),
    ]
)


FITTED_STATS = T.StructType(
    [
        T.StructField("kind", T.StringType(), False),  # normalize | impute | fence | bot
        T.StructField("name", T.StringType(), False),  # output column, imputed column or rule
        T.StructField("column", T.StringType(), True),
        T.StructField("method", T.StringType(), True),
        T.StructField("partition_by", T.ArrayType(T.StringType()), False),
        T.StructField("key", _STRING_MAP, False),  # partition values; empty = overall (the fallback)
        T.StructField("stats", T.MapType(T.StringType(), T.DoubleType()), True),
        T.StructField("label", T.StringType(), True),  # a categorical fill value
        T.StructField("version", T.StringType(), False),  # fingerprint of the fit (config + training rows)
    ]
)

SPLIT = T.StructType(
    [
        T.StructField("event_id", T.StringType(), False),
        T.StructField("user_id", T.StringType(), False),
        T.StructField("item_id", T.StringType(), False),
        T.StructField("ts", T.TimestampType(), False),
        T.StructField("event_date", T.DateType(), False),
        T.StructField("split", T.StringType(), False),  # train | test
        T.StructField("user_train_events", T.LongType(), False),
        T.StructField("user_segment", T.StringType(), False),  # cold | warm
        T.StructField("user_seen", T.BooleanType(), False),
        T.StructField("item_seen", T.BooleanType(), False),
        T.StructField("split_version", T.StringType(), False),
    ]
)

# gold/augmented_events: the canonical event columns a transform can produce (the bronze audit columns
# batch_id and ingested_at are the augment run's), lineage, and any extra numeric column an op rewrote.
AUGMENTED_EVENTS = T.StructType(
    [
        *[EVENTS[name] for name in ("event_id", "user_id", "item_id", "event_type", "ts", "event_date")],
        *[EVENTS[name] for name in ("quantity", "price", "session_id", "source", "batch_id", "ingested_at", "attrs")],
        T.StructField("source_event_id", T.StringType(), False),  # the training event it derives from
        T.StructField("aug_ops", T.ArrayType(T.StringType()), False),  # "<index>:<op>(<parameters>)"
        T.StructField("aug_copy", T.IntegerType(), False),
        T.StructField(AUGMENT_RUN, T.StringType(), False),
        T.StructField("is_synthetic", T.BooleanType(), False),
    ]
)

# gold/synthetic_events: generator output in canonical form; the generated columns without a canonical
# column of their own (category, segment, hour, ...) are kept as strings in attrs.
SYNTHETIC_EVENTS = T.StructType(
    [
        *[EVENTS[name] for name in ("event_id", "user_id")],
        T.StructField("item_id", T.StringType(), True),
        *[EVENTS[name] for name in ("event_type", "ts", "event_date", "quantity", "price", "session_id", "source")],
        *[EVENTS[name] for name in ("batch_id", "ingested_at", "attrs")],
        T.StructField("generator_version", T.StringType(), False),
        T.StructField(GENERATE_RUN, T.StringType(), False),
        T.StructField("is_synthetic", T.BooleanType(), False),
    ]
)

# gold/eval_metrics: one row per (run, variant, model, segment, metric, k): the mean over the segment's
# users with its bootstrap interval, and for variants other than real the difference with real.
EVAL_METRICS = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("variant", T.StringType(), False),
        T.StructField("model", T.StringType(), False),
        T.StructField("segment", T.StringType(), False),
        T.StructField("metric", T.StringType(), False),
        T.StructField("k", T.IntegerType(), True),  # null for mrr
        T.StructField("value", T.DoubleType(), True),
        T.StructField("ci_low", T.DoubleType(), True),
        T.StructField("ci_high", T.DoubleType(), True),
        T.StructField("difference", T.DoubleType(), True),  # value - real's value (same users); null for real
        T.StructField("diff_ci_low", T.DoubleType(), True),
        T.StructField("diff_ci_high", T.DoubleType(), True),
        T.StructField("lift", T.DoubleType(), True),  # difference / real's value
        T.StructField("p_value", T.DoubleType(), True),
        T.StructField("n_users", T.LongType(), False),
    ]
)

# gold/augment_policy: the policy search's evidence, one row per (model, candidate, segment, rung); the
# candidate's augmentation (its op specs as JSON, weight, target users, SASRec mode) so that evaluate can
# apply the chosen one; ``chosen`` marks the chosen candidate's lifted segments (confirmation half).
AUGMENT_POLICY = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("model", T.StringType(), False),
        T.StructField("candidate", T.StringType(), False),
        T.StructField("segment", T.StringType(), False),
        T.StructField("steps", T.IntegerType(), False),  # both the candidate and real trained this many steps
        T.StructField("users", T.LongType(), False),
        T.StructField("value", T.DoubleType(), False),  # the candidate's NDCG@10 on the policy slice
        T.StructField("real", T.DoubleType(), False),  # real's, same users, same steps
        T.StructField("difference", T.DoubleType(), False),
        T.StructField("ci_low", T.DoubleType(), False),
        T.StructField("ci_high", T.DoubleType(), False),
        T.StructField("sample", T.StringType(), False),  # selection (promotes) or confirmation (decides)
        T.StructField("chosen", T.BooleanType(), False),
        T.StructField("ops", T.StringType(), False),
        T.StructField("weight", T.DoubleType(), False),
        T.StructField("target", T.StringType(), False),
        T.StructField("mode", T.StringType(), False),
    ]
)


def require_columns(df: DataFrame, table: str, columns: Iterable[str]) -> None:
    """Check, without running a job, that ``df`` has ``columns``.

    Raises:
        SchemaError: listing the missing and the present columns.
    """
    present = df.columns
    missing = [c for c in columns if c not in present]
    if missing:
        raise SchemaError(table, missing, present)
