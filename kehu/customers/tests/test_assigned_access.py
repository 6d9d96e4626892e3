"""Someone assigned to work on a customer's record — the inspector of an inspection plan — opens that
customer's page outside their data scope: masked, read-only, audited (issue 8). Unassigned: still 404."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers import services
from kehu.customers.tests.factories import BASIS, MOBILE_WANG, org_customer
from kehu.errors import NotFound
from kehu.service_desk.inspections import services as inspections

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(org):
    """刘洋's customer (outside 张伟's own scope), which 张伟 is assigned to inspect."""
    customer = org_customer(org.rep2, "杭州恒远化纤有限公司", serial=11)
    services.contact_create(actor=org.rep2, customer_id=customer.pk,
                            data={"name": "王强", "mobile": MOBILE_WANG, "basis": BASIS})
    checklist = inspections.checklist_create(actor=org.admin, data={"name": "设备巡检", "items": ["设备运行状态"]})
    inspections.plan_create(actor=org.manager, data={
        "customer": customer.pk, "checklist": checklist.pk, "importance": "key", "inspector": org.rep.pk,
        "next_due": timezone.localdate() + dt.timedelta(days=5)})
    return customer


def test_assigned_inspector_opens_a_customer_outside_scope_masked_read_only_and_audited(org, assigned, api_client):
    """GET /customers/{id}: 200 (today 404), read_only, mobile masked; each access audited as assigned access."""
    r = api_client.as_user(org.rep).get(f"/customers/{assigned.pk}")
    assert r.status_code == 200 and r.json()["read_only"] is True
    entry = AuditEntry.objects.get(action="customer.assigned_access")
    assert entry.actor == org.rep and entry.object_id == str(assigned.pk) and entry.changes["via"] == ["inspections"]
    api_client.as_user(org.rep).get(f"/customers/{assigned.pk}")
    assert AuditEntry.objects.filter(action="customer.assigned_access").count() == 2
    assert api_client.as_user(org.rep2).get(f"/customers/{assigned.pk}").json()["read_only"] is False


def test_assigned_inspector_writes_are_refused(org, assigned, api_client):
    """Edit, delete, reveal and adding a contact stay refused: the assignment grants reading only."""
    api = api_client.as_user(org.rep)
    assert api.patch(f"/customers/{assigned.pk}", {"industry": "纺织"}).status_code == 404
    assert api.delete(f"/customers/{assigned.pk}").status_code in (403, 404)
    assert api.post(f"/customers/{assigned.pk}/contacts", {"name": "赵磊"}).status_code == 404
    contact = assigned.contacts.get()
    assert api.post(f"/contacts/{contact.pk}/reveal", {"field": "mobile"}).status_code == 404
    with pytest.raises(NotFound):
        services.customer_update(actor=org.rep, customer_id=assigned.pk, data={"industry": "纺织"})
    assert not AuditEntry.objects.filter(action__in=["customer.update", "contact.reveal"], actor=org.rep).exists()


def test_unassigned_rep_still_gets_404(org, assigned, api_client, client):
    assert api_client.as_user(org.north_rep).get(f"/customers/{assigned.pk}").status_code == 404
    client.force_login(org.north_rep)
    assert client.get(reverse("customers:detail", args=[assigned.pk])).status_code == 404
    assert not AuditEntry.objects.filter(action="customer.assigned_access").exists()


def test_assigned_page_has_no_edit_delete_or_reveal_buttons(org, assigned, client):
    client.force_login(org.rep)
    r = client.get(reverse("customers:detail", args=[assigned.pk]))
    assert r.status_code == 200
    body = r.content.decode()
    assert 'data-testid="read-only-access"' in body and "138****5678" in body
    for testid in ("reveal", "delete-customer", "add-contact", "erase-customer"):
        assert f'data-testid="{testid}"' not in body
    assert reverse("customers:edit", args=[assigned.pk]) not in body
    assert client.get(reverse("customers:edit", args=[assigned.pk])).status_code == 404
    assert AuditEntry.objects.filter(action="customer.assigned_access", actor=org.rep).count() == 1


def test_an_ended_inspection_plan_ends_the_access(org, assigned, api_client):
    from kehu.service_desk.inspections.models import InspectionPlan

    InspectionPlan.objects.update(active=False)
    assert api_client.as_user(org.rep).get(f"/customers/{assigned.pk}").status_code == 404


def test_anonymous_is_401(org, assigned, api_client):
    assert api_client.as_user(None).get(f"/customers/{assigned.pk}").status_code == 401
