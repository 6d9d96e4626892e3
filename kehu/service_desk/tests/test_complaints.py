import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, Locked, NotFound
from kehu.service_desk import selectors, services, workflow
from kehu.service_desk.models import Complaint, ComplaintEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def record(actor, **kw):
    data = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
            "subject": "发货延迟", "description": "订单已延迟五天未发货。"}
    data.update(kw)
    return services.complaint_record(actor=actor, data=data)


def test_general_complaint_received_before_national_day_is_due_on_the_first_working_day_after(org):
    """A general complaint received 2025-09-30 10:00 is due 2025-10-09 24:00 (National Day holiday)."""
    c = record(org.agent, received_at=dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH))
    assert c.due_at == dt.datetime(2025, 10, 10, 0, 0, tzinfo=SH)
    assert c.accountable == org.agent and c.received_by == org.agent


def test_major_complaint_across_national_day_is_due_on_the_saturday_make_up_day(org):
    """Judged major (3 working days): due 2025-10-11 24:00, a Saturday make-up working day (调休)."""
    c = record(org.agent, received_at=dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH))
    c = services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge",
                               data={"severity": "major", "category": "物流"})
    assert c.due_at == dt.datetime(2025, 10, 12, 0, 0, tzinfo=SH)
    assert c.sla_days == 3


def test_whoever_receives_it_follows_up_every_step_is_recorded_and_audited(org):
    """谁受理、谁跟进: the receiver is accountable; each step writes an event and an audit entry."""
    c = record(org.agent)
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": "general"})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="investigate", data={"cause": "仓库漏发"})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="assign", data={"responsible": org.rep.pk})
    c.refresh_from_db()
    assert c.state == workflow.ASSIGNED and c.responsible == org.rep and c.accountable == org.agent
    assert [e.action for e in c.events.order_by("id")] == ["record", "judge", "investigate", "assign"]
    assert AuditEntry.objects.filter(object_type="service_desk.complaint", object_id=str(c.pk)).count() == 4
    # the responsible person now sees the complaint although it is not theirs
    assert selectors.complaint_get(actor=org.rep, complaint_id=c.pk).pk == c.pk


def test_answering_before_the_solution_is_approved_is_refused_with_409(org):
    c = record(org.agent)
    with pytest.raises(Conflict) as exc:
        services.complaint_act(actor=org.agent, complaint_id=c.pk, action="answer", data={"reply": "已处理"})
    assert exc.value.status == 409 and exc.value.code == "illegal_transition"
    c.refresh_from_db()
    assert c.state == workflow.RECORDED and c.reply == ""


def test_two_agents_acting_on_the_same_version_only_one_wins(org):
    """Both saw version 0; the first judge wins, the second gets 409 and changes nothing."""
    c = record(org.agent)
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": "major"},
                           expected_version=0)
    with pytest.raises(Conflict):
        services.complaint_act(actor=org.executive, complaint_id=c.pk, action="judge",
                               data={"severity": "general"}, expected_version=0)
    c.refresh_from_db()
    assert c.severity == "major" and c.version == 1


def test_required_details_per_step(org):
    c = record(org.agent)
    with pytest.raises(Invalid):
        services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": "huge"})
    c.refresh_from_db()
    assert c.state == workflow.RECORDED


def test_only_a_manager_reassigns_and_must_give_a_reason(org):
    c = record(org.agent)
    with pytest.raises(Forbidden):
        services.complaint_reassign(actor=org.agent, complaint_id=c.pk, user_id=org.rep.pk, reason="x")
    with pytest.raises(Invalid):
        services.complaint_reassign(actor=org.executive, complaint_id=c.pk, user_id=org.rep.pk, reason=" ")
    c = services.complaint_reassign(actor=org.executive, complaint_id=c.pk, user_id=org.rep.pk, reason="客户经理跟进")
    assert c.accountable == org.rep and c.department == org.rep.department


