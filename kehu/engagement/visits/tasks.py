"""Background work of visit plans, run by `kehu worker` (Huey): the daily reminders of the visits due soon."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.engagement.visits.services import visits_remind


@db_periodic_task(crontab(minute="30", hour="7"))  # 07:30 every day, before the working day
@lock_task("visits-remind")
def visits_remind_task():
    return visits_remind()
