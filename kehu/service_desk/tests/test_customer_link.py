"""Complaints connect to customers (issue 8): a complaint from the public form or the hotline is matched
to customers by USCC, the complainant's mobile (lookup hash) and the organisation's normalised name; the
agent links it with one action, and may re-link later; each link is audited and the customer's owner
is told."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import org_customer
from kehu.errors import Forbidden, NotFound
from kehu.notifications.models import Notification
from kehu.service_desk import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(org):
    return {
        "huaxing": org_customer(org.rep, "浙江华星石化有限公司", serial=1),
        "dongfang": org_customer(org.rep2, "上海东方贸易有限公司", serial=2),
        "yanshan": org_customer(org.north_rep, "北京燕山机械有限公司", serial=3),
    }


def _public(**kw):
    data = {"complainant_name": "陈先生", "complainant_phone": "13700137000", "company": "",
            "subject": "客服电话打不通", "description": "连续三天拨打客服电话无人接听。", "website": ""}
    data.update(kw)
    return services.complaint_public_submit(data=data, ip="10.0.0.1")


def _reasons(org, c, **kw):
    return {(m["customer"].pk, m["reason"])
            for m in selectors.complaint_customer_candidates(actor=org.agent, complaint_id=c.pk, **kw)}


def test_public_complaint_is_matched_to_customers_by_normalised_name(org, customers):
    c = _public(company="华星石化（浙江）股份有限公司")
    assert c.complainant_company == "华星石化（浙江）股份有限公司"
    assert _reasons(org, c) == {(customers["huaxing"].pk, "name")}


def test_hotline_complaint_is_matched_by_uscc_and_by_the_customers_mobile(org, customers):
    huaxing = customers["huaxing"]
    c = services.complaint_record(actor=org.agent, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。", "complainant_uscc": huaxing.uscc})
    assert (huaxing.pk, "uscc") in _reasons(org, c)
    from kehu.access import protection

    type(huaxing).objects.filter(pk=customers["yanshan"].pk).update(
        mobile_hash=protection.lookup_hash("13800138000"))
    assert (customers["yanshan"].pk, "mobile") in _reasons(org, c)


def test_agent_links_a_candidate_with_one_action_audited_and_the_owner_is_told(
        org, customers, client, django_capture_on_commit_callbacks):
    c = _public(company="浙江华星石化有限公司")
    client.force_login(c.accountable)
    html = client.get(f"/complaints/{c.pk}/").content.decode()
    assert f'data-customer="{customers["huaxing"].pk}"' in html
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/complaints/{c.pk}/customer/", {"customer": customers["huaxing"].pk})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.customer == customers["huaxing"]
    assert AuditEntry.objects.filter(action="complaint.link_customer", object_id=str(c.pk)).count() == 1
    assert c.events.filter(action="customer_linked").exists()
    note = Notification.objects.get(user=org.rep)
    assert note.link == f"/complaints/{c.pk}/" and "浙江华星石化有限公司" in note.title
    # the linked complaint shows on the customer's page
    client.force_login(org.rep)
    assert c.subject in client.get(f"/customers/{customers['huaxing'].pk}/").content.decode()


def test_a_complaint_can_be_relinked_later_over_the_api(org, customers, api_client):
    c = _public(company="浙江华星石化有限公司")
    api = api_client.as_user(c.accountable)
    assert api.post(f"/complaints/{c.pk}/customer", {"customer_id": customers["huaxing"].pk}).status_code == 200
    found = api.get(f"/complaints/{c.pk}/customer-candidates", {"q": "燕山"}).json()
    assert [m["customer_id"] for m in found] == [customers["yanshan"].pk]
    r = api.post(f"/complaints/{c.pk}/customer", {"customer_id": customers["yanshan"].pk})
    assert r.status_code == 200 and r.json()["customer"] == customers["yanshan"].pk
    entries = AuditEntry.objects.filter(action="complaint.link_customer", object_id=str(c.pk)).order_by("id")
    assert [e.changes["customer"] for e in entries] == [[None, customers["huaxing"].pk],
                                                         [customers["huaxing"].pk, customers["yanshan"].pk]]


def test_linking_is_refused_outside_permission_scope_and_accountability(org, customers, api_client):
    c = services.complaint_record(actor=org.rep, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"})
    # a customer outside the rep's scope
    with pytest.raises(NotFound):
        services.complaint_link_customer(actor=org.rep, complaint_id=c.pk, customer_id=customers["yanshan"].pk)
    with pytest.raises(Forbidden):  # an agent who is not accountable
        services.complaint_link_customer(actor=org.agent, complaint_id=c.pk, customer_id=customers["huaxing"].pk)
    assert api_client.as_user(org.finance).post(
        f"/complaints/{c.pk}/customer", {"customer_id": customers["huaxing"].pk}).status_code == 403
    assert api_client.as_user(org.finance).get(f"/complaints/{c.pk}/customer-candidates").status_code == 403
    assert api_client.as_user(org.rep2).get(f"/complaints/{c.pk}/customer-candidates").status_code == 404
    anon = api_client.as_user(None)
    assert anon.get(f"/complaints/{c.pk}/customer-candidates").status_code == 401
    assert anon.post(f"/complaints/{c.pk}/customer", {"customer_id": 1}).status_code == 401
