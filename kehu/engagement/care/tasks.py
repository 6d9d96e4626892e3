"""The daily care run: reminders for the occasions coming within their notice (once each)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(hour="22", minute="30"))  # 06:30 in Asia/Shanghai (Huey counts in UTC)
@lock_task("care-reminders")
def care_reminders_daily():
    from kehu.engagement.care.services import care_reminders_generate

    return care_reminders_generate()
