"""The service-request and on-duty API: the walk through the procedure, filters and paging, and the
401 / 403 / 404 answers of every endpoint."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.service_desk.tickets.models import OnDutyRoster, ServiceTicket
from kehu.service_desk.tickets.tests.helpers import at, customers, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def cust(org):
    return customers(org)


def body(customer, **kw):
    data = {"customer": customer.pk, "kind": "repair", "channel": "wechat", "subject": "打印机卡纸",
            "description": "财务室激光打印机频繁卡纸，需上门维修。", "contact_name": "李会计"}
    data.update(kw)
    return data


DUTY = {"start_date": "2026-01-01", "end_date": "2026-12-31", "start_time": "18:00", "end_time": "08:00",
        "weekdays": [0, 1, 2, 3, 4], "note": "夜班"}


def test_record_walk_and_close_a_request_through_the_api(org, cust, api_client):
    api = api_client.as_user(org.agent)
    r = api.post("/service-requests", body(cust["huaxing"]))
    assert r.status_code == 201, r.content
    t = r.json()
    assert t["state"] == "open" and t["accountable"] == org.agent.pk and t["sla_days"] == 3
    assert t["allowed_actions"] == ["accept", "cancel"] and [e["action"] for e in t["events"]] == ["record"]
    tid = t["id"]
    r = api.post(f"/service-requests/{tid}/actions", {"action": "resolve", "resolution": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    for step in ({"action": "accept", "expected_version": 0}, {"action": "start"},
                 {"action": "resolve", "resolution": "更换搓纸轮"}):
        r = api.post(f"/service-requests/{tid}/actions", step)
        assert r.status_code == 200, r.content
    r = api.post(f"/service-requests/{tid}/actions", {"action": "close"})
    assert r.status_code == 422 and "confirmation" in r.json()["error"]["fields"]
    r = api.post(f"/service-requests/{tid}/actions", {"action": "close", "confirmation": "客户确认打印正常"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert [e["action"] for e in r.json()["events"]] == ["record", "accept", "start", "resolve", "close"]
    r = api.post(f"/service-requests/{tid}/actions", {"action": "accept", "expected_version": 0})
    assert r.status_code == 409


def test_emergency_through_the_api_must_tell_the_customer_before_closing(org, cust, api_client):
    api = api_client.as_user(org.agent)
    tid = api.post("/service-requests", body(cust["huaxing"], kind="emergency", priority="low")).json()["id"]
    for step in ({"action": "accept"}, {"action": "start"}, {"action": "resolve", "resolution": "恢复供电"}):
        api.post(f"/service-requests/{tid}/actions", step)
    r = api.post(f"/service-requests/{tid}/actions", {"action": "close", "confirmation": "ok"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "customer_not_informed"
    r = api.post(f"/service-requests/{tid}/actions",
                 {"action": "inform", "informed_via": "phone", "informed_note": "电话告知已恢复"})
    assert r.status_code == 200 and r.json()["customer_informed_via"] == "phone"
    r = api.post(f"/service-requests/{tid}/actions", {"action": "close", "confirmation": "客户确认"})
    assert r.status_code == 200 and r.json()["priority"] == "urgent"


def test_list_filters_and_cursor_pages(org, cust, api_client):
    a = record(org.agent, cust["huaxing"], kind="consultation", received_at=at(2025, 9, 30, 10, 0))
    b = record(org.agent, cust["huaxing"], kind="emergency")
    c = record(org.agent, cust["dongfang"], kind="repair")
    ServiceTicket.objects.filter(pk=a.pk).update(breached_at=a.due_at, escalation_level=1)
    api = api_client.as_user(org.agent)
    ids = lambda r: [x["id"] for x in r.json()["items"]]  # noqa: E731
    assert ids(api.get("/service-requests", {"kind": "emergency"})) == [b.pk]
    assert ids(api.get("/service-requests", {"breached": "true"})) == [a.pk]
    assert set(ids(api.get("/service-requests", {"customer": cust["dongfang"].pk}))) == {c.pk}
    assert set(ids(api.get("/service-requests", {"open": "true"}))) == {a.pk, b.pk, c.pk}
    assert ids(api.get("/service-requests", {"state": "closed"})) == []
    page1 = api.get("/service-requests", {"limit": 2}).json()
    page2 = api.get("/service-requests", {"limit": 2, "cursor": page1["next"]}).json()
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1 and page2["next"] is None
    assert {x["id"] for x in page1["items"] + page2["items"]} == {a.pk, b.pk, c.pk}
    assert api.get("/service-requests", {"limit": 500}).status_code == 400
    assert api.get("/service-requests", {"ordering": "subject"}).status_code == 400


def test_assign_through_the_api(org, cust, api_client):
    tid = record(org.agent, cust["huaxing"]).pk
    api = api_client.as_user(org.agent)
    r = api.post(f"/service-requests/{tid}/assign", {"user": org.rep.pk})
    assert r.status_code == 200 and r.json()["assignee"] == org.rep.pk
    assert api.post(f"/service-requests/{tid}/assign", {"user": org.finance.pk}).status_code == 422
    assert api.post(f"/service-requests/{tid}/assign", {"user": org.rep.pk, "expected_version": 0}).status_code == 409


def test_every_service_request_endpoint_answers_401_403_and_404(org, cust, api_client):
    tid = record(org.rep, cust["huaxing"]).pk
    endpoints = [
        ("get", "/service-requests", None),
        ("post", "/service-requests", body(cust["huaxing"])),
        ("get", f"/service-requests/{tid}", None),
        ("post", f"/service-requests/{tid}/actions", {"action": "accept"}),
        ("post", f"/service-requests/{tid}/assign", {"user": org.agent.pk}),
    ]
    audits = AuditEntry.objects.filter(action__startswith="ticket.").count()
    for method, path, data in endpoints:
        anon = api_client.as_user(None)
        r = anon.get(path) if method == "get" else anon.post(path, data)
        assert r.status_code == 401, path
        finance = api_client.as_user(org.finance)
        r = finance.get(path) if method == "get" else finance.post(path, data)
        assert r.status_code == 403, path
    other = api_client.as_user(org.rep2)
    assert other.get(f"/service-requests/{tid}").status_code == 404
    assert other.post(f"/service-requests/{tid}/actions", {"action": "accept"}).status_code == 404
    assert other.post(f"/service-requests/{tid}/assign", {"user": org.rep2.pk}).status_code == 404
    assert other.get("/service-requests").json()["items"] == []
    # a customer outside the scope is a field error, and the customer's existence does not leak
    r = other.post("/service-requests", body(cust["yanshan"]))
    assert r.status_code == 422 and "customer" in r.json()["error"]["fields"]
    assert api_client.as_user(org.north_manager).get(f"/service-requests/{tid}").status_code == 404
    assert AuditEntry.objects.filter(action__startswith="ticket.").count() == audits
    assert ServiceTicket.objects.get(pk=tid).state == "open"


def test_on_duty_roster_managed_by_managers_within_their_scope(org, api_client):
    mgr = api_client.as_user(org.manager)
    r = mgr.post("/on-duty", {**DUTY, "user": org.rep.pk, "department": org.depts["east"].pk})
    assert r.status_code == 201, r.content
    shift = r.json()
    assert shift["weekdays"] == [0, 1, 2, 3, 4] and shift["end_time"] == "08:00:00"
    # outside a manager's subtree, or for every department: refused
    r = mgr.post("/on-duty", {**DUTY, "user": org.north_rep.pk, "department": org.depts["north"].pk})
    assert r.status_code == 422
    assert mgr.post("/on-duty", {**DUTY, "user": org.rep.pk}).status_code == 422
    assert mgr.post("/on-duty", {**DUTY, "user": org.rep.pk, "department": org.depts["east"].pk,
                                 "end_date": "2025-01-01"}).status_code == 422
    assert mgr.post("/on-duty", {**DUTY, "user": org.rep.pk, "department": org.depts["east"].pk,
                                 "weekdays": [7]}).status_code == 422
    admin = api_client.as_user(org.admin)
    r = admin.post("/on-duty", {**DUTY, "user": org.agent.pk})
    assert r.status_code == 201 and r.json()["department"] is None
    agent_shift = r.json()["id"]
    assert {s["id"] for s in admin.get("/on-duty").json()["items"]} == {shift["id"], agent_shift}
    mgr = api_client.as_user(org.manager)  # one client: as_user switches who it speaks for
    assert [s["id"] for s in mgr.get("/on-duty").json()["items"]] == [shift["id"]]
    agent = api_client.as_user(org.agent)
    assert [s["id"] for s in agent.get("/on-duty").json()["items"]] == [agent_shift, shift["id"]]
    mgr = api_client.as_user(org.manager)
    assert mgr.delete(f"/on-duty/{agent_shift}").status_code == 404
    assert mgr.delete(f"/on-duty/{shift['id']}").status_code == 204
    assert AuditEntry.objects.filter(action="ticket.duty_delete").count() == 1
    assert list(OnDutyRoster.objects.values_list("id", flat=True)) == [agent_shift]


def test_every_on_duty_endpoint_answers_401_403_and_404(org, api_client):
    shift = api_client.as_user(org.admin).post("/on-duty", {**DUTY, "user": org.agent.pk}).json()["id"]
    for user, status in ((None, 401), (org.finance, 403)):
        c = api_client.as_user(user)
        assert c.get("/on-duty").status_code == status
        assert c.post("/on-duty", {**DUTY, "user": org.agent.pk}).status_code == status
        assert c.delete(f"/on-duty/{shift}").status_code == status
    agent = api_client.as_user(org.agent)  # may read the roster, not change it
    assert agent.post("/on-duty", {**DUTY, "user": org.agent.pk}).status_code == 403
    assert agent.delete(f"/on-duty/{shift}").status_code == 403
    assert api_client.as_user(org.north_manager).delete(f"/on-duty/{shift}").status_code == 404
    assert api_client.as_user(org.admin).delete("/on-duty/999999").status_code == 404
    assert OnDutyRoster.objects.filter(pk=shift).exists()


def test_list_and_detail_query_counts_are_pinned(org, cust, api_client, django_assert_max_num_queries):
    api = api_client.as_user(org.manager)
    for i in range(3):
        record(org.rep, cust["huaxing"], subject=f"报修{i}")
    warm = api.get("/service-requests")
    assert len(warm.json()["items"]) == 3
    with django_assert_max_num_queries(6):
        api.get("/service-requests")
    for i in range(10):
        record(org.rep, cust["huaxing"], subject=f"更多报修{i}")
    with django_assert_max_num_queries(6):
        assert len(api.get("/service-requests").json()["items"]) == 13
    tid = ServiceTicket.objects.order_by("id").first().pk
    with django_assert_max_num_queries(6):
        assert api.get(f"/service-requests/{tid}").status_code == 200
