"""Background work of the customer archive, run by `kehu worker` (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kehu.customers.merge import duplicate_scan


@db_task()
@lock_task("duplicate-scan")  # one scan at a time; a second request while one runs is refused by Huey
def duplicate_scan_task(actor_id: int | None = None):
    from kehu.access.models import User

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return duplicate_scan(actor=actor)


@db_periodic_task(crontab(hour="2", minute="30"))  # nightly, off hours (Asia/Shanghai worker clock)
@lock_task("duplicate-scan")
def duplicate_scan_nightly():
    return duplicate_scan(actor=None)
