"""Severity routing as the policy says (issue 8): a general complaint's solution goes to the supervisor
chain; a major (较大 / 情节较重) or serious (严重) one to the managers'-meeting chain. The approver gets
what they need to decide in the request's payload; the extension names the new due date."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kehu.approvals.models import ApprovalRequest
from kehu.service_desk import services

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _proposed(org, severity: str):
    c = services.complaint_record(actor=org.agent, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": severity})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="investigate", data={"cause": "仓库漏发"})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="assign", data={"responsible": org.rep.pk})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="propose",
                           data={"solution": "补发并赔偿运费", "meeting_minutes": "经理办公会：同意补发"})
    return c, ApprovalRequest.objects.get(object_id=str(c.pk))


@pytest.mark.parametrize("severity,chain", [("general", "complaint.solution.general"),
                                            ("major", "complaint.solution.serious"),
                                            ("serious", "complaint.solution.serious")])
def test_major_and_serious_complaint_solutions_go_to_the_managers_meeting_general_to_the_supervisor(
        org, severity, chain):
    c, req = _proposed(org, severity)
    assert req.chain.code == chain
    assert req.payload["summary"] == "补发并赔偿运费" and req.payload["object_url"] == f"/complaints/{c.pk}/"


def test_extension_request_tells_the_approver_the_current_and_proposed_due_dates(org):
    c = services.complaint_record(actor=org.agent, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。",
        "received_at": dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH)})
    services.complaint_request_extension(actor=org.agent, complaint_id=c.pk, days=3, reason="需送检")
    req = ApprovalRequest.objects.get(object_id=str(c.pk), chain__code=services.EXTENSION_CHAIN)
    assert req.payload["current_due"] == c.due_at.isoformat()
    assert dt.datetime.fromisoformat(req.payload["proposed_due"]) == dt.datetime(2025, 10, 12, 0, 0, tzinfo=SH)
    assert req.payload["reason"] == "需送检" and req.payload["object_url"] == f"/complaints/{c.pk}/"
    assert "2025-10-11 24:00" in req.title  # the new due date, not "3 working days"
    assert "2025-10-11 24:00" in c.events.get(action="extension_requested").note


def test_extension_form_lists_the_new_due_dates(org, client):
    c = services.complaint_record(actor=org.agent, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。",
        "received_at": dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH)})
    client.force_login(org.agent)
    html = client.get(f"/complaints/{c.pk}/").content.decode()
    assert "2025-10-11 24:00" in html  # 3 working days in all: the make-up Saturday
