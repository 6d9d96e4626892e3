"""Service requests (咨询/报修/服务请求) and emergencies: due dates in working days, the procedure,
the emergency channel, the SLA sweep and the data scope."""

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from kehu.access.models import User
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.notifications.models import Notification
from kehu.service_desk.tickets import selectors, services, workflow
from kehu.service_desk.tickets.models import OnDutyRoster, ServiceTicket, TicketEvent
from kehu.service_desk.tickets.tests.helpers import at, customers, record, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def cust(org):
    return customers(org)


# ---------------------------------------------------------------- due dates

@pytest.mark.parametrize(("kind", "received", "due"), [
    # National Day 2025: 10-01 … 10-08 off, Saturday 10-11 a make-up working day (调休)
    ("consultation", at(2025, 9, 30, 10, 0), at(2025, 10, 10, 0, 0)),
    ("repair", at(2025, 9, 30, 10, 0), at(2025, 10, 12, 0, 0)),
    ("service", at(2025, 9, 30, 10, 0), at(2025, 10, 12, 0, 0)),
    # received on a holiday: counts from 00:00 of the next working day (10-09)
    ("consultation", at(2025, 10, 3, 15, 0), at(2025, 10, 11, 0, 0)),
    # Spring Festival 2025: 01-28 … 02-04 off
    ("consultation", at(2025, 1, 27, 9, 0), at(2025, 2, 6, 0, 0)),
    ("repair", at(2025, 1, 27, 9, 0), at(2025, 2, 8, 0, 0)),
    # Spring Festival 2026: 02-15 … 02-23 off, Saturdays 02-14 and 02-28 worked
    ("consultation", at(2026, 2, 13, 16, 0), at(2026, 2, 15, 0, 0)),
    ("repair", at(2026, 2, 13, 16, 0), at(2026, 2, 26, 0, 0)),
    ("service", at(2026, 2, 13, 16, 0), at(2026, 2, 26, 0, 0)),
])
def test_request_is_due_after_its_kinds_working_days_across_national_day_and_spring_festival(
        org, cust, kind, received, due):
    t = record(org.agent, cust["huaxing"], kind=kind, received_at=received)
    assert t.due_at == due
    assert t.sla_days == {"consultation": 1, "repair": 3, "service": 3}[kind]
    assert t.response_due_at is None


def test_sla_days_per_kind_come_from_the_setting_read_at_call_time(org, cust, settings):
    settings.KEHU_SERVICE_SLA_DAYS = {"repair": 2}
    t = record(org.agent, cust["huaxing"], kind="repair", received_at=at(2025, 9, 30, 10, 0))
    assert t.sla_days == 2 and t.due_at == at(2025, 10, 11, 0, 0)
    assert services.sla_days_for("consultation") == 1  # the other kinds keep the defaults


def test_emergency_is_answered_within_hours_and_resolved_the_same_working_day(org, cust, settings):
    t = record(org.agent, cust["huaxing"], kind="emergency", received_at=at(2025, 9, 30, 10, 0))
    assert t.response_due_at == at(2025, 9, 30, 12, 0)
    assert t.due_at == at(2025, 10, 1, 0, 0) and t.priority == "urgent" and t.number.startswith("JJ")
    settings.KEHU_EMERGENCY_RESPONSE_HOURS = 1
    # received on a National Day holiday: first response still in clock hours, resolution by the end of
    # the next working day
    t = record(org.agent, cust["huaxing"], kind="emergency", received_at=at(2025, 10, 3, 22, 30))
    assert t.response_due_at == at(2025, 10, 3, 23, 30)
    assert t.due_at == at(2025, 10, 10, 0, 0)


# ---------------------------------------------------------------- the procedure

