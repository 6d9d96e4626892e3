"""Background work of ownership, run by `kehu worker` (Huey): the pool sweep every hour, so registrations that
lapse at Asia/Shanghai midnight are in the pool within the hour whatever clock Huey's crontab reads, and
disputes past their deadline go up (the sweep is set-based and idempotent)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.sales.ownership.services import pool_sweep


@db_periodic_task(crontab(minute="1"))
@lock_task("ownership-pool-sweep")
def pool_sweep_task():
    return pool_sweep()
