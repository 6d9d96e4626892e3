"""Background work: forget expired idempotency keys and old version stamps."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="17"))  # hourly
@lock_task("idempotency-purge")
def idempotency_purge():
    from kehu.concurrency.idempotency import purge_expired
    from kehu.concurrency.versioning import purge_stamps

    return {"idempotency_keys": purge_expired(), "version_stamps": purge_stamps()}
