"""Periodic work of the approval engine, run by `kehu worker` (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.approvals.services import approval_remind_overdue


@db_periodic_task(crontab(minute="*/15"))
@lock_task("approval-remind-overdue")  # one run at a time; the reminder is idempotent anyway
def remind_overdue():
    return len(approval_remind_overdue())
