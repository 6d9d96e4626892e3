"""Background work of grading, run by `kehu worker` (Huey): a recorded run's regrade, and the periodic
review (quarterly or half-yearly by KEHU_GRADING_SCHEDULE_MONTHS)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kehu.grading.services import run_execute, schedule_due


@db_task(retries=1, retry_delay=60)
def grading_run_task(run_id: int):
    with lock_task(f"grading-run-{run_id}"):
        return run_execute(run_id=run_id).changed


@db_periodic_task(crontab(minute="0", hour="2", day="1"))  # 02:00 on the 1st; schedule_due picks the months
@lock_task("grading-schedule")
def grading_schedule():
    runs = schedule_due()
    for run in runs:
        grading_run_task(run.pk)
    return [run.pk for run in runs]


@db_periodic_task(crontab(minute="5", hour="0"))  # daily: versions whose date has come take effect
@lock_task("grading-activate-scheduled")
def grading_activate_scheduled():
    from kehu.grading.activation import activate_due

    runs = activate_due()
    for run in runs:
        grading_run_task(run.pk)
    return [run.pk for run in runs]
