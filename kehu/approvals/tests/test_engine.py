"""The approval engine's rules, through its services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.approvals import hooks, selectors
from kehu.approvals.models import ApprovalChain, ApprovalEvent, ApprovalTask, RequestStatus, TaskStatus
from kehu.approvals.services import (
    approval_cancel,
    approval_decide,
    approval_remind_overdue,
    approval_request,
    approval_resubmit,
    delegation_end,
    delegation_set,
    step_assignees,
)
from kehu.approvals.tests.conftest import define
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound


def pending(req):
    return sorted(t.assignee.username for t in req.tasks.filter(status=TaskStatus.PENDING).select_related("assignee"))


def ask(actor, target, code="complaint.solution.general", title="处理方案：退换货"):
    return approval_request(actor=actor, chain_code=code, target=target, title=title)


# ---------------------------------------------------------------- default chains

def test_default_chains_are_seeded_by_migration(db):
    codes = set(ApprovalChain.objects.values_list("code", flat=True))
    assert {"complaint.solution.general", "complaint.solution.serious", "complaint.deadline_extension",
            "customer.account_opening"} <= codes
    opening = ApprovalChain.objects.get(code="customer.account_opening")
    assert [(s.role, s.mode) for s in opening.steps.order_by("order")] == [
        ("manager", "any"), ("finance", "any"), ("executive", "any")]
    serious = ApprovalChain.objects.get(code="complaint.solution.serious")
    assert [(s.kind, s.role) for s in serious.steps.order_by("order")] == [("meeting", "executive")]
    extension = ApprovalChain.objects.get(code="complaint.deadline_extension")
    assert [s.kind for s in extension.steps.order_by("order")] == ["line_managers"]


# ---------------------------------------------------------------- resolution up the department line

def test_manager_step_resolves_to_the_manager_of_the_requesters_department(org, huaxing):
    req = ask(org.rep, huaxing)
    assert pending(req) == ["manager"]  # 华东区's manager, not 华北区's


def test_manager_step_walks_up_to_the_nearest_department_with_a_manager(org, line, huaxing):
    step = ApprovalChain.objects.get(code="complaint.solution.general").steps.get()
    assert [u.username for u in step_assignees(step, requester=line.hz_rep, department=line.hz_rep.department)] \
        == ["manager"]  # 杭州组 has none: 华东区's
    assert [u.username for u in step_assignees(step, requester=line.south_rep,
                                               department=line.south_rep.department)] == ["director"]  # 销售部's


def test_nobody_approves_their_own_request_the_line_goes_on_above(org, line, huaxing):
    step = ApprovalChain.objects.get(code="complaint.solution.general").steps.get()
    assert [u.username for u in step_assignees(step, requester=org.manager, department=org.manager.department)] \
        == ["director"]


def test_a_line_without_a_manager_goes_to_the_nearest_business_manager_never_to_the_administrator(org, huaxing):
    step = ApprovalChain.objects.get(code="complaint.solution.general").steps.get()
    assert [u.username for u in step_assignees(step, requester=org.agent, department=org.agent.department)] \
        == ["executive"]  # 客服部 has no manager: 总部's general manager, not 系统管理员


def test_company_wide_roles_resolve_whatever_the_department(org, huaxing):
    req = ask(org.rep, huaxing, code="customer.account_opening", title="开户：浙江华星石化")
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    req.refresh_from_db()
    assert req.current_step == 2 and pending(req) == ["finance"]


# ---------------------------------------------------------------- the way through

def test_account_opening_goes_sales_manager_then_finance_then_general_manager(org, huaxing):
    req = ask(org.rep, huaxing, code="customer.account_opening", title="开户：浙江华星石化")
    for who, step in ((org.manager, 1), (org.finance, 2), (org.executive, 3)):
        req.refresh_from_db()
        assert req.status == RequestStatus.PENDING and req.current_step == step
        approval_decide(actor=who, request_id=req.pk, decision="approve", comment="同意")
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and req.decided_at is not None
    actions = list(ApprovalEvent.objects.filter(request=req).values_list("action", "actor_name"))
    assert actions == [("submitted", "张伟"), ("approved", "李经理"), ("approved", "吴会计"),
                       ("approved", "王总")]  # people's names, not login names
    assert list(AuditEntry.objects.filter(object_type="approvals.approvalrequest").order_by("id")
                .values_list("action", flat=True)) \
        == ["approval.request", "approval.approve", "approval.approve", "approval.approve"]


def test_mode_any_completes_the_step_on_the_first_approval_and_skips_the_others(org, line, huaxing):
    define(org, "test.any", [{"kind": "users", "users": [org.manager.pk, line.director.pk], "mode": "any"}])
    req = ask(org.rep, huaxing, code="test.any")
    assert pending(req) == ["director", "manager"]
    approval_decide(actor=line.director, request_id=req.pk, decision="approve")
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert req.tasks.get(assignee=org.manager).status == TaskStatus.SKIPPED


def test_mode_all_waits_for_every_approver(org, line, huaxing):
    define(org, "test.all", [{"kind": "users", "users": [org.manager.pk, line.director.pk], "mode": "all"},
                             {"kind": "role_in_line", "role": "executive"}])
    req = ask(org.rep, huaxing, code="test.all")
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and req.current_step == 1 and pending(req) == ["director"]
    approval_decide(actor=line.director, request_id=req.pk, decision="approve")
    req.refresh_from_db()
    assert req.current_step == 2 and pending(req) == ["executive"]


def test_reject_ends_the_request_and_skips_the_other_tasks(org, line, huaxing):
    define(org, "test.any", [{"kind": "users", "users": [org.manager.pk, line.director.pk], "mode": "any"}])
    req = ask(org.rep, huaxing, code="test.any")
    approval_decide(actor=org.manager, request_id=req.pk, decision="reject", comment="方案赔偿过高")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED and req.decided_at is not None
    assert req.tasks.get(assignee=line.director).status == TaskStatus.SKIPPED
    with pytest.raises(Conflict):
        approval_decide(actor=line.director, request_id=req.pk, decision="approve")


def test_return_sends_back_to_the_requester_and_resubmit_restarts_from_step_one(org, huaxing):
    req = ask(org.rep, huaxing, code="customer.account_opening", title="开户：浙江华星石化")
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    approval_decide(actor=org.finance, request_id=req.pk, decision="return", comment="缺营业执照副本")
    req.refresh_from_db()
    assert req.status == RequestStatus.RETURNED and req.decided_at is None
    with pytest.raises(Conflict):
        approval_decide(actor=org.finance, request_id=req.pk, decision="approve")
    with pytest.raises(Forbidden):
        approval_resubmit(actor=org.manager, request_id=req.pk)
    approval_resubmit(actor=org.rep, request_id=req.pk, comment="已补充营业执照")
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and req.round == 2 and req.current_step == 1
    assert pending(req) == ["manager"]
    with pytest.raises(Conflict):
        approval_resubmit(actor=org.rep, request_id=req.pk)


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_reject_and_return_require_a_comment(org, huaxing, decision):
    req = ask(org.rep, huaxing)
    with pytest.raises(Invalid) as exc:
        approval_decide(actor=org.manager, request_id=req.pk, decision=decision, comment="  ")
    assert "comment" in exc.value.fields
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


def test_only_a_current_pending_assignee_may_decide(org, huaxing):
    req = ask(org.rep, huaxing, code="customer.account_opening", title="开户")
    with pytest.raises(Forbidden):  # sees it (requester) but it is not theirs to decide
        approval_decide(actor=org.rep, request_id=req.pk, decision="approve")
    with pytest.raises(Forbidden):  # sees everything, is not asked at this step
        approval_decide(actor=org.executive, request_id=req.pk, decision="approve")
    with pytest.raises(NotFound):  # outside: the request does not exist for them
        approval_decide(actor=org.north_manager, request_id=req.pk, decision="approve")
    with pytest.raises(NotFound):
        approval_decide(actor=org.rep2, request_id=req.pk, decision="approve")


def test_two_approvers_deciding_at_once_one_wins_the_other_gets_409(org, line, huaxing):
    define(org, "test.any", [{"kind": "users", "users": [org.manager.pk, line.director.pk], "mode": "any"},
                             {"kind": "role_in_line", "role": "executive"}])
    req = ask(org.rep, huaxing, code="test.any")
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    # The second one was already looking at the same step; the row lock serialises them.
    with pytest.raises(Conflict) as exc:
        approval_decide(actor=line.director, request_id=req.pk, decision="reject", comment="不同意")
    assert exc.value.code == "already_decided"
    req.refresh_from_db()
    assert req.current_step == 2 and req.status == RequestStatus.PENDING


def test_a_decision_locks_the_request_row_first(org, huaxing):
    """Concurrent deciders queue on the request row (SELECT … FOR UPDATE on PostgreSQL; SQLite's
    IMMEDIATE transactions serialise writers anyway), so the second one sees the first's outcome."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    req = ask(org.rep, huaxing)
    with CaptureQueriesContext(connection) as ctx:
        approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    first = next(q["sql"] for q in ctx.captured_queries if "approvals_approvalrequest" in q["sql"])
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in first


