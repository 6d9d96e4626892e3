"""The inspection API: every endpoint refuses anonymous callers (401), users without the permission
(403) and records outside the caller's scope (404); lists are keyset-paged with pinned query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import org_customer
from kehu.service_desk.inspections import services
from kehu.service_desk.inspections.models import InspectionReport, InspectionVisit
from kehu.service_desk.inspections.tests.conftest import ITEMS, answers

pytestmark = pytest.mark.django_db


def _report_body(checklist):
    return {"results": answers(checklist), "findings": "2号机组振动偏大", "suggestions": "建议下月更换轴承",
            "signed_by": "王工"}


def _endpoints(checklist, plan, visit, customer):
    """(method, path, body) of every endpoint, with ids of records in 张伟's (华东区) scope."""
    return [
        ("get", "/inspection-checklists", None),
        ("post", "/inspection-checklists", {"name": "网络巡检", "items": [{"label": "交换机"}]}),
        ("get", f"/inspection-checklists/{checklist.pk}", None),
        ("patch", f"/inspection-checklists/{checklist.pk}", {"description": "x"}),
        ("get", "/inspection-plans", None),
        ("post", "/inspection-plans", {"customer": customer.pk, "checklist": checklist.pk, "inspector": 1}),
        ("get", f"/inspection-plans/{plan.pk}", None),
        ("patch", f"/inspection-plans/{plan.pk}", {"note": "x"}),
        ("post", f"/inspection-plans/{plan.pk}/deactivate", {"reason": "x"}),
        ("get", "/inspection-visits", None),
        ("get", f"/inspection-visits/{visit.pk}", None),
        ("post", f"/inspection-visits/{visit.pk}/report", _report_body(checklist)),
        ("post", f"/inspection-visits/{visit.pk}/cancel", {"reason": "x"}),
    ]


def _call(api, method, path, body):
    if method == "get":
        return api.get(path)
    if method == "patch":
        return api.patch(path, body)
    return api.post(path, body)


def test_every_endpoint_refuses_anonymous_callers(org, api_client, checklist, plan, visit, east_customer):
    anon = api_client.as_user(None)
    for method, path, body in _endpoints(checklist, plan, visit, east_customer):
        r = _call(anon, method, path, body)
        assert r.status_code == 401, (method, path, r.status_code)


def test_every_endpoint_refuses_users_without_the_permission(org, api_client, checklist, plan, visit, east_customer):
    """Finance has the whole company in scope but no service work: every endpoint is 403, nothing changes."""
    api = api_client.as_user(org.finance)  # the token first: its creation is audited
    before = AuditEntry.objects.count()
    for method, path, body in _endpoints(checklist, plan, visit, east_customer):
        r = _call(api, method, path, body)
        assert r.status_code == 403, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "forbidden"
    assert AuditEntry.objects.count() == before


def test_writes_that_need_inspection_management_refuse_agents(org, api_client, checklist, plan, visit,
                                                              east_customer):
    api = api_client.as_user(org.agent)
    manage = [e for e in _endpoints(checklist, plan, visit, east_customer)
              if e[0] != "get" and not e[1].endswith("/report")]
    for method, path, body in manage:
        assert _call(api, method, path, body).status_code == 403, (method, path)


def test_records_outside_scope_are_not_found(org, api_client, checklist, plan, visit, east_customer):
    """华北区's manager and account manager do not see 华东区's plans and visits: 404, nothing changes."""
    api_client.as_user(org.north_manager), api_client.as_user(org.north_rep)  # their tokens are audited
    before = AuditEntry.objects.count()
    for user in (org.north_manager, org.north_rep):
        api = api_client.as_user(user)
        for method, path, body in _endpoints(checklist, plan, visit, east_customer):
            if "/inspection-checklists" in path:
                continue  # checklists are company-wide templates, not scoped records
            if path in ("/inspection-plans", "/inspection-visits"):
                if method == "get":
                    assert api.get(path).json()["items"] == []
                else:  # a plan for a customer outside the scope
                    assert _call(api, method, path, body).status_code in (403, 404)
                continue
            r = _call(api, method, path, body)
            if user is org.north_rep and method != "get" and not path.endswith("/report"):
                assert r.status_code == 403, (method, path)  # no management right at all
            else:
                assert r.status_code == 404, (user, method, path, r.status_code)
    assert AuditEntry.objects.count() == before
    assert InspectionVisit.objects.get(pk=visit.pk).state == "scheduled"