LEGAL = {
    ("open", "accept"): "accepted",
    ("open", "cancel"): "cancelled",
    ("accepted", "start"): "in_progress",
    ("accepted", "cancel"): "cancelled",
    ("in_progress", "resolve"): "resolved",
    ("in_progress", "cancel"): "cancelled",
    ("resolved", "reopen"): "in_progress",
    ("resolved", "inform"): "resolved",
    ("resolved", "close"): "closed",
}
PATH_TO = {"open": [], "accepted": ["accept"], "in_progress": ["accept", "start"],
           "resolved": ["accept", "start", "resolve"], "closed": ["accept", "start", "resolve", "close"],
           "cancelled": ["cancel"]}
STEP_DATA = {"resolution": "更换轴承，试运行正常。", "reason": "客户要求", "confirmation": "客户电话确认已恢复",
             "informed_via": "phone", "informed_note": "已电话告知处理结果"}


def test_the_transition_map_lists_every_legal_move():
    expected = {(s, a): to for (s, a), to in LEGAL.items()}
    actual = {(s, a): workflow.TRANSITIONS[a][1] for a in workflow.ACTIONS for s in workflow.TRANSITIONS[a][0]}
    assert actual == expected


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in workflow.STATES for a in workflow.ACTIONS])
def test_every_move_is_allowed_exactly_when_the_procedure_says_and_illegal_ones_are_409(org, cust, state, action):
    t = walk(org.agent, record(org.agent, cust["huaxing"]), *PATH_TO[state], **STEP_DATA)
    assert t.state == state
    audits = AuditEntry.objects.count()
    if (state, action) in LEGAL:
        t = services.ticket_act(actor=org.agent, ticket_id=t.pk, action=action, data=STEP_DATA,
                                expected_version=t.version)
        assert t.state == LEGAL[(state, action)]
        assert AuditEntry.objects.filter(action=f"ticket.{action}").exists()
        assert t.events.order_by("-id").first().action == action
    else:
        with pytest.raises(Conflict) as exc:
            services.ticket_act(actor=org.agent, ticket_id=t.pk, action=action, data=STEP_DATA)
        assert exc.value.status == 409 and exc.value.code == "illegal_transition"
        assert ServiceTicket.objects.get(pk=t.pk).state == state
        assert AuditEntry.objects.count() == audits


def test_full_walk_records_who_did_what_and_the_resolution(org, cust):
    t = record(org.agent, cust["huaxing"])
    assert t.accountable == org.agent and t.department == org.agent.department and t.state == "open"
    t = services.ticket_act(actor=org.agent, ticket_id=t.pk, action="accept")
    assert t.assignee == org.agent and t.responded_at is not None
    t = walk(org.agent, t, "start")
    with pytest.raises(Invalid):
        services.ticket_act(actor=org.agent, ticket_id=t.pk, action="resolve", data={"resolution": " "})
    t = walk(org.agent, t, "resolve", resolution="更换轴承，试运行正常。")
    with pytest.raises(Invalid):
        services.ticket_act(actor=org.agent, ticket_id=t.pk, action="close")
    t = walk(org.agent, t, "close", confirmation="客户电话确认设备已恢复")
    assert t.state == "closed" and t.closed_at and t.resolution == "更换轴承，试运行正常。"
    assert [e.action for e in t.events.order_by("id")] == ["record", "accept", "start", "resolve", "close"]
    assert AuditEntry.objects.filter(object_type="service_tickets.serviceticket", object_id=str(t.pk)).count() == 5


def test_two_agents_acting_on_the_same_version_only_one_wins(org, cust):
    t = record(org.agent, cust["huaxing"])
    services.ticket_act(actor=org.agent, ticket_id=t.pk, action="accept", expected_version=0)
    with pytest.raises(Conflict) as exc:
        services.ticket_act(actor=org.executive, ticket_id=t.pk, action="cancel", data={"reason": "重复"},
                            expected_version=0)
    assert exc.value.code == "stale"
    assert ServiceTicket.objects.get(pk=t.pk).state == "accepted"


