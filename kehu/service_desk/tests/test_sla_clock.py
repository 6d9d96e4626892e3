"""The complaint clock stops when the customer is told the result (policy 处理时间; issue 8): the SLA
sweep, the list, the board and the reports share one definition (kehu.service_desk.sla); the return
visit and the summary run on a separate follow-up deadline that is reminded, never breached; and the
data migration clears breaches recorded on complaints answered in time, auditing each correction."""

import datetime as dt
import importlib
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_verify
from kehu.notifications.models import Notification
from kehu.service_desk import reports, selectors, services, sla, workflow
from kehu.service_desk.models import Complaint, ComplaintEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
RECEIVED = dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH)  # general: due 2025-10-10 00:00
AFTER_DUE = dt.datetime(2025, 10, 10, 9, 0, tzinfo=SH)
LEVEL_2 = dt.datetime(2025, 10, 12, 1, 0, tzinfo=SH)


def record(actor, **kw) -> Complaint:
    data = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
            "subject": "发货延迟", "description": "订单已延迟五天未发货。", "received_at": RECEIVED}
    data.update(kw)
    return services.complaint_record(actor=actor, data=data)


def answer(actor, c: Complaint, *, at: dt.datetime, monkeypatch) -> Complaint:
    """Bring ``c`` to "solution approved" (the approval engine's outcome) and answer it at ``at``."""
    Complaint.objects.filter(pk=c.pk).update(state=workflow.SOLUTION_APPROVED)
    monkeypatch.setattr(services.timezone, "now", lambda: at)
    c = services.complaint_act(actor=actor, complaint_id=c.pk, action="answer", data={"reply": "已补发，致歉。"})
    monkeypatch.undo()
    return c


def test_complaint_answered_in_time_is_not_breached_while_awaiting_its_return_visit(org, monkeypatch):
    c = answer(org.agent, record(org.agent), at=dt.datetime(2025, 10, 9, 15, 0, tzinfo=SH), monkeypatch=monkeypatch)
    assert c.state == workflow.ANSWERED
    # follow-up: 3 working days after the answer (10, the make-up Saturday 11, 13 October)
    assert c.followup_due_at == dt.datetime(2025, 10, 14, 0, 0, tzinfo=SH)
    result = services.complaint_sla_sweep(now=AFTER_DUE)
    assert result == {"breached": 0, "escalated": 0, "followup_reminded": 0}
    c.refresh_from_db()
    assert c.breached_at is None and c.escalation_level == 0
    assert not ComplaintEvent.objects.filter(complaint=c, action__startswith="escalated").exists()


def test_complaint_follow_up_deadline_is_reminded_once_and_never_counted_as_an_sla_breach(
        org, monkeypatch, django_capture_on_commit_callbacks):
    c = answer(org.agent, record(org.agent), at=dt.datetime(2025, 10, 9, 15, 0, tzinfo=SH), monkeypatch=monkeypatch)
    late = dt.datetime(2025, 10, 16, 9, 0, tzinfo=SH)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.complaint_sla_sweep(now=late) == {"breached": 0, "escalated": 0, "followup_reminded": 1}
    assert services.complaint_sla_sweep(now=late) == {"breached": 0, "escalated": 0, "followup_reminded": 0}
    c.refresh_from_db()
    assert c.breached_at is None and c.escalation_level == 0 and c.followup_reminded_at == late
    assert ComplaintEvent.objects.filter(complaint=c, action="followup_overdue").count() == 1
    assert AuditEntry.objects.filter(action="complaint.followup_remind", object_id=str(c.pk)).count() == 1
    assert Notification.objects.filter(user=org.agent, link=f"/complaints/{c.pk}/").count() == 1
    assert audit_verify() == []
    # the reports count it as an overdue follow-up, not as late or open-overdue
    row = reports.complaint_report_sla(actor=org.agent, date_from=dt.date(2025, 9, 1), date_to=dt.date(2025, 10, 31),
                                       now=late)["overall"]
    assert (row["answered_in_time"], row["answered_late"], row["open_overdue"]) == (1, 0, 0)
    assert (row["followup_open"], row["followup_overdue"]) == (1, 1)
    assert row["compliance_pct"] == 100.0


def test_follow_up_days_are_a_setting(org, monkeypatch, settings):
    settings.KEHU_COMPLAINT_FOLLOWUP_DAYS = 1
    c = answer(org.agent, record(org.agent), at=dt.datetime(2025, 10, 9, 15, 0, tzinfo=SH), monkeypatch=monkeypatch)
    assert c.followup_due_at == dt.datetime(2025, 10, 11, 0, 0, tzinfo=SH)


def test_complaint_breached_then_answered_is_not_escalated_further(org, monkeypatch):
    c = record(org.agent)
    assert services.complaint_sla_sweep(now=AFTER_DUE)["breached"] == 1
    answer(org.agent, c, at=dt.datetime(2025, 10, 10, 10, 0, tzinfo=SH), monkeypatch=monkeypatch)
    assert services.complaint_sla_sweep(now=LEVEL_2)["escalated"] == 0
    c.refresh_from_db()
    assert c.escalation_level == 1 and c.breached_at is not None  # a true breach stays recorded


