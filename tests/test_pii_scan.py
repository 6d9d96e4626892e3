"""PII scan (issue 16, Done means): every GET operation of the OpenAPI document, called as each role on an org
with customers, contacts, a complaint and import jobs holding known mobiles and ID numbers, answers without
a clear mobile or ID number. Clear values only come from the explicit reveal endpoints (POST …/reveal) and
the audited reveal option of downloads (``reveal=true``), which the scan does not ask for. Path parameters
are filled from the seeded objects (or the first row of the table behind the parameter)."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

from kehu.access.roles import Perm
from kehu.api import api
from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import BASIS, ID_CONSENT
from kehu.imports.samples import csv_bytes

pytestmark = pytest.mark.django_db

ROLES = ["admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent", "finance",
         "analyst", "auditor"]
# Known personal identifiers: a person customer's mobile and ID number, a contact's mobile, a complainant's
# phone, and the mobiles of an import file (one valid, one that fails validation, one in an unmapped column).
PERSON_MOBILE, PERSON_ID = "13987654321", "11010519491231002X"
CONTACT_MOBILE, COMPLAINT_PHONE = "13612348765", "13555556666"
FILE_MOBILE, FILE_BAD_MOBILE, FILE_SPARE = "13700002222", "1371234567", "13800009999"
SECRETS = [PERSON_MOBILE, PERSON_ID, CONTACT_MOBILE, COMPLAINT_PHONE, FILE_MOBILE, FILE_BAD_MOBILE, FILE_SPARE]

# The explicit reveals among the GET operations: the data-subject access export (PIPL 45), everything held on one
# person in clear, for the privacy permission only and audited. They are checked to be just that.
REVEALS = {"/api/v1/customers/{customer_id}/export", "/api/v1/contacts/{contact_id}/export"}

# path parameter → the model whose first row fills it when no seeded object is named below
PARAM_MODELS = {
    "candidate_id": "customers.DuplicateCandidate", "checklist_id": "inspections.Checklist",
    "complaint_id": "service_desk.Complaint", "contact_id": "customers.Contact",
    "customer_id": "customers.Customer", "item_id": "inspections.ChecklistItem", "job_id": "imports.ImportJob",
    "mapping_id": "imports.ImportMapping", "merge_id": "customers.Merge", "order_id": "orders.Order",
    "payment_id": "orders.Payment", "plan_id": "inspections.InspectionPlan", "policy_id": "grading.GradingPolicy",
    "request_id": "approvals.ApprovalRequest", "round_id": "allocation.AllocationRound",
    "run_id": "review.ReviewRun", "ticket_id": "tickets.ServiceTicket", "visit_id": "inspections.InspectionVisit",
}


def _get_operations():
    schema = api.get_openapi_schema()
    return sorted(p for p, methods in schema["paths"].items() if "get" in methods)


def _first_pk(label: str):
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return model.objects.order_by("pk").values_list("pk", flat=True).first()


@pytest.fixture
def seeded(org, settings, tmp_path, client, api_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kehu.customers.services import contact_create, customer_create
    from kehu.service_desk.services import complaint_record

    settings.VAR_DIR = tmp_path
    person = customer_create(actor=org.rep, data={"name": "李娜", "kind": "person", "mobile": PERSON_MOBILE,
                                                  "id_number": PERSON_ID, "basis": BASIS,
                                                  "id_number_consent": ID_CONSENT})
    company = customer_create(actor=org.rep, data={"name": "上海华星科技有限公司", "kind": "organization"})
    contact = contact_create(actor=org.rep, customer_id=company.pk,
                             data={"name": "王强", "mobile": CONTACT_MOBILE, "basis": BASIS})
    complaint = complaint_record(actor=org.agent, data={
        "complainant_name": "赵敏", "complainant_phone": COMPLAINT_PHONE, "subject": "送货延误",
        "description": "订单迟到三天", "channel": "letter", "customer": company.pk})
    headers = ["客户名称", "客户类型", "手机", "身份证号", "法律依据", "处理目的", "身份证单独同意", "备用电话"]
    rows = [["周强", "个人", FILE_MOBILE, PERSON_ID, "同意", "理财产品推荐", "是", FILE_SPARE],
            ["吴刚", "个人", FILE_BAD_MOBILE, "", "同意", "理财产品推荐", "", ""]]
    api_client.as_user(org.rep)
    r = client.post("/api/v1/imports", {"file": SimpleUploadedFile("客户.csv", csv_bytes(rows, headers=headers))},
                    **api_client._headers())
    job_id = r.json()["id"]
    api_client.post(f"/imports/{job_id}/dry-run", {})
    return {"customer_id": person.pk, "contact_id": contact.pk, "complaint_id": complaint.pk, "job_id": job_id}


def _fill(path: str, seeded: dict) -> str:
    def value(m):
        name = m[1]
        if name in seeded:
            return str(seeded[name])
        pk = _first_pk(PARAM_MODELS.get(name, ""))
        return str(pk if pk is not None else 1)

    return re.sub(r"\{([^}]+)\}", value, path)


def test_no_get_operation_answers_a_clear_mobile_or_id_number_to_any_role(org, seeded, api_client):
    """Every GET of the OpenAPI document × every role: no clear mobile or ID number outside the reveals."""
    leaks = []
    calls = revealed = 0
    for path in _get_operations():
        url = _fill(path, seeded).removeprefix("/api/v1")
        for role in ROLES:
            response = api_client.as_user(getattr(org, role)).get(url)
            calls += 1
            if response.status_code >= 500:
                leaks.append(f"{role} GET {url}: {response.status_code}")
                continue
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            body = raw.decode("utf-8", "replace")
            found = [s for s in SECRETS if s in body]
            if path in REVEALS:
                user = getattr(org, role)
                assert response.status_code in (403, 404) or user.has_kehu_perm(Perm.PRIVACY), (role, url)
                if response.status_code == 200:
                    revealed += 1
                continue
            if found:
                leaks.append(f"{role} GET {url}: {found}")
    assert calls >= 70 * len(ROLES)
    assert revealed and AuditEntry.objects.filter(action__endswith=".subject_export").count() == revealed
    assert leaks == [], "\n".join(leaks)


def test_the_scan_would_see_a_leak(org, seeded, api_client):
    """The scan is not vacuous: the explicit reveal (POST) does answer the clear value the scan looks for."""
    r = api_client.as_user(org.rep).post(f"/customers/{seeded['customer_id']}/reveal", {"field": "mobile"})
    assert r.status_code == 200 and PERSON_MOBILE in r.content.decode()
    report = api_client.get(f"/imports/{seeded['job_id']}/errors", {"reveal": "true"})
    assert FILE_BAD_MOBILE in report.content.decode("utf-8-sig")