def test_decisions_on_a_closed_request_are_409(org, huaxing):
    req = ask(org.rep, huaxing)
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    with pytest.raises(Conflict) as exc:
        approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    assert exc.value.code == "closed"


def test_one_open_request_per_object_and_chain(org, huaxing):
    ask(org.rep, huaxing)
    with pytest.raises(Conflict):
        ask(org.rep, huaxing)
    ask(org.rep, huaxing, code="complaint.deadline_extension")  # another chain is another question


def test_requester_may_cancel_an_open_request_and_nobody_else(org, huaxing):
    req = ask(org.rep, huaxing)
    with pytest.raises(Forbidden):
        approval_cancel(actor=org.manager, request_id=req.pk)
    approval_cancel(actor=org.rep, request_id=req.pk)
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED and pending(req) == []
    with pytest.raises(Conflict):
        approval_cancel(actor=org.rep, request_id=req.pk)


def test_unknown_chain_and_unsaved_target_are_invalid(org, huaxing):
    from kehu.customers.models import Customer

    with pytest.raises(Invalid):
        ask(org.rep, huaxing, code="no.such.chain")
    with pytest.raises(Invalid):
        ask(org.rep, Customer(name="未保存"))


# ---------------------------------------------------------------- delegation

def test_a_task_for_someone_away_goes_to_the_delegate_who_decides_on_their_behalf(org, line, huaxing):
    delegation_set(actor=org.manager, delegate_id=line.director.pk,
                   ends_at=timezone.now() + dt.timedelta(days=3), reason="出差深圳")
    req = ask(org.rep, huaxing)
    task = req.tasks.get()
    assert task.assignee == line.director and task.delegated_from == org.manager
    with pytest.raises(Forbidden):
        approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    approval_decide(actor=line.director, request_id=req.pk, decision="approve", comment="代批")
    detail = selectors.request_get(actor=org.rep, request_id=req.pk)
    event = [e for e in detail.events.all() if e.action == "approved"][0]
    assert event.actor_name == "钱总监" and event.on_behalf_of == org.manager
    entry = AuditEntry.objects.filter(action="approval.approve").get()
    assert entry.changes["on_behalf_of"] == org.manager.pk


