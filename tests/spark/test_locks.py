"""The Delta lease lock (locks.py) and the retry of a stage that lost a Delta commit race."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recaug_spark import locks
from recaug_spark.errors import LockedError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import retrying
from recaug_spark.schema import LOCKS, LOCKS_SCHEMA

LEASE = 60.0


def _plant(lake: Lake, *, owner: str, host: str, pid: int, heartbeat: datetime) -> None:
    """A lock row as another process would have left it."""
    lake.ensure(LOCKS, LOCKS_SCHEMA)
    row = Row(lock_key="k", owner=owner, token="planted", host=host, pid=pid, acquired_at=heartbeat,
              heartbeat_at=heartbeat, beats=3)  # fmt: skip
    lake.append(LOCKS, [row], schema=LOCKS_SCHEMA)


def _owner(lake: Lake) -> list[str]:
    return [r.owner for r in lake.read(LOCKS).where(F.col("lock_key") == "k").collect()]


def test_a_held_lock_refuses_a_second_holder_with_a_clear_message(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    with locks.acquire(lake, "k", "run-a", lease_seconds=LEASE, wait_seconds=0):
        with pytest.raises(LockedError, match=r"another refresh of the same input is running: run run-a \(host"):
            locks.acquire(lake, "k", "run-b", lease_seconds=LEASE, wait_seconds=0)
        assert _owner(lake) == ["run-a"]
        other = locks.acquire(lake, "other-key", "run-c", lease_seconds=LEASE, wait_seconds=0)  # disjoint: no wait
        other.release()
    assert _owner(lake) == []  # released
    with locks.acquire(lake, "k", "run-b", lease_seconds=LEASE, wait_seconds=0):
        assert _owner(lake) == ["run-b"]


def test_a_waiter_gets_the_lock_when_the_holder_releases_it(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    held = locks.acquire(lake, "k", "run-a", lease_seconds=LEASE, wait_seconds=0)
    releaser = threading.Timer(2.0, held.release)
    releaser.start()
    started = time.monotonic()
    with locks.acquire(lake, "k", "run-b", lease_seconds=LEASE, wait_seconds=60):
        assert time.monotonic() - started >= 1.5
        assert _owner(lake) == ["run-b"]
    releaser.join()


def test_the_lock_of_a_dead_process_on_this_host_is_taken_over(spark: SparkSession, lake_root: Path) -> None:
    import socket

    lake = Lake(spark, str(lake_root))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _plant(lake, owner="crashed", host=socket.gethostname(), pid=int(dead.stdout), heartbeat=datetime.now(UTC))
    with locks.acquire(lake, "k", "run-b", lease_seconds=LEASE, wait_seconds=0):
        assert _owner(lake) == ["run-b"]


def test_an_expired_lease_is_taken_over_and_a_fresh_one_elsewhere_is_not(spark: SparkSession, lake_root: Path) -> None:
    lake = Lake(spark, str(lake_root))
    _plant(lake, owner="elsewhere", host="other-host", pid=1, heartbeat=datetime.now(UTC))
    with pytest.raises(LockedError, match="run elsewhere"):
        locks.acquire(lake, "k", "run-b", lease_seconds=LEASE, wait_seconds=0)
    lake.delete_where(LOCKS, "lock_key = 'k'")
    _plant(lake, owner="elsewhere", host="other-host", pid=1, heartbeat=datetime.now(UTC) - timedelta(minutes=5))
    with locks.acquire(lake, "k", "run-b", lease_seconds=LEASE, wait_seconds=0) as lock:
        assert _owner(lake) == ["run-b"]
        assert lock.renew()  # the heartbeat: still ours
        lake.delete_where(LOCKS, "lock_key = 'k'")  # someone removed it by hand
        assert not lock.renew()


def test_a_stage_that_loses_a_commit_race_is_rerun_and_both_updates_count(spark: SparkSession, lake_root: Path) -> None:
    """Two writers read the same version and overwrite it: Delta rejects the second commit; the retry
    re-reads and applies its increment on top of the winner's, as if they had run one after the other."""
    lake = Lake(spark, str(lake_root))
    schema = T.StructType([T.StructField("n", T.LongType(), False)])
    lake.overwrite("counter", spark.createDataFrame([(0,)], schema))
    barrier = threading.Barrier(2)
    attempts: list[str] = []

    def increment(_spark: object, _cfg: object, _lake: object, ctx: SimpleNamespace) -> int:
        current = int(lake.read("counter").first()["n"])
        attempts.append(ctx.run_id)
        if attempts.count(ctx.run_id) == 1:
            barrier.wait(timeout=60)  # both have read the same version before either writes
        lake.overwrite("counter", spark.createDataFrame([(current + 1,)], schema))
        return current + 1

    cfg = SimpleNamespace(lake=SimpleNamespace(max_attempts=3, retry_base_seconds=0.1))
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda run=run: results.append(
                retrying(
                    lambda run=run: increment(spark, cfg, lake, SimpleNamespace(run_id=run)),
                    attempts=cfg.lake.max_attempts,
                    base_seconds=cfg.lake.retry_base_seconds,
                    label=f"{run}:test",
                )
            )
        )
        for run in ("a", "b")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2]
    assert lake.read("counter").first()["n"] == 2
    assert len(attempts) == 3  # one of the two ran twice


def test_other_errors_are_not_retried() -> None:
    calls = []

    def broken(*_: object) -> None:
        calls.append(1)
        raise ValueError("a bug, not a race")

    cfg = SimpleNamespace(lake=SimpleNamespace(max_attempts=5, retry_base_seconds=0.0))
    with pytest.raises(ValueError, match="a bug"):
        retrying(broken, attempts=cfg.lake.max_attempts, base_seconds=cfg.lake.retry_base_seconds, label="r:test")
    assert calls == [1]
