"""Several `kehu worker`s share one queue: each periodic task is enqueued once per period for all of
them, on the SQLite queue and on Redis."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid

import pytest
from huey import RedisHuey, SqliteHuey, crontab
from huey.constants import EmptyData
from huey.consumer import Consumer

from kehu.ops.periodic import ClaimingScheduler, claim


def _two_schedulers(huey):
    stop = threading.Event()
    return [ClaimingScheduler(huey, stop, 1, True) for _ in range(2)]


def _huey_with_tasks(huey):
    @huey.periodic_task(crontab(minute="*"), name="every_minute")
    def every_minute():
        return 1

    @huey.periodic_task(crontab(minute="0", hour="3"), name="nightly")
    def nightly():
        return 1

    return huey


def _check_once_per_period(huey):
    a, b = _two_schedulers(huey)
    at_3 = dt.datetime(2026, 12, 7, 3, 0, 12)
    a.enqueue_periodic_tasks(at_3)
    b.enqueue_periodic_tasks(at_3.replace(second=47))  # the other consumer ticks later in the same minute
    assert sorted(t.name for t in huey.pending()) == ["every_minute", "nightly"]
    b.enqueue_periodic_tasks(at_3 + dt.timedelta(minutes=1))
    a.enqueue_periodic_tasks(at_3 + dt.timedelta(minutes=1, seconds=30))
    assert sorted(t.name for t in huey.pending()) == ["every_minute", "every_minute", "nightly"]


def test_two_consumers_enqueue_each_periodic_task_once_on_sqlite(tmp_path):
    """Two consumers on one SQLite queue: the nightly job and the per-minute sweep once per period."""
    huey = _huey_with_tasks(SqliteHuey("kehu-test", filename=str(tmp_path / "q.sqlite3")))
    _check_once_per_period(huey)


def test_two_consumers_enqueue_each_periodic_task_once_on_redis():
    """The same on Redis (HSETNX claims), the queue cluster deployments use."""
    import redis

    url = os.environ.get("KEHU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {url}")
    huey = _huey_with_tasks(RedisHuey(f"kehu-test-{uuid.uuid4().hex[:8]}", url=url))
    try:
        _check_once_per_period(huey)
    finally:
        huey.storage.flush_all()


def test_old_claims_are_dropped(tmp_path):
    """A claim is forgotten two hours later, so the key space does not grow with time."""
    huey = SqliteHuey("kehu-test", filename=str(tmp_path / "q.sqlite3"))
    t = dt.datetime(2026, 12, 7, 1, 0)
    assert claim(huey, "sweep", t)
    assert not claim(huey, "sweep", t)
    assert claim(huey, "sweep", t + dt.timedelta(minutes=120))  # drops the 01:00 claim
    assert huey.storage.peek_data("kehu:periodic:sweep:202612070100") is EmptyData
    assert huey.storage.peek_data("kehu:periodic:sweep:202612070300") is not EmptyData


def test_kehu_worker_uses_the_claiming_scheduler():
    """`kehu worker` (run_huey → HUEY.create_consumer) gets the claiming scheduler."""
    from huey.contrib.djhuey import HUEY

    consumer = HUEY.create_consumer(workers=1, periodic=True)
    assert isinstance(consumer, Consumer)
    assert isinstance(consumer._create_scheduler(), ClaimingScheduler)
