"""A lease lock in a Delta table (gold/locks), so two refreshes of the same input never run at once.

The lock lives in the lake itself, so it works wherever the lake does (local disk, HDFS, S3 with a
Delta log store) and needs no other service. Taking it is a MERGE on the lock's key: Delta's
optimistic concurrency lets exactly one of two racing MERGEs commit, and the loser re-reads the
row and sees the winner. The holder renews ``heartbeat_at`` from a background thread every
``lease / 4`` seconds; a lock whose heartbeat is older than the lease, or whose holder ran on this
host under a process id that no longer exists, is stale and may be taken over (a crashed refresh
does not block the next one for longer than the lease). A holder whose renewal finds the row taken
over marks the lock lost, and the refresh stops before its next stage.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import Row
from pyspark.sql import functions as F

from recaug_spark.errors import LockedError
from recaug_spark.lake import Lake, is_concurrent_modification
from recaug_spark.schema import LOCKS, LOCKS_SCHEMA

log = logging.getLogger(__name__)


@dataclass
class LeaseLock:
    """A held lock; release it with :meth:`release` (or use it as a context manager)."""

    lake: Lake
    key: str
    owner: str
    token: str
    lease_seconds: float
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        """Renew the lease every ``lease / 4`` seconds until released."""
        self._thread = threading.Thread(target=self._beat, name=f"lock-heartbeat:{self.key}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 4):
            try:
                if not self.renew():
                    self.lost = True
                    log.error("lock %s was taken over by another process; this refresh stops", self.key)
                    return
            except Exception as error:  # a missed beat is not fatal: the lease covers several
                log.warning("lock %s: heartbeat failed (%s); retrying", self.key, str(error).splitlines()[0])

    def renew(self) -> bool:
        """Move ``heartbeat_at`` to now; False when the row is no longer ours."""
        mine = (F.col("lock_key") == self.key) & (F.col("token") == self.token)
        self.lake.update(LOCKS, mine, {"heartbeat_at": F.current_timestamp(), "beats": F.col("beats") + 1})
        return self.lake.read(LOCKS).where(mine).count() == 1

    def release(self) -> None:
        """Stop the heartbeat and delete the lock row (if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease_seconds)
        for attempt in range(5):
            try:
                self.lake.delete(LOCKS, (F.col("lock_key") == self.key) & (F.col("token") == self.token))
                return
            except Exception as error:
                if not is_concurrent_modification(error) or attempt == 4:
                    log.warning("lock %s not released (%s); it expires with its lease", self.key, error)
                    return
                time.sleep(0.2 * 2**attempt)

    def __enter__(self) -> LeaseLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(lake: Lake, key: str, owner: str, *, lease_seconds: float, wait_seconds: float) -> LeaseLock:
    """Take the lock ``key`` for ``owner`` (a run id), waiting up to ``wait_seconds`` for a live holder.

    Raises:
        LockedError: a live holder kept it for longer than ``wait_seconds``.
    """
    lake.ensure(LOCKS, LOCKS_SCHEMA)
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        holder = _holder(lake, key, lease_seconds)
        if holder is None or _stale(holder):
            token = secrets.token_hex(8)
            if _try_take(lake, key, owner, token, holder) and _confirmed(lake, key, token):
                if holder is not None:
                    log.warning(
                        "lock %s: took over the stale lock of run %s (%s)", key, holder.owner, _describe(holder)
                    )
                lock = LeaseLock(lake, key, owner, token, lease_seconds)
                lock.start_heartbeat()
                return lock
            continue  # lost a race: look again at once
        if time.monotonic() >= deadline:
            raise LockedError(
                f"another refresh of the same input is running: run {holder.owner} ({_describe(holder)}). "
                f"Wait for it to finish, or set refresh.lock_timeout_seconds to wait for it; a crashed holder's "
                f"lock expires {lease_seconds:g} s after its last heartbeat"
            )
        time.sleep(min(delay, max(deadline - time.monotonic(), 0.05)))
        delay = min(delay * 2, 10.0)


def _holder(lake: Lake, key: str, lease_seconds: float = 0.0) -> Row | None:
    """The lock's row, with ``expired``: no heartbeat within the lease (judged by Spark's clock and time zone)."""
    expired = F.expr(f"heartbeat_at < current_timestamp() - make_dt_interval(0, 0, 0, {float(lease_seconds)})")
    return lake.read(LOCKS).where(F.col("lock_key") == key).withColumn("expired", expired).first()


def _describe(holder: Row) -> str:
    return f"host {holder.host}, pid {holder.pid}, since {holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC, " + (
        f"last heartbeat {holder.heartbeat_at:%H:%M:%S} UTC"
    )


def _stale(holder: Row) -> bool:
    """Whether the holder is gone: no heartbeat within the lease, or a dead process on this host."""
    if holder.expired:
        return True
    return holder.host == socket.gethostname() and not _alive(int(holder.pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _try_take(lake: Lake, key: str, owner: str, token: str, holder: Row | None) -> bool:
    """One MERGE: insert the row, or replace the stale ``holder`` exactly as it was read."""
    spark = lake.spark
    now = datetime.now(UTC)
    mine = spark.createDataFrame(
        [Row(lock_key=key, owner=owner, token=token, host=socket.gethostname(), pid=os.getpid(),
             acquired_at=now, heartbeat_at=now, beats=0)],
        LOCKS_SCHEMA,
    )  # fmt: skip
    same = None
    if holder is not None:
        same = (F.col("t.token") == F.lit(holder.token)) & (F.col("t.beats") == F.lit(holder.beats))
    try:
        lake.insert_or_replace(LOCKS, mine, key="lock_key", replace_when=same)
    except Exception as error:
        if is_concurrent_modification(error):
            return False
        raise
    return True


def _confirmed(lake: Lake, key: str, token: str) -> bool:
    holder = _holder(lake, key)
    return holder is not None and holder.token == token
