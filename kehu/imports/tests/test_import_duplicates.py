"""Import's dry run marks rows whose normalised name matches an existing customer (issue 8, duplicates at
entry), and the user chooses at commit to skip them or import them anyway."""

import pytest

from kehu.customers.models import Customer
from kehu.customers.tests.factories import org_customer
from kehu.imports.models import ImportJob, ImportRowDuplicate
from kehu.imports.samples import HEADERS, csv_bytes

pytestmark = pytest.mark.django_db
ROW = ["", "企业", "", "化工", "", "浙江省", "杭州市", "", "", "", "", "", "", "", "", "", "", "", ""]


def _row(name):
    return [name, *ROW[1:]]


@pytest.fixture
def dry_run(upload, api_client, django_capture_on_commit_callbacks):
    def do(user, names):
        r = upload(user, "客户.csv", csv_bytes([_row(n) for n in names], headers=HEADERS))
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.as_user(user).post(f"/imports/{r.json()['id']}/dry-run", {}).json()

    return do


def _commit(api_client, django_capture_on_commit_callbacks, user, job_id, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return api_client.as_user(user).post(f"/imports/{job_id}/commit", {"mode": "valid", **extra})


def test_import_dry_run_marks_rows_matching_an_existing_customers_normalised_name(org, dry_run):
    """华星石化(北京)股份有限公司 ~ 北京华星石化有限公司; the ids given are those in the importer's scope."""
    existing = org_customer(org.rep, "北京华星石化有限公司")
    job = dry_run(org.rep, ["华星石化（北京）股份有限公司", "宁波港联物流有限公司"])
    assert job["duplicate_rows"] == 1 and job["error_rows"] == 0
    assert job["first_duplicates"] == [{"row": 2, "name": "华星石化（北京）股份有限公司", "customers": [existing.pk],
                                        "elsewhere": 0}]
    other = dry_run(org.rep2, ["华星石化（北京）股份有限公司"])  # another rep: no id, only a count
    assert other["first_duplicates"][0]["customers"] == [] and other["first_duplicates"][0]["elsewhere"] == 1


def test_import_commit_with_possible_duplicates_needs_the_users_choice(org, dry_run, api_client,
                                                                       django_capture_on_commit_callbacks):
    org_customer(org.rep, "北京华星石化有限公司")
    job = dry_run(org.rep, ["华星石化（北京）股份有限公司", "宁波港联物流有限公司"])
    r = _commit(api_client, django_capture_on_commit_callbacks, org.rep, job["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "choose_duplicates"


def test_import_skip_leaves_the_possible_duplicates_out(org, dry_run, api_client, django_capture_on_commit_callbacks):
    org_customer(org.rep, "北京华星石化有限公司")
    job = dry_run(org.rep, ["华星石化（北京）股份有限公司", "宁波港联物流有限公司"])
    r = _commit(api_client, django_capture_on_commit_callbacks, org.rep, job["id"], duplicates="skip")
    assert r.status_code == 202
    done = ImportJob.objects.get(pk=job["id"])
    assert (done.imported_rows, done.skipped_rows) == (1, 1)
    assert not Customer.objects.filter(name="华星石化（北京）股份有限公司").exists()


def test_import_keep_imports_the_possible_duplicates(org, dry_run, api_client, django_capture_on_commit_callbacks):
    org_customer(org.rep, "北京华星石化有限公司")
    job = dry_run(org.rep, ["华星石化（北京）股份有限公司"])
    r = _commit(api_client, django_capture_on_commit_callbacks, org.rep, job["id"], duplicates="keep")
    assert r.status_code == 202
    assert Customer.objects.filter(name_core="华星石化").count() == 2
    assert ImportRowDuplicate.objects.filter(job_id=job["id"]).count() == 1


def test_import_row_with_the_uscc_of_a_deleted_customer_is_refused(org, dry_run, upload, api_client,
                                                                   django_capture_on_commit_callbacks):
    """A deleted customer keeps its USCC reserved: the row says to restore it instead."""
    from kehu.customers import services as customer_services
    from kehu.customers.tests.factories import make_uscc

    code = make_uscc(3)
    old = org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    customer_services.customer_delete(actor=org.manager, customer_id=old.pk)
    r = upload(org.rep, "客户.csv", csv_bytes([["宁波华星", "企业", code, *ROW[3:]]], headers=HEADERS))
    with django_capture_on_commit_callbacks(execute=True):
        job = api_client.as_user(org.rep).post(f"/imports/{r.json()['id']}/dry-run", {}).json()
    assert job["error_rows"] == 1 and "已删除的客户" in job["first_errors"][0]["errors"][0]
