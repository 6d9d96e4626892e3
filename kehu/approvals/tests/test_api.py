"""The approval API: each endpoint refuses anonymous callers (401), users outside (403/404), and
speaks the project's error format."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.approvals.models import RequestStatus
from kehu.approvals.services import approval_request


@pytest.fixture
def req(org, huaxing):
    return approval_request(actor=org.rep, chain_code="customer.account_opening", target=huaxing,
                            title="开户：浙江华星石化有限公司")


def error(r):
    body = r.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


ENDPOINTS = [
    ("get", "/approvals/inbox", None),
    ("get", "/approvals/requests", None),
    ("get", "/approvals/requests/{id}", None),
    ("post", "/approvals/requests/{id}/decide", {"decision": "approve"}),
    ("post", "/approvals/requests/{id}/resubmit", {}),
    ("post", "/approvals/requests/{id}/cancel", {}),
    ("get", "/approvals/delegations", None),
    ("post", "/approvals/delegations", {"delegate": 1, "ends_at": "2099-01-01T00:00:00+08:00"}),
    ("get", "/approvals/chains", None),
    ("post", "/approvals/chains", {"code": "x.y", "name": "x", "steps": [{"kind": "role_in_line", "role": "manager"}]}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
def test_every_approval_endpoint_refuses_anonymous_callers_with_401(api_client, req, method, path, body):
    client = api_client.as_user(None)
    url = path.format(id=req.pk)
    r = client.get(url) if method == "get" else client.post(url, body)
    assert r.status_code == 401
    assert error(r)["code"] == "not_authenticated"


@pytest.mark.parametrize("path, body", [
    ("/approvals/requests/{id}", None),
    ("/approvals/requests/{id}/decide", {"decision": "approve"}),
    ("/approvals/requests/{id}/resubmit", {}),
    ("/approvals/requests/{id}/cancel", {}),
])
@pytest.mark.parametrize("who", ["rep2", "north_manager", "finance", "agent"])
def test_a_request_outside_the_callers_reach_is_404(api_client, org, req, path, body, who):
    """Finance is asked at step 2 only, so before then the request is outside its reach too."""
    client = api_client.as_user(getattr(org, who))
    url = path.format(id=req.pk)
    r = client.get(url) if body is None else client.post(url, body)
    assert r.status_code == 404, r.content
    assert error(r)["code"] == "not_found"


def test_someone_who_sees_the_request_but_is_not_asked_gets_403(api_client, org, req):
    r = api_client.as_user(org.executive).post(f"/approvals/requests/{req.pk}/decide", {"decision": "approve"})
    assert r.status_code == 403 and error(r)["code"] == "forbidden"
    r = api_client.as_user(org.manager).post(f"/approvals/requests/{req.pk}/cancel", {})
    assert r.status_code == 403


def test_inbox_decide_and_history_through_the_api(api_client, org, req):
    r = api_client.as_user(org.manager).get("/approvals/inbox")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["request"]["id"] for i in items] == [req.pk] and items[0]["step"] == 1
    r = api_client.post(f"/approvals/requests/{req.pk}/decide", {"decision": "approve", "comment": "同意开户"})
    assert r.status_code == 200
    body = r.json()
    assert body["current_step"] == 2 and body["status"] == "pending"
    assert [e["action"] for e in body["history"]] == ["submitted", "approved"]
    assert body["target_type"] == "customers.customer" and body["chain"] == "customer.account_opening"
    assert [s["role"] for s in body["steps"]] == ["manager", "finance", "executive"]
    r = api_client.as_user(org.rep).get("/approvals/requests")
    assert [i["id"] for i in r.json()["items"]] == [req.pk]
    assert api_client.as_user(org.manager).get("/approvals/requests").json()["items"] == []


def test_reject_without_comment_is_422_naming_the_field(api_client, org, req):
    r = api_client.as_user(org.manager).post(f"/approvals/requests/{req.pk}/decide", {"decision": "reject"})
    assert r.status_code == 422 and "comment" in error(r)["fields"]
    r = api_client.post(f"/approvals/requests/{req.pk}/decide", {"decision": "maybe"})
    assert r.status_code == 422 and "decision" in error(r)["fields"]


def test_second_decision_on_a_decided_step_is_409(api_client, org, req):
    api_client.as_user(org.manager).post(f"/approvals/requests/{req.pk}/decide", {"decision": "approve"})
    r = api_client.post(f"/approvals/requests/{req.pk}/decide", {"decision": "approve"})
    assert r.status_code == 409 and error(r)["code"] == "already_decided"


def test_return_then_resubmit_through_the_api(api_client, org, req):
    api_client.as_user(org.manager).post(f"/approvals/requests/{req.pk}/decide",
                                         {"decision": "return", "comment": "请补充开户资料"})
    r = api_client.as_user(org.rep).post(f"/approvals/requests/{req.pk}/resubmit", {"comment": "已补充"})
    assert r.status_code == 200 and r.json()["round"] == 2 and r.json()["status"] == "pending"
    r = api_client.post(f"/approvals/requests/{req.pk}/cancel", {})
    assert r.status_code == 200 and r.json()["status"] == RequestStatus.CANCELLED
    r = api_client.post(f"/approvals/requests/{req.pk}/cancel", {})
    assert r.status_code == 409


def test_delegations_through_the_api(api_client, org, req):
    until = (timezone.now() + dt.timedelta(days=2)).isoformat()
    r = api_client.as_user(org.manager).post("/approvals/delegations",
                                             {"delegate": org.executive.pk, "ends_at": until, "reason": "休假"})
    assert r.status_code == 201, r.content
    item = r.json()
    assert item["delegate"]["username"] == "executive"
    assert [d["id"] for d in api_client.get("/approvals/delegations").json()] == [item["id"]]
    assert api_client.as_user(org.rep2).get("/approvals/delegations").json() == []
    r = api_client.as_user(org.rep2).post(f"/approvals/delegations/{item['id']}/end")
    assert r.status_code == 404
    r = api_client.as_user(org.executive).post(f"/approvals/delegations/{item['id']}/end")
    assert r.status_code == 403  # the delegate sees it but may not end it
    r = api_client.as_user(org.manager).post(f"/approvals/delegations/{item['id']}/end")
    assert r.status_code == 200
    r = api_client.post("/approvals/delegations", {"delegate": org.manager.pk, "ends_at": until})
    assert r.status_code == 422 and "delegate" in error(r)["fields"]


def test_only_administrators_write_chains(api_client, org):
    body = {"code": "development.plan", "name": "开发计划审批",
            "steps": [{"kind": "role_in_line", "role": "manager"}, {"kind": "users", "users": [org.executive.pk],
                                                                    "mode": "all"}]}
    r = api_client.as_user(org.manager).post("/approvals/chains", body)
    assert r.status_code == 403
    r = api_client.as_user(org.admin).post("/approvals/chains", body)
    assert r.status_code == 201, r.content
    assert [s["kind"] for s in r.json()["steps"]] == ["role_in_line", "users"]
    assert r.json()["steps"][1]["users"] == [org.executive.pk]
    codes = [c["code"] for c in api_client.as_user(org.rep).get("/approvals/chains").json()]
    assert "development.plan" in codes and "customer.account_opening" in codes


def test_request_detail_query_count_is_bounded(api_client, org, req, django_assert_max_num_queries):
    for who in (org.manager, org.finance):
        api_client.as_user(who).post(f"/approvals/requests/{req.pk}/decide", {"decision": "approve"})
    client = api_client.as_user(org.rep)
    with django_assert_max_num_queries(12):
        assert client.get(f"/approvals/requests/{req.pk}").status_code == 200


def test_inbox_query_count_does_not_grow_with_tasks(api_client, org, django_assert_max_num_queries):
    from kehu.customers import services

    for i in range(6):
        c = services.customer_create(actor=org.rep, data={"name": f"杭州测试客户{i}有限公司"})
        approval_request(actor=org.rep, chain_code="complaint.solution.general", target=c, title=f"方案{i}")
    client = api_client.as_user(org.manager)
    with django_assert_max_num_queries(6):
        r = client.get("/approvals/inbox", {"limit": 3})
    assert len(r.json()["items"]) == 3 and r.json()["next"]
    r = client.get("/approvals/inbox", {"limit": 3, "cursor": r.json()["next"]})
    assert len(r.json()["items"]) == 3 and r.json()["next"] is None
