import pytest

from kehu.service_desk.models import Complaint

pytestmark = pytest.mark.django_db

BODY = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"}


def test_record_and_walk_a_complaint_through_the_api(org, api_client):
    api = api_client.as_user(org.agent)
    r = api.post("/complaints", BODY)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["complainant_phone"] == "138****8000"
    assert body["state"] == "recorded" and body["accountable"] == org.agent.pk
    cid = body["id"]
    r = api.post(f"/complaints/{cid}/actions", {"action": "judge", "severity": "major", "expected_version": 0})
    assert r.status_code == 200 and r.json()["sla_days"] == 3
    r = api.post(f"/complaints/{cid}/actions", {"action": "answer", "reply": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    r = api.post(f"/complaints/{cid}/actions", {"action": "judge", "severity": "general", "expected_version": 0})
    assert r.status_code == 409
    events = api.get(f"/complaints/{cid}/events").json()
    assert [e["action"] for e in events] == ["record", "judge"]


def test_complaint_endpoints_refuse_outside_scope_and_anonymous(org, api_client):
    cid = api_client.as_user(org.rep).post("/complaints", BODY).json()["id"]
    other = api_client.as_user(org.rep2)
    assert other.get(f"/complaints/{cid}").status_code == 404
    assert other.post(f"/complaints/{cid}/actions", {"action": "judge", "severity": "general"}).status_code == 404
    assert other.get("/complaints").json()["items"] == []
    assert api_client.as_user(org.finance).post("/complaints", BODY).status_code == 403
    anon = api_client.as_user(None)
    assert anon.get("/complaints").status_code == 401
    assert anon.get(f"/complaints/{cid}").status_code == 401


def test_public_form_and_tracking_need_no_account(org, api_client):
    anon = api_client.as_user(None)
    r = anon.post("/public/complaints", {"complainant_name": "李女士", "complainant_phone": "13900139000",
                                         "subject": "服务态度", "description": "客服挂断电话。"})
    assert r.status_code == 201, r.content
    no = r.json()["tracking_no"]
    r = anon.post("/public/complaints/track", {"tracking_no": no, "phone": "13900139000"})
    assert r.status_code == 200 and r.json()["state"] == "recorded" and "complainant_name" not in r.json()
    assert anon.post("/public/complaints/track", {"tracking_no": no, "phone": "13800138000"}).status_code == 404
    assert Complaint.objects.get(tracking_no=no).accountable == org.agent


def test_public_tracking_takes_the_phone_in_a_post_body_never_the_query_string(org, api_client):
    anon = api_client.as_user(None)
    no = anon.post("/public/complaints", {"complainant_name": "李女士", "complainant_phone": "13900139000",
                                          "subject": "服务态度", "description": "客服挂断电话。"}).json()["tracking_no"]
    # the old GET with the phone in the URL is gone
    assert anon.get(f"/public/complaints/{no}", {"phone": "13900139000"}).status_code in (404, 405)
    r = anon.post("/public/complaints/track", {"tracking_no": no, "phone": "13900139000"})
    assert r.status_code == 200 and r.json()["tracking_no"] == no
    assert anon.post("/public/complaints/track", {"tracking_no": no}).status_code in (400, 422)