def test_starting_a_delegation_hands_over_the_pending_tasks(org, line, huaxing):
    req = ask(org.rep, huaxing)
    delegation_set(actor=org.manager, delegate_id=line.director.pk, ends_at=timezone.now() + dt.timedelta(days=1))
    task = req.tasks.get()
    assert task.assignee == line.director and task.delegated_from == org.manager
    assert selectors.inbox_count(actor=line.director) == 1 and selectors.inbox_count(actor=org.manager) == 0


def test_an_ended_delegation_routes_new_tasks_back(org, line, huaxing):
    item = delegation_set(actor=org.manager, delegate_id=line.director.pk,
                          ends_at=timezone.now() + dt.timedelta(days=1))
    delegation_end(actor=org.manager, delegation_id=item.pk)
    req = ask(org.rep, huaxing)
    assert pending(req) == ["manager"]
    with pytest.raises(Conflict):
        delegation_end(actor=org.manager, delegation_id=item.pk)
    with pytest.raises(NotFound):
        delegation_end(actor=org.rep2, delegation_id=item.pk)


def test_a_delegation_to_the_requester_is_not_followed(org, huaxing):
    delegation_set(actor=org.manager, delegate_id=org.rep.pk, ends_at=timezone.now() + dt.timedelta(days=1))
    req = ask(org.rep, huaxing)
    assert pending(req) == ["manager"]


