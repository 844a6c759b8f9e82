"""Order-independent digests of a lake's data tables: the behaviour-unchanged check of a redesign.

A table's digest is the SHA-256 of its schema and of its rows, each row rendered with its doubles
rounded to ``PLACES`` decimal places and the rows sorted, so it depends on neither row order nor file
layout; ``*_at`` wall-clock columns (ingest and run times) are left out. The recorded digests live in
tests/data/behaviour_digests.json; a test that finds other digests writes the ones it found beside its
lake and names the tables that differ.

A table decoded from a trained network (``DECODED``: the GAN's synthetic events) cannot be pinned to the
bit: the network's weights differ in their last bits between CPUs (BLAS and vector kernels) and thread
counts, and a decoded price then lands on the other side of a cent now and then (measured: 1 of 400
prices moved by 0.01 between 1 and 2 torch threads; two CI runs on different hosts found two digests).
Its digest covers its other columns exactly; its doubles and timestamps are recorded per row (ordered by
the table's key) and compared within ``REL_TOLERANCE`` / ``ABS_TOLERANCE`` (``SECONDS_TOLERANCE`` for
timestamps).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark.lake import Lake
from recaug_spark.schema import GOLD_SYNTHETIC, LAKE_TABLES, LOCKS, PIPELINE_RUNS
from tests.helpers import rows_of

DIGESTS = Path(__file__).parent / "data" / "behaviour_digests.json"
DATA_TABLES = [t for t in LAKE_TABLES if t not in (PIPELINE_RUNS, LOCKS)]
PLACES = 9  # summation order may move a double by ~1e-16; nine places leave that out and keep the rest
DECODED = {GOLD_SYNTHETIC: "event_id"}  # table -> the key its decoded values are ordered by
REL_TOLERANCE, ABS_TOLERANCE = 1e-3, 0.011  # doubles: a cent and a bit
SECONDS, SECONDS_TOLERANCE = " (epoch s)", 1.0  # timestamps, recorded as epoch seconds: within a second
VALUES = " values"  # suffix of the entry that holds a DECODED table's values


def table_digests(spark: SparkSession, root: Path, tables: list[str] = DATA_TABLES) -> dict[str, Any]:
    """{table: digest} for every table of ``tables`` that exists in the lake at ``root`` ("absent" if not);
    a DECODED table adds ``"<table> values"``: {column: its values in key order} for its decoded columns."""
    lake = Lake(spark, str(root))
    digests: dict[str, Any] = {}
    for table in tables:
        if not lake.exists(table):
            digests[table] = "absent"
            continue
        frame = lake.read(table)
        frame = frame.drop(*[c for c in frame.columns if c.endswith("_at")])
        if table in DECODED:
            decoded = [f.name for f in frame.schema.fields if isinstance(f.dataType, (T.DoubleType, T.TimestampType))]
            digests[table + VALUES] = _decoded_values(frame, DECODED[table], decoded)
            frame = frame.drop(*decoded)
        rows = sorted(repr(row) for row in rows_of(frame, places=PLACES).elements())
        content = "\n".join([frame.schema.simpleString(), *rows]).encode()
        digests[table] = f"{hashlib.sha256(content).hexdigest()} ({len(rows)} rows)"
    return digests


def _decoded_values(frame: DataFrame, key: str, columns: list[str]) -> dict[str, list[float | None]]:
    """{column: values ordered by ``key``}; a timestamp column as epoch seconds, named with SECONDS."""
    names = {f.name: f.name + (SECONDS if isinstance(f.dataType, T.TimestampType) else "") for f in frame.schema.fields}
    numeric = [F.col(c).cast("double").alias(names[c]) for c in columns]  # a timestamp casts to epoch seconds
    rows = frame.select(key, *numeric).orderBy(key).collect()
    return {names[c]: [r[names[c]] for r in rows] for c in columns}


def _close(found: Any, recorded: Any) -> bool:
    """Equal, or for decoded values: the same columns and rows, each value within the tolerances."""
    if not isinstance(found, dict) or not isinstance(recorded, dict):
        return bool(found == recorded)
    if found.keys() != recorded.keys() or any(len(found[c]) != len(recorded[c]) for c in found):
        return False

    def near(a: float | None, b: float | None, seconds: bool) -> bool:
        if a is None or b is None:
            return a is b
        if seconds:
            return abs(a - b) <= SECONDS_TOLERANCE
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)

    return all(near(a, b, c.endswith(SECONDS)) for c in found for a, b in zip(found[c], recorded[c], strict=True))


def assert_recorded(name: str, found: dict[str, Any], where: Path) -> None:
    """``found`` matches the digests recorded under ``name``; else write them to ``where`` and fail."""
    recorded = json.loads(DIGESTS.read_text()).get(name, {}) if DIGESTS.exists() else {}
    differ = sorted(t for t in found.keys() | recorded.keys() if not _close(found.get(t), recorded.get(t)))
    if differ:
        where.write_text(json.dumps({name: found}, indent=2, sort_keys=True) + "\n")
        raise AssertionError(f"{name}: the tables {differ} differ from {DIGESTS.name}; found digests in {where}")