def test_unknown_action_kind_or_channel_is_refused_and_writes_nothing(org, cust):
    t = record(org.agent, cust["huaxing"])
    with pytest.raises(Invalid):
        services.ticket_act(actor=org.agent, ticket_id=t.pk, action="teleport")
    for bad in ({"kind": "gossip"}, {"channel": "pigeon"}, {"subject": ""}, {"priority": "whenever"}):
        with pytest.raises(Invalid):
            record(org.agent, cust["huaxing"], **bad)
    with pytest.raises(Invalid):
        record(org.agent, cust["huaxing"], received_at=at(2099, 1, 1, 0, 0))
    assert ServiceTicket.objects.count() == 1


def test_assign_gives_the_work_to_a_handler_who_is_notified_and_then_sees_it(org, cust, django_capture_on_commit_callbacks):
    t = record(org.rep, cust["huaxing"])
    with pytest.raises(Invalid):
        services.ticket_assign(actor=org.rep, ticket_id=t.pk, user_id=org.finance.pk)
    with django_capture_on_commit_callbacks(execute=True):
        t = services.ticket_assign(actor=org.rep, ticket_id=t.pk, user_id=org.north_rep.pk)
    assert t.assignee == org.north_rep and t.accountable == org.rep
    assert Notification.objects.filter(user=org.north_rep, link=f"/service/{t.pk}/").exists()
    assert selectors.ticket_get(actor=org.north_rep, ticket_id=t.pk).pk == t.pk
    walk(org.rep, t, "cancel", reason="客户撤回")
    with pytest.raises(Conflict):
        services.ticket_assign(actor=org.rep, ticket_id=t.pk, user_id=org.agent.pk)


# ---------------------------------------------------------------- emergencies

def on_duty(user, **kw):
    values = {"user": user, "start_date": dt.date(2020, 1, 1), "end_date": dt.date(2099, 12, 31),
              "start_time": dt.time(0, 0), "end_time": dt.time(0, 0)}
    values.update(kw)
    return OnDutyRoster.objects.create(**values)


def test_an_emergency_notifies_the_people_on_duty_at_once_in_app_and_by_email(
        org, cust, django_capture_on_commit_callbacks):
    User.objects.filter(pk=org.agent.pk).update(email="zhoumin@example.com")
    on_duty(org.agent)  # every department, all day
    on_duty(org.north_rep, department=org.depts["north"])  # not the customer's department
    on_duty(org.rep2, start_date=dt.date(2020, 1, 1), end_date=dt.date(2020, 1, 2))  # long over
    with django_capture_on_commit_callbacks(execute=True):
        t = record(org.rep, cust["huaxing"], kind="emergency", subject="生产线停机")
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["agent"]
    note = Notification.objects.get()
    assert t.number in note.title and note.link == f"/service/{t.pk}/"
    [message] = mail.outbox
    assert message.to == ["zhoumin@example.com"] and t.number in message.subject
    event = TicketEvent.objects.get(ticket=t, action="alerted_on_duty")
    assert event.note == org.agent.display_name
    assert AuditEntry.objects.filter(action="ticket.emergency_alert", object_id=str(t.pk)).exists()


def test_an_emergency_with_nobody_on_duty_notifies_the_department_line_managers(
        org, cust, django_capture_on_commit_callbacks):
    on_duty(org.agent, start_date=dt.date(2020, 1, 1), end_date=dt.date(2020, 1, 2))
    with django_capture_on_commit_callbacks(execute=True):
        t = record(org.agent, cust["huaxing"], kind="emergency", subject="生产线停机")
    # the customer's department (华东区) has a manager; 客服部 and 总部 have none
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"manager"}
    assert TicketEvent.objects.filter(ticket=t, action="alerted_managers").exists()


def test_nothing_is_notified_when_recording_the_emergency_fails(org, cust, django_capture_on_commit_callbacks):
    on_duty(org.agent)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Invalid):
        record(org.agent, cust["huaxing"], kind="emergency", channel="pigeon")
    assert Notification.objects.count() == 0


def test_a_non_emergency_notifies_nobody_on_duty(org, cust, django_capture_on_commit_callbacks):
    on_duty(org.agent)
    with django_capture_on_commit_callbacks(execute=True):
        record(org.rep, cust["huaxing"], kind="repair")
    assert Notification.objects.count() == 0


