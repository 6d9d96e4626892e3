"""Periodic work of admission, run by `kehu worker` (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.qualification.services import expiry_sweep


# Huey's crontab runs on UTC: 16:10 UTC is 00:10 Asia/Shanghai (no daylight saving), ten minutes after the papers
# valid to yesterday expired; the sweep suspends their customers, lifts renewed ones and sends the reminders.
@db_periodic_task(crontab(hour="16", minute="10"))
@lock_task("qualification-expiry-sweep")
def qualification_expiry_sweep():
    """Each night, suspend customers whose papers expired, reinstate renewed ones, remind of expiring papers."""
    return expiry_sweep()