def test_a_rep_cannot_see_another_reps_complaint(org):
    c = record(org.rep)
    with pytest.raises(NotFound):
        selectors.complaint_get(actor=org.rep2, complaint_id=c.pk)
    assert selectors.complaint_get(actor=org.manager, complaint_id=c.pk).pk == c.pk
    with pytest.raises(NotFound):
        selectors.complaint_get(actor=org.north_manager, complaint_id=c.pk)


def test_roles_without_complaint_handling_cannot_record(org):
    with pytest.raises(Forbidden):
        record(org.finance)


def test_public_form_goes_to_the_least_busy_agent_and_can_be_tracked_by_phone(org):
    c = services.complaint_public_submit(data={"complainant_name": "李女士", "complainant_phone": "13900139000",
                                               "subject": "服务态度", "description": "客服挂断电话。"}, ip="10.0.0.9")
    assert c.accountable == org.agent and c.received_by is None and c.channel == "online_form"
    assert selectors.complaint_track(tracking_no=c.tracking_no.lower(), phone="139 0013 9000").pk == c.pk
    assert selectors.complaint_track(tracking_no=c.tracking_no, phone="13800138000") is None


def test_public_form_is_rate_limited_per_address_and_refuses_the_spam_trap(org, settings):
    settings.KEHU_PUBLIC_FORM_RATE = (2, 3600)
    from kehu.access.context import current_ip

    data = {"complainant_name": "李女士", "complainant_phone": "13900139000", "subject": "s", "description": "d"}
    token = current_ip.set("10.0.0.7")
    try:
        services.complaint_public_submit(data=data, ip="10.0.0.7")
        services.complaint_public_submit(data=data, ip="10.0.0.7")
        with pytest.raises(Locked):
            services.complaint_public_submit(data=data, ip="10.0.0.7")
        with pytest.raises(Invalid):
            services.complaint_public_submit(data={**data, "website": "http://spam"}, ip="10.0.0.8")
    finally:
        current_ip.reset(token)
    assert Complaint.objects.count() == 2


def test_sla_sweep_marks_breaches_escalates_to_the_manager_then_above_and_is_idempotent(org):
    """Past due → breached and escalated to the managers of the department line; one working day
    later → the level above. Running the sweep again changes nothing."""
    c = record(org.rep, received_at=dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH))  # due 2025-10-10 00:00
    before_due = dt.datetime(2025, 10, 9, 23, 0, tzinfo=SH)
    assert services.complaint_sla_sweep(now=before_due) == {"breached": 0, "escalated": 0, "followup_reminded": 0}
    after_due = dt.datetime(2025, 10, 10, 9, 0, tzinfo=SH)
    assert services.complaint_sla_sweep(now=after_due) == {"breached": 1, "escalated": 0, "followup_reminded": 0}
    assert services.complaint_sla_sweep(now=after_due) == {"breached": 0, "escalated": 0, "followup_reminded": 0}
    c.refresh_from_db()
    assert c.breached_at == after_due and c.escalation_level == 1
    level1 = ComplaintEvent.objects.get(complaint=c, action="escalated_1")
    assert level1.note == org.manager.display_name
    # 2025-10-11 is a make-up working day: one more working day after the due date ends 10-11 24:00
    assert services.complaint_sla_sweep(now=dt.datetime(2025, 10, 11, 23, 0, tzinfo=SH))["escalated"] == 0
    assert services.complaint_sla_sweep(now=dt.datetime(2025, 10, 12, 1, 0, tzinfo=SH))["escalated"] == 1
    assert services.complaint_sla_sweep(now=dt.datetime(2025, 10, 13, 1, 0, tzinfo=SH))["escalated"] == 0
    c.refresh_from_db()
    assert c.escalation_level == 2


def test_closed_complaints_are_never_swept(org):
    c = record(org.agent, received_at=timezone.now() - dt.timedelta(days=30))
    Complaint.objects.filter(pk=c.pk).update(state=workflow.CLOSED)
    assert services.complaint_sla_sweep()["breached"] == 0