def test_closing_an_emergency_before_the_customer_is_told_the_result_is_refused(org, cust):
    t = record(org.agent, cust["huaxing"], kind="emergency")
    t = walk(org.agent, t, "accept", "start", "resolve", resolution="已切换备用线路")
    with pytest.raises(Conflict) as exc:
        services.ticket_act(actor=org.agent, ticket_id=t.pk, action="close", data={"confirmation": "客户确认"})
    assert exc.value.code == "customer_not_informed"
    assert ServiceTicket.objects.get(pk=t.pk).state == "resolved"
    with pytest.raises(Invalid):  # how the customer was told is required
        services.ticket_act(actor=org.agent, ticket_id=t.pk, action="inform", data={"informed_note": "已告知"})
    t = walk(org.agent, t, "inform", informed_via="wechat", informed_note="微信告知客户：已恢复供电")
    assert t.customer_informed_at and t.customer_informed_via == "wechat"
    t = walk(org.agent, t, "close", confirmation="客户确认生产恢复")
    assert t.state == "closed"


def test_a_reopened_emergency_must_tell_the_customer_the_new_result_again(org, cust):
    t = record(org.agent, cust["huaxing"], kind="emergency")
    t = walk(org.agent, t, "accept", "start", "resolve", "inform", "reopen", "resolve", **STEP_DATA)
    assert t.customer_informed_at is None
    with pytest.raises(Conflict):
        services.ticket_act(actor=org.agent, ticket_id=t.pk, action="close", data=STEP_DATA)
    assert walk(org.agent, t, "inform", "close", **STEP_DATA).state == "closed"


def test_the_database_refuses_a_closed_emergency_without_the_customer_informed(org, cust):
    t = record(org.agent, cust["huaxing"], kind="emergency")
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceTicket.objects.filter(pk=t.pk).update(state="closed", closed_at=t.received_at)


def test_on_duty_shift_windows_weekdays_and_overnight(org, cust):
    from kehu.service_desk.tickets.duty import covers

    shift = {"start_date": dt.date(2026, 3, 2), "end_date": dt.date(2026, 3, 8), "weekdays": 0b0011111}
    night = {**shift, "start_time": dt.time(18, 0), "end_time": dt.time(8, 0)}
    assert covers(**night, at_local=at(2026, 3, 2, 23, 0))  # Monday night
    assert covers(**night, at_local=at(2026, 3, 3, 7, 59))  # Monday's shift past midnight
    assert not covers(**night, at_local=at(2026, 3, 3, 8, 0))
    assert covers(**night, at_local=at(2026, 3, 7, 2, 0))  # Friday's shift runs into Saturday
    assert not covers(**night, at_local=at(2026, 3, 7, 23, 0))  # Saturday is not a duty day
    day = {**shift, "start_time": dt.time(8, 30), "end_time": dt.time(17, 30)}
    assert covers(**day, at_local=at(2026, 3, 4, 8, 30)) and not covers(**day, at_local=at(2026, 3, 4, 17, 30))
    assert not covers(**day, at_local=at(2026, 3, 9, 10, 0))  # after the range


# ---------------------------------------------------------------- SLA sweep

