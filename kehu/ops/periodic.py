"""Periodic tasks run once per period across the whole cluster, however many `kehu worker`s run.

Huey's scheduler in each consumer enqueues the periodic tasks due at the current minute, so two
consumers would each enqueue the SLA sweep, the audit seal, the reminders … every period. Here each
consumer first claims "task × minute" with the queue storage's atomic put-if-empty (Redis HSETNX,
SQLite INSERT OR ABORT): the first claimant enqueues, the others skip. Claims older than two hours
are dropped as new ones are made, so the key space stays small."""

from __future__ import annotations

import datetime as dt
import logging

from huey.consumer import Consumer, Scheduler

logger = logging.getLogger("kehu.worker")
KEEP_MINUTES = 120


def _key(task_name: str, minute: dt.datetime) -> str:
    return f"kehu:periodic:{task_name}:{minute:%Y%m%d%H%M}"


def claim(huey, task_name: str, now: dt.datetime) -> bool:
    """True for the one consumer that gets to enqueue task_name for now's minute."""
    minute = now.replace(second=0, microsecond=0)
    won = huey.storage.put_if_empty(_key(task_name, minute), b"1")
    try:
        huey.storage.pop_data(_key(task_name, minute - dt.timedelta(minutes=KEEP_MINUTES)))
    except Exception:  # noqa: BLE001 — housekeeping never stops the schedule
        logger.debug("could not drop an old periodic claim", exc_info=True)
    return won


class ClaimingScheduler(Scheduler):
    def enqueue_periodic_tasks(self, now):
        now = now or self.huey._get_timestamp()
        for task in self.huey.read_periodic(now):
            if not claim(self.huey, task.name, now):
                logger.info("periodic task %s already enqueued by another consumer for %s", task.name,
                            f"{now:%H:%M}")
                continue
            logger.info("Enqueueing periodic task %s.", task)
            try:
                self.huey.enqueue(task)
            except Exception:  # noqa: BLE001 — as Huey's own scheduler: one bad task does not stop the rest
                logger.exception("Error enqueueing periodic task %s.", task)
        return True


class ClaimingConsumer(Consumer):
    scheduler_class = ClaimingScheduler


def install(huey) -> None:
    """Make `kehu worker` (djhuey's run_huey → huey.create_consumer) use the claiming scheduler."""
    huey.create_consumer = lambda **options: ClaimingConsumer(huey, **options)
