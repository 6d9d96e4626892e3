"""Severity routing and the extension rule (issue 8): major and serious complaint proposals are decided
in a managers' meeting (经理办公会专题会议); a deadline extension is approved by every level of
supervisor up the line (各级主管领导批准); nobody-to-ask is refused, never routed to 系统管理员.
And approvals are decided with the facts in view (issue 9)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.utils import timezone

from kehu.approvals import hooks
from kehu.approvals.models import ApprovalChain, ApprovalMeeting, RequestStatus, TaskStatus
from kehu.approvals.services import (
    approval_decide,
    approval_meeting_record,
    approval_request,
    step_assignees,
)
from kehu.approvals.tests.conftest import define
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

SERIOUS = "complaint.solution.serious"
EXTENSION = "complaint.deadline_extension"


def pending(req):
    return sorted(t.assignee.username for t in req.tasks.filter(status=TaskStatus.PENDING).select_related("assignee"))


def ask(actor, target, code, title="处理方案：赔偿并更换", payload=None, **kw):
    return approval_request(actor=actor, chain_code=code, target=target, title=title, payload=payload, **kw)


def meet(actor, req, *, decision="approve", minutes="经理办公会专题会议讨论：同意赔偿方案，由客服部跟进回访。",
         participants=None, held_on=None):
    return approval_meeting_record(actor=actor, request_id=req.pk, held_on=held_on or timezone.localdate(),
                                   participants=participants or [], minutes=minutes, decision=decision)


@pytest.fixture
def outcomes():
    seen = []

    def handler(request, outcome):
        seen.append((request.chain.code, outcome))

    hooks.register_outcome_handler("customers.customer", handler)
    yield seen
    hooks.unregister_outcome_handler("customers.customer", handler)


# ---------------------------------------------------------------- managers' meeting (经理办公会)

def test_serious_complaint_proposal_is_decided_by_the_managers_meetings_recorded_decision(org, huaxing, outcomes):
    req = ask(org.rep, huaxing, SERIOUS)
    assert pending(req) == ["executive"]  # the general manager calls and records the meeting
    with pytest.raises(Conflict) as exc:
        approval_decide(actor=org.executive, request_id=req.pk, decision="approve")
    assert exc.value.code == "meeting_step"
    meeting = meet(org.executive, req, participants=[org.executive.pk, org.manager.pk, org.agent.pk])
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and outcomes == [(SERIOUS, "approved")]
    assert meeting.decision == "approve" and meeting.recorded_by == org.executive
    assert sorted(p.username for p in meeting.participants.all()) == ["agent", "executive", "manager"]
    assert req.tasks.get().status == TaskStatus.APPROVED
    entry = AuditEntry.objects.filter(action="approval.meeting_record").get()
    assert entry.changes["decision"] == "approve" and entry.changes["status"] == "approved"
    assert list(req.events.values_list("action", flat=True)) == ["submitted", "meeting_recorded"]


def test_a_meeting_that_rejects_or_returns_ends_the_round_through_the_same_hooks(org, huaxing, outcomes):
    req = ask(org.rep, huaxing, SERIOUS)
    meet(org.executive, req, decision="return", participants=[org.executive.pk],
         minutes="赔偿金额依据不足，补充检测报告后再议。")
    req.refresh_from_db()
    assert req.status == RequestStatus.RETURNED and outcomes == [(SERIOUS, "returned")]


def test_meeting_minutes_participants_and_a_past_date_are_required(org, huaxing):
    req = ask(org.rep, huaxing, SERIOUS)
    with pytest.raises(Invalid) as exc:
        meet(org.executive, req, minutes="   ", participants=[org.executive.pk])
    assert "minutes" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        meet(org.executive, req, participants=[])
    assert "participants" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        meet(org.executive, req, participants=[org.executive.pk],
             held_on=timezone.localdate() + dt.timedelta(days=2))
    assert "held_on" in exc.value.fields
    assert not ApprovalMeeting.objects.exists()


def test_only_the_general_manager_or_an_administrator_records_the_meeting(org, huaxing):
    req = ask(org.rep, huaxing, SERIOUS)
    with pytest.raises(Forbidden):
        meet(org.manager, req, participants=[org.manager.pk])  # sees the request, may not record
    with pytest.raises(NotFound):
        meet(org.north_rep, req, participants=[org.north_rep.pk])  # does not see it at all
    meet(org.admin, req, participants=[org.executive.pk, org.manager.pk])
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert req.tasks.get().status == TaskStatus.SKIPPED  # the executive's task: the meeting decided


def test_a_meeting_step_is_generic_with_its_recorder_role_and_place_in_the_chain(org, huaxing, outcomes):
    """E.g. a sales development plan: the manager first, then a meeting recorded by finance."""
    define(org, "test.plan", [{"kind": "role_in_line", "role": "manager"},
                              {"kind": "meeting", "role": "finance", "name": "计划评审会"}])
    req = ask(org.rep, huaxing, "test.plan")
    with pytest.raises(Conflict):
        meet(org.admin, req, participants=[org.finance.pk])  # not the meeting's turn yet
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    req.refresh_from_db()
    assert req.current_step == 2 and pending(req) == ["finance"]
    with pytest.raises(Forbidden):
        meet(org.executive, req, participants=[org.finance.pk])
    meet(org.finance, req, participants=[org.finance.pk, org.manager.pk], decision="reject",
         minutes="预算不足，本年度不开展。")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED and outcomes == [("test.plan", "rejected")]


def test_a_meeting_step_without_anyone_to_record_it_cannot_be_defined(org):
    with pytest.raises(Invalid):
        define(org, "test.m", [{"kind": "meeting", "role": "boss"}])
    org.auditor.is_active = False
    org.auditor.save()
    with pytest.raises(Invalid) as exc:
        define(org, "test.m", [{"kind": "meeting", "role": "auditor"}])
    assert exc.value.code == "no_approver"


# ---------------------------------------------------------------- every level up the line (各级主管领导)

def test_deadline_extension_is_approved_by_every_manager_up_the_line_to_the_top(org, line, huaxing, outcomes):
    req = ask(line.hz_rep, huaxing, EXTENSION, title="延期至 2026-12-10")
    levels = []
    for who in (org.manager, line.director, org.executive):  # 华东区 → 销售部 → 总部 (杭州组 has none)
        req.refresh_from_db()
        assert req.status == RequestStatus.PENDING and pending(req) == [who.username]
        levels.append(req.tasks.get(status=TaskStatus.PENDING).line_department.name)
        approval_decide(actor=who, request_id=req.pk, decision="approve")
    req.refresh_from_db()
    assert levels == ["华东区", "销售部", "总部"]
    assert req.status == RequestStatus.APPROVED and outcomes == [(EXTENSION, "approved")]


def test_one_level_refusing_the_extension_ends_it(org, huaxing, outcomes):
    req = ask(org.rep, huaxing, EXTENSION)
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    approval_decide(actor=org.executive, request_id=req.pk, decision="reject", comment="不同意延期，按期答复")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED and outcomes == [(EXTENSION, "rejected")]


def test_the_requesters_own_level_is_skipped_nobody_approves_their_own_extension(org, huaxing):
    req = ask(org.manager, huaxing, EXTENSION)
    assert pending(req) == ["executive"]


def test_the_line_walked_can_be_the_accountable_persons(org, huaxing):
    req = ask(org.agent, huaxing, EXTENSION, line_of=org.north_rep)
    assert pending(req) == ["north_manager"]


def test_an_agents_extension_goes_to_the_nearest_business_manager_not_the_administrator(org, huaxing):
    req = ask(org.agent, huaxing, EXTENSION)
    assert pending(req) == ["executive"]  # 客服部 has no manager; 总部's general manager, never 系统管理员


def test_a_request_whose_first_step_finds_nobody_is_refused_not_routed_to_the_administrator(org, huaxing):
    org.executive.is_active = False
    org.executive.save()
    with pytest.raises(Conflict) as exc:
        ask(org.agent, huaxing, EXTENSION)
    assert exc.value.code == "no_approver" and "客服部" in exc.value.message
    with pytest.raises(Conflict):
        ask(org.agent, huaxing, "complaint.solution.general")
    assert not huaxing.__class__.objects.none().exists()


def test_a_chain_whose_approver_can_be_nobody_is_refused_when_saved(org):
    from kehu.access.models import User

    User.objects.filter(role__in=["manager", "executive"]).update(is_active=False)
    for steps in ([{"kind": "line_managers"}], [{"kind": "role_in_line", "role": "manager"}]):
        with pytest.raises(Invalid) as exc:
            define(org, "test.nobody", steps)
        assert exc.value.code == "no_approver"
    assert not ApprovalChain.objects.filter(code="test.nobody").exists()


def test_a_seed_whose_approver_can_be_nobody_is_refused():
    seed = importlib.import_module("kehu.approvals.migrations.0004_seed_meeting_and_line_chains")
    seed.check_steps("x", [("line_managers", "", "any", "各级主管领导"), ("meeting", "executive", "any", "会")])
    with pytest.raises(ValueError):
        seed.check_steps("x", [("role_in_line", "", "any", "部门经理")])
    with pytest.raises(ValueError):
        seed.check_steps("x", [("meeting", "general_manager", "any", "会")])


def test_every_seeded_chain_reaches_a_business_approver_for_every_requester(org):
    """Everyone below the general manager (who has nobody above) reaches a business approver."""
    for chain in ApprovalChain.objects.prefetch_related("steps"):
        first = chain.steps.order_by("order").first()
        for user in org.users.values():
            if user.role == "executive":
                continue
            found = step_assignees(first, requester=user, department=user.department)
            assert found, (chain.code, user.username)
            assert all(u.role != "admin" for u in found), (chain.code, user.username)


# ---------------------------------------------------------------- decided with the facts (issue 9)

EXTENSION_PAYLOAD = {"current_due": "2026-12-08T18:00:00+08:00", "proposed_due": "2026-12-10T18:00:00+08:00",
                     "reason": "需第三方检测机构出具报告", "object_url": "/complaints/42/"}


def test_the_approval_page_shows_the_reason_the_due_dates_and_a_link_to_the_object(client, org, huaxing):
    req = ask(org.rep, huaxing, EXTENSION, title="投诉 TS-42 延期", payload=EXTENSION_PAYLOAD)
    client.force_login(org.manager)
    body = client.get(f"/approvals/requests/{req.pk}/").content.decode()
    assert "需第三方检测机构出具报告" in body
    assert "2026-12-08 18:00" in body and "2026-12-10 18:00" in body
    assert 'href="/complaints/42/"' in body
    inbox = client.get("/approvals/").content.decode()
    assert "2026-12-10 18:00" in inbox and 'href="/complaints/42/"' in inbox and "张伟" in inbox


def test_an_object_link_to_another_site_is_not_followed(client, org, huaxing):
    req = ask(org.rep, huaxing, SERIOUS, payload={"summary": "赔偿 500 元", "object_url": "https://evil.example/"})
    client.force_login(org.executive)
    body = client.get(f"/approvals/requests/{req.pk}/").content.decode()
    assert "赔偿 500 元" in body and "evil.example" not in body


def test_the_history_names_people_not_login_names(client, org, huaxing):
    req = ask(org.rep, huaxing, "complaint.solution.general")
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    client.force_login(org.rep)
    body = client.get(f"/approvals/requests/{req.pk}/").content.decode()
    history = body[body.index('data-testid="approval-history"'):]
    assert "张伟" in history and "李经理" in history
    assert ">rep<" not in history and "manager" not in history


def test_the_meeting_is_recorded_on_the_approval_page(client, org, huaxing, outcomes):
    req = ask(org.rep, huaxing, SERIOUS, payload={"summary": "赔偿并更换设备"})
    client.force_login(org.manager)
    assert 'data-testid="meeting-form"' not in client.get(f"/approvals/requests/{req.pk}/").content.decode()
    client.force_login(org.executive)
    page = client.get(f"/approvals/requests/{req.pk}/").content.decode()
    assert 'data-testid="meeting-form"' in page and 'data-testid="decide-form"' not in page
    url = f"/approvals/requests/{req.pk}/meeting/"
    today = timezone.localdate().isoformat()
    r = client.post(url, {"held_on": today, "participants": [org.executive.pk, org.manager.pk], "minutes": "",
                          "decision": "approve"})
    assert r.status_code == 400 and not ApprovalMeeting.objects.exists()
    r = client.post(url, {"held_on": today, "participants": [org.executive.pk, org.manager.pk],
                          "minutes": "同意赔偿并更换设备。", "decision": "approve"})
    assert r.status_code == 302
    page = client.get(f"/approvals/requests/{req.pk}/").content.decode()
    assert 'data-testid="meeting-record"' in page and "同意赔偿并更换设备。" in page and "李经理" in page
    assert outcomes == [(SERIOUS, "approved")]


def test_meeting_api_records_the_decision_and_refuses_outsiders(api_client, org, huaxing):
    req = ask(org.rep, huaxing, SERIOUS)
    path = f"/approvals/requests/{req.pk}/meeting"
    body = {"held_on": timezone.localdate().isoformat(), "participants": [org.executive.pk],
            "minutes": "同意。", "decision": "approve"}
    assert api_client.as_user(None).post(path, body).status_code == 401
    assert api_client.as_user(org.north_rep).post(path, body).status_code == 404
    assert api_client.as_user(org.manager).post(path, body).status_code == 403
    r = api_client.as_user(org.executive).post(path, {**body, "minutes": ""})
    assert r.status_code == 422
    r = api_client.as_user(org.executive).post(path, body)
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["status"] == "approved" and data["meetings"][0]["minutes"] == "同意。"
    assert data["meetings"][0]["participants"][0]["display_name"] == "王总"
    assert [h["actor"] for h in data["history"]] == ["张伟", "王总"]


def test_the_target_page_can_show_its_meetings_to_those_who_see_the_request(org, huaxing):
    from kehu.approvals.selectors import meetings_for

    req = ask(org.rep, huaxing, SERIOUS)
    meet(org.executive, req, participants=[org.executive.pk, org.manager.pk])
    assert [m.request_id for m in meetings_for(actor=org.rep, target=huaxing)] == [req.pk]
    assert [m.request_id for m in meetings_for(actor=org.manager, target=huaxing)] == [req.pk]
    assert list(meetings_for(actor=org.north_rep, target=huaxing)) == []


def test_the_facts_show_codes_by_their_labels_and_midnight_deadlines_as_24_00(org, huaxing):
    """No raw payload keys or codes in the Chinese UI (issue 9): "severity: major" reads 投诉性质：重大, and a
    deadline at 00:00 reads as 24:00 of the day before, as the request's own title says it."""
    from django.utils import translation

    req = ask(org.rep, huaxing, SERIOUS, payload={"summary": "赔偿", "severity": "major", "credit_limit": 800000,
                                                 "current_due": "2026-11-27T00:00:00+08:00"})
    with translation.override("zh-hans"):
        facts = dict(req.facts)
    assert "severity" not in facts and "credit_limit" not in facts
    assert "重大" in facts.values() and "800000" in facts.values()
    assert "2026-11-26 24:00" in facts.values()


def test_long_minutes_in_the_steps_table_keep_a_readable_width_on_a_phone(client, org, huaxing, outcomes):
    """The step's comment (a meeting's minutes) has a minimum width, so at 375 px the table scrolls rather
    than showing the minutes one character per line."""
    req = ask(org.rep, huaxing, SERIOUS, payload={"summary": "赔偿并更换设备"})
    meet(org.executive, req, participants=[org.executive.pk, org.manager.pk])
    client.force_login(org.executive)
    page = client.get(f"/approvals/requests/{req.pk}/").content.decode()
    cell = page[page.index('data-testid="approval-tasks"'):]
    assert 'style="min-width: 14rem" data-testid="task-comment"' in cell
