import random

from kehu.customers.models import Customer
from kehu.imports.demo import demo_load
from kehu.imports.models import ImportJob, JobState


def test_demo_leaves_one_finished_import_with_one_bad_row(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        summary = demo_load(users=org.users, rng=random.Random(7))
    job = ImportJob.objects.get()
    assert job.state == JobState.DONE and job.encoding == "gb18030"
    assert (job.total_rows, job.error_rows, job.imported_rows) == (20, 1, 19)
    assert Customer.objects.count() == 19 and "19" in summary
    assert "already" in demo_load(users=org.users, rng=random.Random(7))
