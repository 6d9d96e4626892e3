"""Background work of the order import page, run by `kehu worker` (Huey): a job's dry run and its import."""

from huey.contrib.djhuey import db_task, lock_task

from kehu.orders.import_jobs import job_check_run, job_commit_run


@db_task()
def order_import_check_task(job_id: int):
    with lock_task(f"order-import-{job_id}"):
        return job_check_run(job_id).state


@db_task()
def order_import_commit_task(job_id: int):
    with lock_task(f"order-import-{job_id}"):
        return job_commit_run(job_id).state