def test_board_list_reports_and_sweep_share_one_definition_of_breached(org, monkeypatch):
    on_time = answer(org.agent, record(org.agent), at=dt.datetime(2025, 10, 9, 15, 0, tzinfo=SH),
                     monkeypatch=monkeypatch)
    overdue = record(org.agent, subject="退款未到账")
    services.complaint_sla_sweep(now=AFTER_DUE)
    breached = selectors.complaint_list(actor=org.agent, breached=True).items
    assert [c.pk for c in breached] == [overdue.pk]
    assert set(Complaint.objects.filter(sla.breached_q()).values_list("pk", flat=True)) == {overdue.pk}
    assert set(Complaint.objects.filter(sla.complaint_overdue_q(AFTER_DUE)).values_list("pk", flat=True)) == {overdue.pk}
    assert on_time.pk in set(Complaint.objects.filter(sla.complaint_followup_q()).values_list("pk", flat=True))
    row = reports.complaint_report_sla(actor=org.agent, date_from=dt.date(2025, 9, 1), date_to=dt.date(2025, 10, 31),
                                       now=AFTER_DUE)["overall"]
    assert (row["answered_in_time"], row["open_overdue"]) == (1, 1)


def test_board_shows_the_follow_up_deadline_not_an_overdue_sla_for_an_answered_complaint(org, client, monkeypatch):
    c = answer(org.agent, record(org.agent), at=dt.datetime(2025, 10, 9, 15, 0, tzinfo=SH), monkeypatch=monkeypatch)
    client.force_login(org.agent)
    html = client.get("/complaints/").content.decode()
    assert c.tracking_no in html or c.subject in html
    from kehu.service_desk.views import _with_due

    shown = _with_due([c], dt.datetime(2025, 10, 12, 9, 0, tzinfo=SH))[0]
    assert shown.due_tone == "green" and shown.shown_due == c.followup_due_at


def _migration():
    return importlib.import_module("kehu.service_desk.migrations.0004_correct_breached_answered_in_time")


def test_data_migration_clears_breaches_of_complaints_answered_in_time_and_audits_each(org, monkeypatch):
    in_time = answer(org.agent, record(org.agent), at=dt.datetime(2025, 10, 9, 15, 0, tzinfo=SH),
                     monkeypatch=monkeypatch)
    late = answer(org.agent, record(org.agent, subject="发票错误"), at=dt.datetime(2025, 10, 11, 9, 0, tzinfo=SH),
                  monkeypatch=monkeypatch)
    # what the old sweep did: both flagged breached and escalated, the first falsely; and no follow-up deadline
    Complaint.objects.filter(pk__in=[in_time.pk, late.pk]).update(
        breached_at=AFTER_DUE, escalation_level=1, followup_due_at=None)
    _migration().correct_breached_answered_in_time(django_apps, None)
    in_time.refresh_from_db()
    late.refresh_from_db()
    assert in_time.breached_at is None and in_time.escalation_level == 0
    assert late.breached_at == AFTER_DUE and late.escalation_level == 1  # answered late: a real breach
    assert in_time.followup_due_at == dt.datetime(2025, 10, 14, 0, 0, tzinfo=SH)
    entry = AuditEntry.objects.get(action="complaint.breach_corrected")
    assert entry.object_id == str(in_time.pk) and entry.changes["escalation_level"] == [1, 0]
    assert ComplaintEvent.objects.filter(complaint=in_time, action="breach_corrected").count() == 1
    assert not ComplaintEvent.objects.filter(complaint=late, action="breach_corrected").exists()
    assert audit_verify() == []
    # running it again changes nothing
    _migration().correct_breached_answered_in_time(django_apps, None)
    assert AuditEntry.objects.filter(action="complaint.breach_corrected").count() == 1


def test_demo_load_creates_complaints_in_every_state_with_content_for_every_board_and_report(org):
    import random

    from kehu.approvals.models import ApprovalRequest
    from kehu.customers.tests.factories import org_customer
    from kehu.service_desk.demo import demo_load

    org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    summary = demo_load(users={**org.users, "ceo": org.executive}, rng=random.Random(7))
    assert summary.startswith("complaints: 20")
    assert set(Complaint.objects.values_list("state", flat=True)) == set(workflow.STATES)
    assert Complaint.objects.filter(breached_at__isnull=False).exists()
    assert Complaint.objects.filter(escalation_level=2).exists()
    assert Complaint.objects.filter(state=workflow.ANSWERED, breached_at__isnull=True).exists()
    assert ComplaintEvent.objects.filter(action="extension_requested").count() == 2
    pending = ApprovalRequest.objects.filter(status="pending", chain__code=services.APPROVAL_CHAINS["serious"])
    assert pending.count() == 2  # the major and the serious one wait for the managers' meeting
    from kehu.approvals.models import ApprovalMeeting

    decided = ApprovalMeeting.objects.get()  # a major complaint decided in a recorded managers' meeting
    assert decided.decision == "approve" and decided.minutes and decided.participants.count() >= 2
    assert Complaint.objects.get(pk=decided.request.object_id).severity == "major"
    # answered in time is never breached: the sweep and the data agree
    assert not Complaint.objects.filter(sla.complaint_in_time_q(), breached_at__isnull=False,
                                        answered_at__isnull=False).exists()
    assert audit_verify() == []