def test_sweep_marks_breach_escalates_a_working_day_later_and_is_idempotent(
        org, cust, django_capture_on_commit_callbacks):
    t = record(org.agent, cust["huaxing"], kind="consultation", received_at=at(2025, 9, 30, 10, 0))
    assert services.ticket_sla_sweep(now=at(2025, 10, 9, 23, 0)) == {"breached": 0, "escalated": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ticket_sla_sweep(now=at(2025, 10, 10, 9, 0)) == {"breached": 1, "escalated": 0}
    assert services.ticket_sla_sweep(now=at(2025, 10, 10, 9, 5)) == {"breached": 0, "escalated": 0}
    t.refresh_from_db()
    assert t.breached_at == at(2025, 10, 10, 9, 0) and t.escalation_level == 1
    assert TicketEvent.objects.get(ticket=t, action="escalated_1").note == org.manager.display_name
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"manager", "agent"}
    assert AuditEntry.objects.filter(action="ticket.escalate", object_id=str(t.pk)).count() == 1
    # 10-11 is a make-up Saturday: one more working day after the due date ends 10-11 24:00
    assert services.ticket_sla_sweep(now=at(2025, 10, 11, 23, 0))["escalated"] == 0
    assert services.ticket_sla_sweep(now=at(2025, 10, 12, 1, 0))["escalated"] == 1
    assert services.ticket_sla_sweep(now=at(2025, 10, 13, 1, 0)) == {"breached": 0, "escalated": 0}
    t.refresh_from_db()
    assert t.escalation_level == 2
    assert TicketEvent.objects.filter(ticket=t, action__startswith="escalated").count() == 2
    from kehu.audit.services import audit_verify

    assert audit_verify() == []


def test_an_emergency_without_a_first_response_breaches_after_hours_and_escalates_faster(org, cust):
    t = record(org.agent, cust["huaxing"], kind="emergency", received_at=at(2025, 9, 30, 10, 0))
    assert services.ticket_sla_sweep(now=at(2025, 9, 30, 11, 59)) == {"breached": 0, "escalated": 0}
    assert services.ticket_sla_sweep(now=at(2025, 9, 30, 12, 1)) == {"breached": 1, "escalated": 0}
    assert services.ticket_sla_sweep(now=at(2025, 9, 30, 12, 30))["escalated"] == 0
    assert services.ticket_sla_sweep(now=at(2025, 9, 30, 13, 2))["escalated"] == 1  # one hour after the breach
    t.refresh_from_db()
    assert t.escalation_level == 2
    # the level above 华东区's manager: nobody in 销售部 / 总部, so the executives
    assert TicketEvent.objects.get(ticket=t, action="escalated_2").note == org.executive.display_name


def test_an_answered_emergency_is_not_breached_before_its_working_day_ends(org, cust):
    t = record(org.agent, cust["huaxing"], kind="emergency", received_at=at(2025, 9, 30, 10, 0))
    services.ticket_act(actor=org.agent, ticket_id=t.pk, action="accept")
    assert services.ticket_sla_sweep(now=at(2025, 9, 30, 23, 0))["breached"] == 0
    assert services.ticket_sla_sweep(now=at(2025, 10, 1, 0, 1))["breached"] == 1


def test_request_clock_stops_when_the_customer_is_told_the_result(org, cust):
    """Same rule as complaints: resolved but the customer not yet told keeps the clock running."""
    received = at(2025, 9, 30, 10, 0)
    t = walk(org.agent, record(org.agent, cust["huaxing"], received_at=received), "accept", "start", "resolve",
             resolution="已修复")
    assert services.ticket_sla_sweep(now=at(2025, 11, 1, 0, 0))["breached"] == 1
    t.refresh_from_db()
    assert t.breached_at is not None


def test_resolved_closed_and_cancelled_requests_are_not_swept(org, cust):
    received = at(2025, 9, 30, 10, 0)
    a = walk(org.agent, record(org.agent, cust["huaxing"], received_at=received), "accept", "start", "resolve",
             resolution="已修复")
    a = walk(org.agent, a, "inform", informed_via="phone", informed_note="电话告知客户已修复")
    b = walk(org.agent, record(org.agent, cust["huaxing"], received_at=received), "cancel", reason="重复")
    assert services.ticket_sla_sweep(now=at(2025, 11, 1, 0, 0))["breached"] == 0
    walk(org.agent, a, "reopen", reason="客户反馈问题仍在")  # the clock runs again
    assert services.ticket_sla_sweep(now=at(2025, 11, 1, 0, 0))["breached"] == 1
    assert ServiceTicket.objects.get(pk=b.pk).breached_at is None