def test_delegation_rules(org, line):
    later = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(Invalid):
        delegation_set(actor=org.manager, delegate_id=org.manager.pk, ends_at=later)
    with pytest.raises(Invalid):
        delegation_set(actor=org.manager, delegate_id=line.director.pk, ends_at=timezone.now() - dt.timedelta(hours=1))
    delegation_set(actor=org.manager, delegate_id=line.director.pk, ends_at=later)
    with pytest.raises(Conflict):  # one delegation at a time
        delegation_set(actor=org.manager, delegate_id=org.executive.pk, ends_at=later)


# ---------------------------------------------------------------- outcome handlers

def test_outcome_handler_is_called_inside_the_decision_transaction(org, huaxing):
    from django.db import connection

    calls = []

    def handler(request, outcome):
        calls.append((request.pk, outcome, request.status, connection.in_atomic_block))

    hooks.register_outcome_handler("customers.customer", handler)
    try:
        req = ask(org.rep, huaxing)
        approval_decide(actor=org.manager, request_id=req.pk, decision="return", comment="补充说明")
        approval_resubmit(actor=org.rep, request_id=req.pk)
        approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    finally:
        hooks.unregister_outcome_handler("customers.customer", handler)
    assert calls == [(req.pk, "returned", "returned", True), (req.pk, "approved", "approved", True)]


def test_a_failing_outcome_handler_undoes_the_decision(org, huaxing):
    def handler(request, outcome):
        raise Conflict("客户状态已变更")

    hooks.register_outcome_handler("customers.customer", handler)
    req = ask(org.rep, huaxing)
    try:
        with pytest.raises(Conflict):
            approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    finally:
        hooks.unregister_outcome_handler("customers.customer", handler)
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and pending(req) == ["manager"]
    assert not AuditEntry.objects.filter(action="approval.approve").exists()


# ---------------------------------------------------------------- reminders

def test_reminders_go_to_tasks_pending_too_long_once_per_interval(org, huaxing, settings):
    settings.KEHU_APPROVAL_REMIND_HOURS = 24
    req = ask(org.rep, huaxing)
    task = req.tasks.get()
    now = timezone.now()
    assert approval_remind_overdue(now=now + dt.timedelta(hours=23)) == []
    assert approval_remind_overdue(now=now + dt.timedelta(hours=25)) == [task.pk]
    assert approval_remind_overdue(now=now + dt.timedelta(hours=26)) == []  # idempotent within the interval
    assert approval_remind_overdue(now=now + dt.timedelta(hours=50)) == [task.pk]  # and again after it
    task.refresh_from_db()
    assert task.reminded_at == now + dt.timedelta(hours=50)
    assert ApprovalEvent.objects.filter(request=req, action="reminded").count() == 2
    assert AuditEntry.objects.filter(action="approval.remind").count() == 2


