"""Background work of the customer import, run by `kehu worker` (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kehu.imports import services


@db_task()
def import_validate_task(job_id: int):
    return services.import_validate_run(job_id)


@db_task()
def import_commit_task(job_id: int, attempt: int):
    # Not retried by Huey: a failed run marks the job interrupted and the user resumes it.
    return services.import_commit_run(job_id, attempt)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("import-sweep-stale")
def import_sweep_stale():
    return services.import_sweep_stale()


@db_periodic_task(crontab(minute="17", hour="3"))
@lock_task("import-files-sweep")
def import_files_sweep():
    """Stored upload files of jobs not committed within KEHU_IMPORT_FILE_RETENTION_DAYS are deleted."""
    return services.import_files_sweep()
