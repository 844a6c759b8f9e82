"""Order-independent digests of a lake's data tables: the behaviour-unchanged check of a redesign.

A table's digest is the SHA-256 of its schema and of its rows, each row rendered with its doubles
rounded to ``PLACES`` decimal places and the rows sorted, so it depends on neither row order nor file
layout; ``*_at`` wall-clock columns (ingest and run times) are left out. The recorded digests live in
tests/data/behaviour_digests.json; a test that finds other digests writes the ones it found beside its
lake and names the tables that differ.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pyspark.sql import SparkSession

from recaug_spark.lake import Lake
from recaug_spark.schema import LAKE_TABLES, LOCKS, PIPELINE_RUNS
from tests.helpers import rows_of

DIGESTS = Path(__file__).parent / "data" / "behaviour_digests.json"
DATA_TABLES = [t for t in LAKE_TABLES if t not in (PIPELINE_RUNS, LOCKS)]
PLACES = 9  # summation order may move a double by ~1e-16; nine places leave that out and keep the rest


def table_digests(spark: SparkSession, root: Path, tables: list[str] = DATA_TABLES) -> dict[str, str]:
    """{table: digest} for every table of ``tables`` that exists in the lake at ``root`` ("absent" if not)."""
    lake = Lake(spark, str(root))
    digests = {}
    for table in tables:
        if not lake.exists(table):
            digests[table] = "absent"
            continue
        frame = lake.read(table)
        frame = frame.drop(*[c for c in frame.columns if c.endswith("_at")])
        rows = sorted(repr(row) for row in rows_of(frame, places=PLACES).elements())
        content = "\n".join([frame.schema.simpleString(), *rows]).encode()
        digests[table] = f"{hashlib.sha256(content).hexdigest()} ({len(rows)} rows)"
    return digests


def assert_recorded(name: str, found: dict[str, str], where: Path) -> None:
    """``found`` equals the digests recorded under ``name``; else write them to ``where`` and fail."""
    recorded = json.loads(DIGESTS.read_text()).get(name, {}) if DIGESTS.exists() else {}
    if recorded != found:
        where.write_text(json.dumps({name: found}, indent=2, sort_keys=True) + "\n")
        differ = sorted(t for t in found.keys() | recorded.keys() if found.get(t) != recorded.get(t))
        raise AssertionError(f"{name}: the tables {differ} differ from {DIGESTS.name}; found digests in {where}")
