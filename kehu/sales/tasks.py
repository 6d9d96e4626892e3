"""Background work of the pipeline, run by `kehu worker` (Huey): the daily arrears run (dunning notices to the
reps, breach cases for the managers)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.sales.services import arrears_sweep


@db_periodic_task(crontab(minute="15", hour="7"))  # 07:15 every day, before the working day
@lock_task("sales-arrears")
def sales_arrears_task():
    return arrears_sweep()
