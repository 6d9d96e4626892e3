"""Complaints and service requests (issue 16): their steps raise the version in the database, GET gives
the ETag, and a step sent with a stale If-Match (412) or expected_version (409) is refused unchanged."""

import pytest

from kehu.concurrency.models import VersionStamp
from kehu.service_desk.models import Complaint
from kehu.service_desk.tickets.models import ServiceTicket
from kehu.service_desk.tickets.tests.helpers import customers, record

pytestmark = pytest.mark.django_db

COMPLAINT = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
             "subject": "发货延迟", "description": "订单已延迟五天未发货。"}


def test_complaint_step_with_stale_if_match_is_412_and_changes_nothing(org, api_client):
    api = api_client.as_user(org.agent)
    cid = api.post("/complaints", COMPLAINT).json()["id"]
    r = api.get(f"/complaints/{cid}")
    assert r["ETag"] == 'W/"0"'
    r = api.post(f"/complaints/{cid}/actions", {"action": "judge", "severity": "major"}, headers={"If-Match": 'W/"0"'})
    assert (r.status_code, r["ETag"], r.json()["version"]) == (200, 'W/"1"', 1)
    r = api.post(f"/complaints/{cid}/actions", {"action": "investigate", "cause": "仓库缺货"},
                 headers={"If-Match": 'W/"0"'})
    assert r.status_code == 412
    err = r.json()["error"]
    assert (err["code"], err["current_version"], err["changed_fields"]) == ("stale", 1, ["judge", "state"])
    c = Complaint.objects.get(pk=cid)
    assert (c.state, c.cause, c.version) == ("judged", "", 1)
    assert VersionStamp.objects.filter(object_type="service_desk.complaint", object_id=cid).count() == 1


def test_complaint_step_without_version_still_works_and_raises_it(org, api_client):
    """Steps do not require a version (they are guarded by the state machine); they still raise it."""
    api = api_client.as_user(org.agent)
    cid = api.post("/complaints", COMPLAINT).json()["id"]
    assert api.post(f"/complaints/{cid}/actions", {"action": "judge", "severity": "general"}).status_code == 200
    assert Complaint.objects.get(pk=cid).version == 1


def test_ticket_step_with_stale_version_is_refused(org, api_client):
    cust = customers(org)
    t = record(org.agent, cust["huaxing"])
    api = api_client.as_user(org.agent)
    r = api.get(f"/service-requests/{t.pk}")
    assert r["ETag"] == f'W/"{t.version}"'
    v = t.version
    assert api.post(f"/service-requests/{t.pk}/actions", {"action": "accept"},
                    headers={"If-Match": f'W/"{v}"'}).status_code == 200
    r = api.post(f"/service-requests/{t.pk}/actions", {"action": "resolve", "resolution": "已更换搓纸轮"},
                 headers={"If-Match": f'W/"{v}"'})
    assert (r.status_code, r.json()["error"]["current_version"]) == (412, v + 1)
    r = api.post(f"/service-requests/{t.pk}/actions", {"action": "resolve", "resolution": "已更换搓纸轮",
                                                       "expected_version": v})
    assert r.status_code == 409
    t.refresh_from_db()
    assert (t.resolution, t.version) == ("", v + 1)
    assert ServiceTicket.objects.get(pk=t.pk).state != "resolved"
