"""Permissions are enforced where complaint data is read (issue 8): the selectors check the permission
as well as the scope, so the API cannot show what the pages refuse. Lists, details and histories need
Perm.COMPLAINT_HANDLE; the reports need Perm.COMPLAINT_REPORT."""

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.service_desk import services
from kehu.service_desk.tickets import services as ticket_services

pytestmark = pytest.mark.django_db
BODY = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"}

# role → (list, detail of the agent's complaint, its events, SLA report)
EXPECTED = {
    "admin": (200, 200, 200, 200),
    "executive": (200, 200, 200, 200),
    "manager": (200, 404, 404, 200),  # 华东区's manager: the 客服部 complaint is outside the scope
    "north_manager": (200, 404, 404, 200),
    "rep": (200, 404, 404, 200),
    "agent": (200, 200, 200, 200),
    "finance": (403, 403, 403, 403),
    "analyst": (403, 403, 403, 200),  # reports only
    "auditor": (403, 403, 403, 403),
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_complaint_api_reads_check_the_permission_as_well_as_the_scope(org, api_client, role):
    c = services.complaint_record(actor=org.agent, data=BODY)
    api = api_client.as_user(getattr(org, role))
    got = (api.get("/complaints").status_code, api.get(f"/complaints/{c.pk}").status_code,
           api.get(f"/complaints/{c.pk}/events").status_code, api.get("/complaints/reports/sla").status_code)
    assert got == EXPECTED[role]


@pytest.mark.parametrize("role", ["finance", "analyst", "auditor"])
def test_roles_without_complaint_handling_see_no_complainant_data_in_the_api(org, api_client, role):
    c = services.complaint_record(actor=org.agent, data=BODY)
    api = api_client.as_user(getattr(org, role))
    for path in ("/complaints", f"/complaints/{c.pk}", f"/complaints/{c.pk}/events"):
        r = api.get(path)
        assert r.status_code == 403 and "王先生" not in r.content.decode()


def test_complaint_reads_refuse_anonymous_with_401(org, api_client):
    c = services.complaint_record(actor=org.agent, data=BODY)
    anon = api_client.as_user(None)
    for path in ("/complaints", f"/complaints/{c.pk}", f"/complaints/{c.pk}/events", "/complaints/reports/sla"):
        assert anon.get(path).status_code == 401


@pytest.mark.parametrize("role,status", [("agent", 200), ("rep", 200), ("finance", 403), ("analyst", 403),
                                         ("auditor", 403)])
def test_service_request_reads_check_the_permission(org, api_client, role, status):
    customer = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    t = ticket_services.ticket_record(actor=org.agent, data={
        "customer": customer.pk, "kind": "repair", "channel": "phone", "subject": "空压机异响",
        "description": "二号车间空压机异响。", "contact_name": "王工"})
    api = api_client.as_user(getattr(org, role))
    assert api.get("/service-requests").status_code == status
    assert api.get(f"/service-requests/{t.pk}").status_code == status