def test_sweep_in_batches_breaches_every_overdue_request_once_with_one_message_per_person_per_batch(
        org, cust, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "SWEEP_BATCH", 3)
    for _i in range(7):
        record(org.agent, cust["huaxing"], kind="consultation", received_at=at(2025, 9, 30, 10, 0))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ticket_sla_sweep(now=at(2025, 10, 10, 9, 0))["breached"] == 7
    titles = list(Notification.objects.filter(user=org.manager).order_by("id").values_list("title", flat=True))
    assert len(titles) == 3 and titles[0].startswith("3 ") and "FW" in titles[2]  # batches of 3, 3 and 1
    assert ServiceTicket.objects.filter(escalation_level=1).count() == 7
    assert AuditEntry.objects.filter(action="ticket.escalate").count() == 7
    assert services.ticket_sla_sweep(now=at(2025, 10, 10, 9, 0))["breached"] == 0


def test_the_periodic_task_runs_the_sweep(org, cust):
    from kehu.service_desk.tickets.tasks import service_ticket_sla_sweep

    record(org.agent, cust["huaxing"], kind="consultation", received_at=at(2025, 9, 30, 10, 0))
    result = service_ticket_sla_sweep.call_local()
    assert result == {"breached": 1, "escalated": 1}  # overdue long enough for both levels at once


# ---------------------------------------------------------------- scope

def test_scope_agents_see_all_reps_their_customers_managers_their_subtree(org, cust):
    t = record(org.agent, cust["huaxing"])
    for user in (org.agent, org.rep, org.manager, org.executive, org.admin):
        assert selectors.ticket_get(actor=user, ticket_id=t.pk).pk == t.pk
    for user in (org.rep2, org.north_rep, org.north_manager):
        with pytest.raises(NotFound):
            selectors.ticket_get(actor=user, ticket_id=t.pk)
    for user in (org.finance, org.analyst, org.auditor):
        with pytest.raises(Forbidden):
            selectors.ticket_get(actor=user, ticket_id=t.pk)
    own = record(org.rep2, cust["dongfang"])
    assert [x.pk for x in selectors.ticket_list(actor=org.rep2).items] == [own.pk]
    assert {x.pk for x in selectors.ticket_list(actor=org.manager).items} == {t.pk, own.pk}
    assert selectors.ticket_list(actor=org.north_manager).items == []


def test_a_rep_cannot_record_for_a_customer_outside_their_scope_nor_act_on_others(org, cust):
    with pytest.raises(Invalid):
        record(org.rep, cust["yanshan"])
    t = record(org.north_rep, cust["yanshan"])
    with pytest.raises(NotFound):
        services.ticket_act(actor=org.rep, ticket_id=t.pk, action="accept")
    with pytest.raises(Forbidden):
        record(org.finance, cust["yanshan"])


# ---------------------------------------------------------------- demo

def test_demo_load_creates_requests_in_every_state_emergencies_and_a_roster(org, cust):
    import random

    from kehu.service_desk.tickets.demo import demo_load

    users = {**org.users, "ceo": org.executive}
    summary = demo_load(users=users, rng=random.Random(7))
    assert "service requests: 42" in summary
    assert ServiceTicket.objects.count() == 42
    assert ServiceTicket.objects.filter(kind="emergency").count() == 2
    assert set(ServiceTicket.objects.values_list("state", flat=True)) >= {"open", "in_progress", "closed"}
    assert not ServiceTicket.objects.filter(kind="emergency", state="closed", customer_informed_at__isnull=True).exists()
    assert OnDutyRoster.objects.count() == 3
    from kehu.audit.services import audit_verify

    assert audit_verify() == []


def test_a_naive_time_of_receipt_is_read_in_shanghai_time(org, cust):
    t = record(org.agent, cust["huaxing"], kind="consultation", received_at=dt.datetime(2025, 9, 30, 10, 0))
    assert t.received_at == at(2025, 9, 30, 10, 0) and t.due_at == at(2025, 10, 10, 0, 0)
