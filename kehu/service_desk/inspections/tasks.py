"""Periodic work of inspections, run by `kehu worker` (Huey): generate the coming visits once a day,
flag overdue ones every hour. Both are idempotent; the locks keep two workers from running the same
job at once."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.service_desk.inspections.services import visits_generate, visits_overdue_sweep


@db_periodic_task(crontab(hour="22", minute="10"))  # 06:10 in Asia/Shanghai (Huey counts in UTC)
@lock_task("inspection-visits-generate")
def inspection_visits_generate():
    return visits_generate()


@db_periodic_task(crontab(minute="20"))
@lock_task("inspection-overdue-sweep")
def inspection_overdue_sweep():
    return visits_overdue_sweep()