def test_plan_lifecycle_through_the_api(org, api_client, checklist, east_customer):
    api = api_client.as_user(org.manager)
    r = api.post("/inspection-plans", {"customer": east_customer.pk, "checklist": checklist.pk,
                                       "importance": "important", "inspector": org.rep.pk})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["cycle_length"], body["cycle_unit"], body["importance"]) == (90, "day", "important")
    assert body["next_due"] == (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    pid = body["id"]
    r = api.patch(f"/inspection-plans/{pid}", {"next_due": (timezone.localdate() + dt.timedelta(days=3)).isoformat()})
    assert r.status_code == 200, r.content
    assert api.post("/inspection-plans", {"customer": east_customer.pk, "checklist": checklist.pk,
                                          "inspector": org.rep.pk}).status_code == 409
    services.visits_generate()
    visits = api.get("/inspection-visits", {"customer": east_customer.pk}).json()["items"]
    assert len(visits) == 1 and visits[0]["state"] == "scheduled" and visits[0]["overdue"] is False
    r = api.post(f"/inspection-plans/{pid}/deactivate", {"reason": "合同到期"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert api.get(f"/inspection-visits/{visits[0]['id']}").json()["state"] == "cancelled"


def test_report_through_the_api(org, api_client, checklist, plan, visit):
    api = api_client.as_user(org.rep)
    r = api.post(f"/inspection-visits/{visit.pk}/report", _report_body(checklist))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "done" and [x["label"] for x in body["report"]["results"]] == ITEMS
    assert body["report"]["findings"] == "2号机组振动偏大"
    assert api.post(f"/inspection-visits/{visit.pk}/report", _report_body(checklist)).status_code == 409
    plan_body = api.get(f"/inspection-plans/{plan.pk}").json()
    assert plan_body["next_due"] == (timezone.localdate() + dt.timedelta(days=30)).isoformat()


def test_api_report_without_findings_is_accepted_when_all_items_are_normal(org, api_client, checklist, visit):
    api = api_client.as_user(org.rep)
    r = api.post(f"/inspection-visits/{visit.pk}/report", {"results": answers(checklist)})
    assert r.status_code == 201, r.content
    assert r.json()["report"]["findings"] == ""


@pytest.mark.parametrize("case", ["unknown_item", "missing_answers", "issue_without_findings"])
def test_invalid_report_is_422_and_writes_nothing(org, api_client, checklist, visit, case):
    body = _report_body(checklist)
    if case == "unknown_item":
        body["results"].append({"item": 987654, "answer": "ok"})
    elif case == "issue_without_findings":
        body["results"][0].update(answer="issue", note="接地线松动")
        del body["findings"]
    else:
        body["results"] = body["results"][:2]
    r = api_client.as_user(org.rep).post(f"/inspection-visits/{visit.pk}/report", body)
    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == "invalid" and r.json()["error"]["fields"]
    assert not InspectionReport.objects.exists()
    assert InspectionVisit.objects.get(pk=visit.pk).state == "scheduled"
    assert not AuditEntry.objects.filter(action="inspection.visit_report").exists()


def test_bad_answer_value_is_422(org, api_client, checklist, visit):
    body = _report_body(checklist)
    body["results"][0]["answer"] = "maybe"
    assert api_client.as_user(org.rep).post(f"/inspection-visits/{visit.pk}/report", body).status_code == 422


def test_cancel_through_the_api(org, api_client, visit):
    api = api_client.as_user(org.manager)
    assert api.post(f"/inspection-visits/{visit.pk}/cancel", {"reason": " "}).status_code == 422
    r = api.post(f"/inspection-visits/{visit.pk}/cancel", {"reason": "客户停产", "missed": True})
    assert r.status_code == 200 and r.json()["state"] == "missed" and r.json()["closed_reason"] == "客户停产"


def test_checklists_through_the_api(org, api_client, checklist):
    api = api_client.as_user(org.admin)
    r = api.post("/inspection-checklists", {"name": "信息系统巡检", "items": [{"label": "服务器"}, {"label": "网络"}]})
    assert r.status_code == 201 and [i["label"] for i in r.json()["items"]] == ["服务器", "网络"]
    cid = r.json()["id"]
    r = api.patch(f"/inspection-checklists/{cid}", {"items": [{"label": "网络"}, {"label": "备份"}], "active": False})
    assert r.status_code == 200 and [i["label"] for i in r.json()["items"]] == ["网络", "备份"]
    assert r.json()["active"] is False
    assert api.post("/inspection-checklists", {"name": "设备巡检", "items": [{"label": "a"}]}).status_code == 409
    names = [c["name"] for c in api_client.as_user(org.agent).get("/inspection-checklists").json()["items"]]
    assert names == sorted(["设备巡检", "信息系统巡检"])
    assert api.get("/inspection-checklists/999999").status_code == 404


def _many(org, checklist, n):
    today = timezone.localdate()
    for i in range(n):
        c = org_customer(org.rep, f"苏州第{i}电子科技有限公司")
        services.plan_create(actor=org.admin, data={"customer": c.pk, "checklist": checklist.pk,
                                                    "inspector": org.rep.pk, "next_due": today + dt.timedelta(days=i % 7)})
    services.visits_generate()


def test_visit_list_filters_and_pages(org, api_client, checklist):
    _many(org, checklist, 7)
    InspectionVisit.objects.filter(pk=InspectionVisit.objects.order_by("id").first().pk).update(
        overdue_at=timezone.now())
    api = api_client.as_user(org.manager)
    first = api.get("/inspection-visits", {"limit": 4}).json()
    second = api.get("/inspection-visits", {"limit": 4, "cursor": first["next"]}).json()
    dues = [v["due_date"] for v in first["items"] + second["items"]]
    assert len(dues) == 7 and dues == sorted(dues) and second["next"] is None
    assert len(api.get("/inspection-visits", {"overdue": True}).json()["items"]) == 1
    assert len(api.get("/inspection-visits", {"inspector": org.rep.pk}).json()["items"]) == 7
    today = timezone.localdate()
    ranged = api.get("/inspection-visits", {"due_from": today.isoformat(),
                                            "due_to": (today + dt.timedelta(days=30)).isoformat()}).json()["items"]
    assert all(today.isoformat() <= v["due_date"] for v in ranged)
    assert api.get("/inspection-visits", {"cursor": "bm90LWEtY3Vyc29y"}).status_code == 400
    assert api.get("/inspection-visits", {"limit": 500}).status_code == 400
    assert api.get("/inspection-visits", {"ordering": "customer"}).status_code == 400


def test_bad_date_cursor_is_400(org, api_client, checklist, plan):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(["not-a-date", 1]).encode()).decode().rstrip("=")
    api = api_client.as_user(org.manager)
    assert api.get("/inspection-visits", {"cursor": cursor}).status_code == 400
    assert api.get("/inspection-plans", {"cursor": cursor}).status_code == 400


def test_list_query_counts_are_pinned(org, api_client, checklist, django_assert_max_num_queries):
    _many(org, checklist, 12)
    api = api_client.as_user(org.manager)
    # token, user, department subtree, the page (customer, inspector, checklist joined); the plans
    # add the calendar's version check — whatever the page size.
    with django_assert_max_num_queries(5):
        r = api.get("/inspection-visits", {"limit": 50})
    assert len(r.json()["items"]) == 12
    with django_assert_max_num_queries(6):
        r = api.get("/inspection-plans", {"limit": 50})
    assert len(r.json()["items"]) == 12
    with django_assert_max_num_queries(3):
        r = api.get("/inspection-checklists")
    assert len(r.json()["items"]) == 1
