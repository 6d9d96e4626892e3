"""Background work of the periodic review, run by `kehu worker` (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kehu.customers.review.services import review_run_build, review_schedule_start


@db_task(retries=2, retry_delay=30)
def review_run_build_task(run_id: int):
    """Build a run's items; a retry resumes after the last committed batch."""
    with lock_task(f"review-run-{run_id}"):
        return review_run_build(run_id=run_id).items_count


@db_periodic_task(crontab(minute="30", hour="1", day="1"))  # 01:30 on the 1st of each month
@lock_task("review-schedule")
def review_schedule():
    """Start a company-wide run when none was started within KEHU_REVIEW_SCHEDULE_MONTHS (0 = off)."""
    run = review_schedule_start()
    return run.pk if run else None
