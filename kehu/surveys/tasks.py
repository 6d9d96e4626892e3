"""Background work of the satisfaction survey, run by `kehu worker` (Huey): reminders to the customers who
have not answered an e-mail invitation yet (a fresh personal link each time)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.surveys.services import invitations_remind


@db_periodic_task(crontab(minute="0", hour="10"))  # 10:00 every day, in office hours
@lock_task("surveys-remind")
def surveys_remind_task():
    return invitations_remind()