def test_decided_tasks_are_never_reminded(org, huaxing):
    req = ask(org.rep, huaxing)
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    assert approval_remind_overdue(now=timezone.now() + dt.timedelta(days=3)) == []
    assert ApprovalTask.objects.filter(reminded_at__isnull=False).count() == 0


# ---------------------------------------------------------------- who sees a request

@pytest.mark.parametrize("who, sees", [
    ("rep", True), ("manager", True), ("admin", True), ("executive", True),
    ("rep2", False), ("north_manager", False), ("north_rep", False), ("finance", False), ("analyst", False),
    ("agent", False), ("auditor", False),
])
def test_a_request_is_visible_to_requester_assignees_managers_above_and_executives_only(org, huaxing, who, sees):
    req = ask(org.rep, huaxing)
    actor = getattr(org, who)
    if sees:
        assert selectors.request_get(actor=actor, request_id=req.pk).pk == req.pk
    else:
        with pytest.raises(NotFound):
            selectors.request_get(actor=actor, request_id=req.pk)


def test_a_manager_above_sees_requests_of_the_subtree(org, line, huaxing):
    req = ask(line.hz_rep, huaxing)
    assert selectors.request_get(actor=line.director, request_id=req.pk).pk == req.pk


# ---------------------------------------------------------------- chains

def test_only_administrators_define_chains_and_steps_are_validated(org):
    with pytest.raises(Forbidden):
        define_as(org.manager, "test.x", [{"kind": "role_in_line", "role": "manager"}])
    with pytest.raises(Invalid):
        define(org, "test.x", [{"kind": "role_in_line", "role": "boss"}])
    with pytest.raises(Invalid):
        define(org, "test.x", [{"kind": "users", "users": []}])
    with pytest.raises(Invalid):
        define(org, "Bad Code", [{"kind": "role_in_line", "role": "manager"}])
    chain = define(org, "test.x", [{"kind": "role_in_line", "role": "manager"}])
    assert chain.steps.count() == 1


def test_a_chain_with_open_requests_cannot_be_redefined(org, huaxing):
    ask(org.rep, huaxing)
    with pytest.raises(Conflict):
        define(org, "complaint.solution.general", [{"kind": "role_in_line", "role": "executive"}])


def define_as(actor, code, steps):
    from kehu.approvals.services import approval_chain_define

    return approval_chain_define(actor=actor, code=code, name="测试", steps=steps)


# ---------------------------------------------------------------- notices settle with the task

def test_deciding_or_skipping_a_task_marks_its_approval_notices_read(org, huaxing,
                                                                     django_capture_on_commit_callbacks):
    """"Approval needed" notices stop waiting on the bell and the workbench once the task is dealt with:
    by the approver's own decision, or by the step completing without them (skipped). The requester's
    outcome notice is new and stays unread."""
    from kehu.notifications.models import Notification

    define(org, "test.notices", [{"kind": "users", "users": [org.manager.pk, org.executive.pk], "mode": "any"},
                                 {"kind": "users", "users": [org.finance.pk], "mode": "any"}])
    with django_capture_on_commit_callbacks(execute=True):  # notices are written when the request commits
        req = ask(org.rep, huaxing, code="test.notices")
    link = f"/approvals/requests/{req.pk}/"

    def unread(user):
        return Notification.objects.filter(user=user, link__endswith=link, read_at__isnull=True).count()

    assert (unread(org.manager), unread(org.executive), unread(org.finance)) == (1, 1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    assert (unread(org.manager), unread(org.executive), unread(org.finance)) == (0, 0, 1)  # executive skipped
    approval_cancel(actor=org.rep, request_id=req.pk, comment="客户撤回申请")
    assert unread(org.finance) == 0
