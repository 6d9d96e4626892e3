"""Periodic work of the follow-ups, run by `kehu worker` (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.engagement.services import next_step_reminders


@db_periodic_task(crontab(hour="8", minute="0"))
@lock_task("followup-next-step-reminders")  # one run at a time; each step is reminded once anyway
def next_step_reminder_sweep():
    """Each morning, remind owners of their next steps due tomorrow (once per step)."""
    return next_step_reminders()
