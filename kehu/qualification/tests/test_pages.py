"""Admission pages and the API around them: lists in scope, the customer's documents tab, the workbench to-dos,
registration through the API and bulk paths starting pending."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.customers.services import customer_bulk_create, customer_create
from kehu.qualification import services
from kehu.qualification.testing import admit


def company(org, name="温州瓯海华达塑业有限公司", owner=None):
    return customer_create(actor=owner or org.rep, data={"name": name, "kind": "organization"})


def test_api_and_bulk_registration_start_pending(org, api_client):
    r = api_client.as_user(org.rep).post("/customers", {"name": "台州路桥鑫泰化工有限公司", "kind": "organization",
                                                        "status": "active"})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    customer_bulk_create(actor=org.rep, rows=[{"name": "金华义乌宏远包装有限公司", "kind": "organization",
                                               "status": "active"}])
    from kehu.customers.models import Customer

    assert Customer.objects.get(name="金华义乌宏远包装有限公司").status == "pending"


def test_pages_render_in_scope_and_refuse_outside(org, client, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    c = company(org)
    services.document_add(actor=org.rep, customer_id=c.pk, data={
        "kind": "product_licence", "title": "危险化学品经营许可证", "number": "浙温安经字〔2024〕0101",
        "valid_to": (dt.date.today() + dt.timedelta(days=10)).isoformat()})
    client.force_login(org.rep)
    for url in ("/qualification/applications/", "/qualification/documents/?state=pending",
                "/qualification/documents/?state=expiring", f"/qualification/customers/{c.pk}/"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert "浙温安经字〔2024〕0101".encode() in client.get(f"/qualification/customers/{c.pk}/").content
    client.force_login(org.north_rep)
    assert client.get(f"/qualification/customers/{c.pk}/").status_code == 404
    assert "浙温安经字".encode() not in client.get("/qualification/documents/?state=pending").content


def test_workbench_lists_my_pending_customers_and_expiring_documents(org, tmp_path, settings):
    from django.utils import timezone

    from kehu.qualification.workbench import expiring_documents, my_pending_customers

    settings.VAR_DIR = tmp_path
    pending = company(org)
    active = admit(company(org, name="丽水莲都永安化工有限公司"))
    doc = services.document_add(actor=org.rep, customer_id=active.pk, data={
        "kind": "product_licence", "title": "危险化学品经营许可证", "number": "浙丽安经字〔2024〕0001",
        "valid_to": (dt.date.today() + dt.timedelta(days=12)).isoformat()})
    services.document_verify(actor=org.finance, document_id=doc.pk, decision="verified")
    now = timezone.now()
    todos = my_pending_customers(org.rep, today=now.date(), now=now, limit=10)
    assert [t.url for t in todos] == [f"/qualification/customers/{pending.pk}/"]
    docs = expiring_documents(org.rep, today=now.date(), now=now, limit=10)
    assert len(docs) == 1 and docs[0].detail == active.name
    assert expiring_documents(org.rep2, today=now.date(), now=now, limit=10) == []


@pytest.mark.parametrize("state", ["expiring", "expired", "pending", "in_force"])
def test_document_list_api_filters_by_state(org, api_client, state):
    r = api_client.as_user(org.manager).get("/qualification/documents", {"state": state})
    assert r.status_code == 200 and r.json()["items"] == []


def test_document_list_api_bad_state_is_400(org, api_client):
    r = api_client.as_user(org.manager).get("/qualification/documents", {"state": "whatever"})
    assert r.status_code == 400 and r.json()["error"]["fields"]["state"]


def test_exclusive_agent_without_next_months_plan_is_a_to_do_from_the_20th(org):
    """独家代理商每月向公司提供下月销售计划: from the 20th, an agent with no plan for next month is the owner's to-do."""
    import datetime as dt

    from kehu.grading.allocation.services import plan_create
    from kehu.qualification.workbench import missing_agent_plans

    agent = admit(company(org, name="衢州柯城永盛化工代理有限公司"))
    services.qualification_type_set(actor=org.rep, customer_id=agent.pk, customer_type="exclusive_agent")
    now = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
    todos = missing_agent_plans(org.rep, today=now.date(), now=now, limit=10)
    assert [t.url for t in todos] == [f"/qualification/customers/{agent.pk}/"]
    assert missing_agent_plans(org.rep, today=now.date(), now=now.replace(day=5), limit=10) == []
    plan_create(actor=org.manager, data={"customer": agent.pk, "month": "2026-12", "product_line": "聚丙烯",
                                         "participant_type": "exclusive_agent", "quantity_t": "300"})
    assert missing_agent_plans(org.rep, today=now.date(), now=now, limit=10) == []
