"""The lake: table locations under ``lake.root`` and the only code that reads and writes Delta tables.

Every write is idempotent: rows are appended only when their deterministic key is not in the table
yet (a row already present is never written twice), and rows that describe an entity (items, users,
runs) are upserted by MERGE only when their content changed. Writing the same DataFrame twice leaves
every table's rows as they were.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from delta import exceptions as delta_errors
from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Observation, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark import storage
from recaug_spark.config import SAFE_RETENTION_HOURS
from recaug_spark.faults import CrashHook
from recaug_spark.session import session_settings

log = logging.getLogger(__name__)


# Delta's optimistic-concurrency conflicts: another writer committed first; the work can be redone.
CONCURRENT_MODIFICATION: tuple[type[BaseException], ...] = (
    delta_errors.DeltaConcurrentModificationException,
    delta_errors.ConcurrentWriteException,
    delta_errors.MetadataChangedException,
    delta_errors.ProtocolChangedException,
    delta_errors.ConcurrentAppendException,
    delta_errors.ConcurrentDeleteReadException,
    delta_errors.ConcurrentDeleteDeleteException,
    delta_errors.ConcurrentTransactionException,
)


# VACUUM's settings and table property (see Lake.vacuum).
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
_RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"
_LISTING = "spark.sql.sources.parallelPartitionDiscovery.parallelism"

NON_EMPTY_LOCATION = "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION"
CREATE_RACE_POLLS = 20  # x 0.25 s: how long ensure() waits for another creator's first commit


def is_concurrent_modification(error: BaseException) -> bool:
    """Whether ``error`` is (or wraps) a Delta concurrent-modification conflict.

    Example:
        >>> is_concurrent_modification(RuntimeError("io.delta.exceptions.ConcurrentAppendException: ..."))
        True
        >>> is_concurrent_modification(ValueError("bad row"))
        False
    """
    if isinstance(error, CONCURRENT_MODIFICATION):
        return True
    text = str(error)[:4000]
    return any(f"io.delta.exceptions.{kind.__name__}" in text for kind in CONCURRENT_MODIFICATION)


# A commit file of the Delta log (PROTOCOL.md, "Delta Log Entries"): the version, zero-padded to 20 digits.
COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


@dataclass(frozen=True)
class InsertCounts:
    """What an idempotent insert did: distinct rows offered, rows appended (the rest existed)."""

    distinct: int
    inserted: int


@dataclass(frozen=True)
class MergeCounts:
    """What one MERGE did, from the metrics Delta returns with the commit."""

    inserted: int
    updated: int


class Lake:
    """Delta tables under one root directory or URI.

    Args:
        spark: The active session (built by session.py).
        root: ``lake.root`` from the config, absolute or a URI (``s3a://...``).
        crash_hook: called around every commit (the recovery tests' crash points); the pipeline passes
            one per top-level run, shared by the stages a refresh runs.

    Example:
        >>> Lake.__new__(Lake)._join("/tmp/lake", "bronze/events")
        '/tmp/lake/bronze/events'
    """

    def __init__(self, spark: SparkSession, root: str, *, crash_hook: CrashHook | None = None) -> None:
        self.spark = spark
        self.root = root.rstrip("/")
        self.crash_hook = crash_hook or CrashHook()
        # Rows of small tables read through rows(), per table: (version, rows); exact, since an entry is
        # used only at the version it was read. Shared by the stages that use this Lake (one refresh).
        self._small_tables: dict[str, tuple[int, list[Row]]] = {}
        # Rows appended with defer=True, per table, not committed yet (see append()); shared likewise.
        self._deferred: dict[str, list[Row]] = {}
        self._small_tables_lock = threading.Lock()
        self._pins: dict[str, int] = {}

    def pinned(self, versions: Mapping[str, int]) -> Lake:
        """This lake, with :meth:`read` of each table of ``versions`` at that version (a stage's snapshot
        of its inputs); everything else (writes, the registry copy, the crash hook) shared."""
        view = copy.copy(self)
        view._pins = {**self._pins, **versions}
        return view

    @staticmethod
    def _join(root: str, table: str) -> str:
        return f"{root.rstrip('/')}/{table}"

    def path(self, table: str) -> str:
        """Location of ``table`` (e.g. ``bronze/events``)."""
        return self._join(self.root, table)

    def exists(self, table: str) -> bool:
        """Whether ``table`` is a Delta table already (it has a committed version)."""
        return self.version(table) is not None

    def has_rows(self, table: str, column: str, value: str) -> bool:
        """Whether ``table`` exists and has a row whose ``column`` is ``value`` (e.g. a run's partition)."""
        return self.exists(table) and bool(self.read(table).where(F.col(column) == value).head(1))

    def read(self, table: str, version: int | None = None) -> DataFrame:
        """``table`` at ``version`` (time travel), else at its pinned version (:meth:`pinned`), else now."""
        reader = self.spark.read.format("delta")
        version = self._pins.get(table) if version is None else version
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(table))

    def version(self, table: str) -> int | None:
        """The latest committed version of ``table``, or None when it does not exist.

        The newest commit file in the table's ``_delta_log`` (the protocol names each commit by its
        version): one directory listing, without a Spark job or a snapshot. ``history(1)`` builds and
        collects a DataFrame, ten times slower, and the stages ask for the versions of every input and
        output on every run. Temporary files of a commit in flight do not match the commit file name.
        """
        found = [int(m[1]) for m in map(COMMIT_FILE.match, storage.list_files(self.spark, self._log(table))) if m]
        return max(found, default=None)

    def _log(self, table: str) -> str:
        return f"{self.path(table)}/_delta_log"

    def rows(self, table: str) -> list[Row]:
        """Every row of a small table (the run registry), read again only when another writer moved it,
        followed by the rows this Lake holds back for it (``append(..., defer=True)``).

        Each stage asks the registry about earlier runs, and each SQL question (scan, sort, first) has a
        fixed cost of about half a second; with this copy, kept up to date by :meth:`append`, a refresh
        reads the registry once. Empty when the table does not exist and nothing is held back.
        """
        with self._small_tables_lock:
            deferred = list(self._deferred.get(table, ()))
        version = self.version(table)
        if version is None:
            return deferred
        with self._small_tables_lock:
            cached = self._small_tables.get(table)
        if cached is None or cached[0] != version:
            cached = (version, self.read(table, version).collect())
            with self._small_tables_lock:
                self._small_tables[table] = cached
        return [*cached[1], *deferred] if deferred else cached[1]

    def versions(self, tables: Sequence[str]) -> dict[str, int]:
        """Latest versions of the tables that exist, for the run registry."""
        found = {t: self.version(t) for t in tables}
        return {t: v for t, v in found.items() if v is not None}

    def ensure(self, table: str, schema: T.StructType, partition_by: Sequence[str] = ()) -> None:
        """Create ``table`` with ``schema`` unless it exists (or another writer creates it at the same
        time). An existing table costs one listing of its log (no snapshot is loaded)."""
        if self.exists(table):
            return
        builder = DeltaTable.createIfNotExists(self.spark).location(self.path(table)).addColumns(schema)
        if partition_by:
            builder = builder.partitionedBy(*partition_by)
        try:
            with self.committing(table):
                builder.execute()
        except Exception as error:
            # Two writers creating it at once: the other one's table will do. Delta reports the race as
            # a commit conflict, or, when the other writer's files were there but its first commit not
            # yet, as a non-empty location; that commit lands within moments (junk in the location
            # never becomes a table, and the error stands).
            if is_concurrent_modification(error) or NON_EMPTY_LOCATION in str(error):
                for _ in range(CREATE_RACE_POLLS):
                    if self.exists(table):
                        return
                    time.sleep(0.25)
            raise

    def insert_new(
        self,
        table: str,
        rows: DataFrame,
        *,
        keys: Sequence[str],
        schema: T.StructType,
        partition_by: Sequence[str] = (),
        constants: Mapping[str, object] | None = None,
    ) -> InsertCounts:
        """Append the rows of ``rows`` whose key is not in ``table`` yet, each key once.

        Rows with the same (partition, key) are the same row: one is kept. Keys already in the table
        are dropped by an anti-join on the key columns (skipped while the table is empty), so writing
        the same rows twice appends nothing. Rows are clustered by the partition columns before the
        write, which makes one file per partition value and serves the dedup with the same shuffle.
        ``constants`` (column -> value, e.g. the batch id) are added after the shuffle, not carried
        through it.

        Concurrent writers of the *same* keys must be serialised by the caller (the pipeline runs one
        ingest per source at a time); writers of disjoint partitions never conflict (blind appends).

        Returns:
            How many distinct rows came in and how many were appended.
        """
        self.ensure(table, schema, partition_by)
        # The key first: its prefix sorts well in the dedup (a date first would tie on most rows).
        columns = [*[k for k in keys if k not in partition_by], *partition_by]
        constants = dict(constants or {})
        rows = rows.select(*[c for c in schema.fieldNames() if c not in constants])
        distinct, inserted = Observation(f"distinct:{table}"), Observation(f"inserted:{table}")
        count = F.count(F.lit(1)).alias("rows")
        if self.version(table) == 0:  # created, never written: nothing to anti-join against
            clustered = rows.repartition(*partition_by) if partition_by else rows
            new = clustered.dropDuplicates(columns).observe(distinct, count)
        else:
            unique = rows.dropDuplicates(columns).observe(distinct, count)
            new = unique.join(self.read(table).select(*columns), columns, "left_anti")
            new = new.repartition(*partition_by) if partition_by else new
        new = new.select(*[F.lit(constants[c]).alias(c) if c in constants else c for c in schema.fieldNames()])
        with self.committing(table):
            new.observe(inserted, count).write.format("delta").mode("append").save(self.path(table))
        return InsertCounts(distinct=int(distinct.get["rows"]), inserted=int(inserted.get["rows"]))

    def overwrite(self, table: str, rows: DataFrame, *, partition_by: Sequence[str] = ()) -> None:
        """Replace the content (and schema) of ``table`` with ``rows``: for tables recomputed whole
        from their inputs, where the same inputs give the same rows."""
        writer = rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        with self.committing(table):
            writer.save(self.path(table))

    def replace_where(self, table: str, rows: DataFrame, condition: str, *, merge_schema: bool = False) -> int:
        """Atomically replace the rows of ``table`` matching ``condition`` (SQL) with ``rows``, which
        must all match it; returns the number of rows written. For recomputing a slice (e.g. the
        newest dates, or one run's partition) of a table whose other rows stay valid. ``merge_schema``
        lets ``rows`` add columns."""
        writer = rows.write.format("delta").mode("overwrite").option("replaceWhere", condition)
        with self.committing(table):
            writer.option("mergeSchema", str(merge_schema).lower()).save(self.path(table))
        return self.last_written_rows(table)

    def delete(self, table: str, condition: str | Column) -> None:
        """Delete the rows of ``table`` matching ``condition`` (SQL or a Column)."""
        with self.committing(table):
            DeltaTable.forPath(self.spark, self.path(table)).delete(condition)

    def delete_where(self, table: str, condition: str | Column) -> int:
        """:meth:`delete`, returning how many rows were deleted (read back from the commit's metrics)."""
        self.delete(table, condition)
        return self._last_metric(table, "numDeletedRows")

    def keep_newest_runs(self, table: str, run_column: str, keep: int, *, order_by: str = "ingested_at") -> int:
        """Delete the rows of all but the ``keep`` newest runs of a run-partitioned table (newest by
        ``order_by``, then run id); returns the rows deleted."""
        runs = self.read(table).groupBy(run_column).agg(F.max(order_by).alias("_at"))
        old = [r[run_column] for r in runs.orderBy(F.desc("_at"), F.desc(run_column)).collect()[keep:]]
        if not old:
            return 0
        return self.delete_where(table, F.col(run_column).isin(old))

    def update(self, table: str, condition: Column, assignments: Mapping[str, Column]) -> None:
        """Set ``assignments`` (column -> value) on the rows of ``table`` matching ``condition``."""
        with self.committing(table):
            DeltaTable.forPath(self.spark, self.path(table)).update(condition, dict(assignments))

    def insert_or_replace(self, table: str, row: DataFrame, *, key: str, replace_when: Column | None) -> None:
        """One MERGE on ``key``: insert ``row`` when its key is absent; replace the row there only when
        ``replace_when`` (over ``t.`` the table's row) holds, and never when it is None. Delta lets exactly
        one of two racing MERGEs commit: the loser gets a concurrent-modification error."""
        target = DeltaTable.forPath(self.spark, self.path(table)).alias("t")
        merge = target.merge(row.alias("s"), f"t.`{key}` = s.`{key}`")
        if replace_when is not None:
            merge = merge.whenMatchedUpdateAll(condition=replace_when)
        with self.committing(table):
            merge.whenNotMatchedInsertAll().execute()

    def optimize(self, table: str, *, zorder_by: Sequence[str] = ()) -> dict[str, int]:
        """OPTIMIZE ``table`` (compaction, or Z-ORDER by ``zorder_by``); Delta's metrics of the commit."""
        builder = DeltaTable.forPath(self.spark, self.path(table)).optimize()
        with self.committing(table):
            result = (builder.executeZOrderBy(*zorder_by) if zorder_by else builder.executeCompaction()).first()
        metrics = result["metrics"].asDict() if result is not None else {}
        return {name: value for name, value in metrics.items() if isinstance(value, int)}

    def properties(self, table: str) -> dict[str, str]:
        """The table's properties (``TBLPROPERTIES``)."""
        detail = DeltaTable.forPath(self.spark, self.path(table)).detail().first()
        return dict(detail["properties"] or {}) if detail is not None else {}

    def set_property(self, table: str, name: str, value: str) -> None:
        """Set one table property (a metadata commit)."""
        with self.committing(table):
            self.spark.sql(f"ALTER TABLE delta.`{self.path(table)}` SET TBLPROPERTIES ('{name}' = '{value}')")

    def vacuum(self, table: str, *, retention_hours: float, listing_parallelism: int) -> int:
        """VACUUM ``table``: delete the files no version within ``retention_hours`` needs; the files deleted
        (from the VACUUM END commit's metrics).

        Delta honours a retention argument only when it is 0; any other retention is the table's
        ``delta.deletedFileRetentionDuration``, so that property is set first (a metadata commit, only
        when it differs). Delta's own check against a retention under 7 days is switched off only
        around this call when the retention is shorter (the config refuses that unless
        ``maintain.allow_short_retention``). VACUUM lists files in
        ``spark.sql.sources.parallelPartitionDiscovery.parallelism`` tasks (10,000 by default: 30 s for
        a tiny table in local mode), set to ``listing_parallelism`` while it runs.
        """
        if retention_hours > 0:
            wanted = f"interval {retention_hours:g} hours"
            if self.properties(table).get(_RETENTION_PROPERTY) != wanted:
                self.set_property(table, _RETENTION_PROPERTY, wanted)
        settings = {_LISTING: str(listing_parallelism)}
        if retention_hours < SAFE_RETENTION_HOURS:
            settings[_RETENTION_CHECK] = "false"
        delta = DeltaTable.forPath(self.spark, self.path(table))
        with session_settings(self.spark, settings):
            delta.vacuum(0.0) if retention_hours == 0 else delta.vacuum()
        for entry in delta.history(2).collect():
            if entry["operation"] == "VACUUM END":
                return int((entry["operationMetrics"] or {}).get("numDeletedFiles", 0))
        return 0

    def _last_metric(self, table: str, name: str) -> int:
        """One operation metric of the latest commit of ``table`` (0 when absent)."""
        metrics = DeltaTable.forPath(self.spark, self.path(table)).history(1).first().operationMetrics  # type: ignore[union-attr]
        return int((metrics or {}).get(name, 0))

    def last_written_rows(self, table: str) -> int:
        """Rows written by the latest commit of ``table`` (from Delta's operation metrics)."""
        return self._last_metric(table, "numOutputRows")

    def changed_dates(self, table: str, since_version: int, column: str = "event_date") -> list[date] | None:
        """The values of ``column`` whose row count differs between ``since_version`` and now.

        For tables where rows of a date are only ever added (bronze), these are the dates that got
        new rows. None when the old version cannot be read any more (e.g. vacuumed).
        """
        try:
            before = self.read(table, since_version).groupBy(column).agg(F.count(F.lit(1)).alias("_before"))
            now = self.read(table).groupBy(column).agg(F.count(F.lit(1)).alias("_now"))
            differ = now.join(before, column, "full_outer").where(~F.col("_now").eqNullSafe(F.col("_before")))
            return sorted(row[column] for row in differ.select(column).collect())
        except (PySparkException, Py4JJavaError) as error:
            log.warning("cannot compare %s with version %s (%s)", table, since_version, str(error).splitlines()[0])
            return None

    def append(self, table: str, rows: Sequence[Row], *, schema: T.StructType, defer: bool = False) -> None:
        """Append ``rows`` as they are (for small append-only logs such as the run registry).

        ``defer``: hold the rows back until this Lake's next append to ``table`` without ``defer`` (or
        :meth:`flush`), which commits them with its own rows in one Delta commit; :meth:`rows` shows them
        meanwhile. A Delta commit costs about 0.4 s however few rows it holds (warm, local), and a
        refresh defers each stage's end row to the next stage's ``running`` row (runs.record).

        When :meth:`rows` holds the table at version v and this commit made it v + 1 (nobody else
        committed in between), the appended rows are added to that copy instead of reading it again.
        """
        as_read = [schema.fromInternal(schema.toInternal(row)) for row in rows]  # the values a read returns
        with self._small_tables_lock:
            pending = self._deferred.setdefault(table, [])
            pending.extend(as_read)
            if defer or not pending:
                return
            batch = pending[:]
            pending.clear()
            cached = self._small_tables.get(table)
        try:
            self.ensure(table, schema)
            with self.committing(table):
                self.spark.createDataFrame(batch, schema).write.format("delta").mode("append").save(self.path(table))
        except BaseException:
            with self._small_tables_lock:
                pending[:0] = batch  # not committed: held back for the next append
            raise
        if cached is not None and self.version(table) == cached[0] + 1:
            with self._small_tables_lock:
                if self._small_tables.get(table) is cached:
                    self._small_tables[table] = (cached[0] + 1, [*cached[1], *batch])

    def flush(self, table: str, *, schema: T.StructType) -> None:
        """Commit the rows held back for ``table`` (:meth:`append` with ``defer``), if any."""
        self.append(table, [], schema=schema)

    def upsert(
        self,
        table: str,
        rows: DataFrame,
        *,
        keys: Sequence[str],
        schema: T.StructType,
        compare: Sequence[str],
        partition_by: Sequence[str] = (),
    ) -> MergeCounts:
        """Insert new keys; update a matched row only when one of ``compare`` changed (null-safe).

        Rows equal in ``compare`` are left alone, so their audit columns (batch_id, ingested_at) keep
        the values of the batch that first wrote them and a rerun changes nothing.
        """
        self.ensure(table, schema, partition_by)
        target = DeltaTable.forPath(self.spark, self.path(table))
        match = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        changed = " OR ".join(_differs(c, schema[c].dataType) for c in compare)
        with self.committing(table):
            metrics = (
                target.alias("t")
                .merge(rows.select(*schema.fieldNames()).alias("s"), match)
                .whenMatchedUpdateAll(condition=changed)
                .whenNotMatchedInsertAll()
                .execute()
            )
        return self._counts(metrics)

    @contextmanager
    def committing(self, table: str) -> Iterator[None]:
        """Marks one Delta commit of ``table``: the crash hook's points just before and just after it."""
        self.crash_hook.commit_point("before", table)
        yield
        self.crash_hook.commit_point("after", table)

    @staticmethod
    def _counts(metrics: DataFrame) -> MergeCounts:
        row = metrics.first()
        if row is None:
            return MergeCounts(0, 0)
        values = row.asDict()
        return MergeCounts(int(values.get("num_inserted_rows", 0)), int(values.get("num_updated_rows", 0)))


def _differs(column: str, data_type: T.DataType) -> str:
    """Null-safe inequality of ``t.column`` and ``s.column`` (maps, which SQL cannot compare, as JSON)."""
    if isinstance(data_type, T.MapType):
        return f"NOT (to_json(t.`{column}`) <=> to_json(s.`{column}`))"
    return f"NOT (t.`{column}` <=> s.`{column}`)"
