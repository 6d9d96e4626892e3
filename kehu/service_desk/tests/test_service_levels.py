"""Differentiated service in the service desk (REQUIREMENTS §3 tier-specific SLAs, §5; seed 000 2.2): the
grade's service policy tightens a complaint's and a service request's deadline (never loosens it), the
history says which rule set it, and the lists show the customer's response priority."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.grading.selectors import service_policy_for
from kehu.service_desk import service_levels, services
from kehu.service_desk.tests.grading import grade, service
from kehu.service_desk.tickets import services as ticket_services

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
RECEIVED = dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH)  # before National Day (10-01 … 10-08 off)


@pytest.fixture
def cust(org):
    return {"core": org_customer(org.rep, "浙江华星石化有限公司", serial=1),
            "plain": org_customer(org.rep, "上海东方贸易有限公司", serial=2),
            "key": org_customer(org.rep, "北京燕山机械有限公司", serial=3)}


@pytest.fixture
def graded(cust):
    grade(cust["core"], "核心")
    service("核心", complaint_sla_working_days=1, service_request_sla_working_days=1, inspection_cycle_days=30,
            response_priority=1)
    grade(cust["key"], "重点")
    service("重点", complaint_sla_working_days=5, service_request_sla_working_days=2, response_priority=2)
    return cust


def _complaint(org, customer=None, **kw):
    data = {"complainant_name": "王先生", "channel": "phone", "subject": "发货延迟",
            "description": "订单已延迟五天未发货。", "received_at": RECEIVED,
            "customer": customer.pk if customer else None}
    data.update(kw)
    return services.complaint_record(actor=org.agent, data=data)


def _judge(org, c, severity="major"):
    return services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": severity})


def _notes(c, action="sla_set"):
    return [e.note for e in c.events.filter(action=action).order_by("id")]


def test_the_tier_sla_override_changes_a_complaints_due_date(org, graded):
    """A major complaint: 3 working days by default; a 核心 customer's service policy promises 1."""
    core = _judge(org, _complaint(org, graded["core"]))
    plain = _judge(org, _complaint(org, graded["plain"]))
    assert (plain.sla_days, core.sla_days) == (3, 1)
    assert plain.due_at == dt.datetime(2025, 10, 12, 0, 0, tzinfo=SH)  # the Saturday make-up day
    assert core.due_at == dt.datetime(2025, 10, 10, 0, 0, tzinfo=SH) < plain.due_at
    assert "客户综合评分" in _notes(core)[-1] and "核心" in _notes(core)[-1]
    assert _notes(plain) == []  # ungraded: the history is unchanged


def test_a_grade_never_makes_a_complaint_slower_than_its_nature_allows(org, graded):
    """重点 promises 5 working days: a major complaint keeps 3, a general one keeps 1."""
    c = _complaint(org, graded["key"])
    assert c.sla_days == 1
    c = _judge(org, c, "major")
    assert c.sla_days == 3
    assert "not tighter" in _notes(c)[-1] or "不" in _notes(c)[-1]


def test_ungraded_and_unlinked_complaints_keep_the_policy_defaults(org, cust):
    assert service_policy_for(cust["plain"].pk) is None
    for customer in (cust["plain"], None):
        c = _judge(org, _complaint(org, customer), "major")
        assert c.sla_days == 3 and _notes(c) == []
        assert [e.action for e in c.events.order_by("id")] == ["record", "judge"]


def test_a_grade_without_a_complaint_figure_keeps_the_default(org, cust):
    grade(cust["plain"], "普通")
    service("普通", inspection_cycle_days=180, response_priority=4)
    c = _judge(org, _complaint(org, cust["plain"]), "serious")
    assert c.sla_days == 3 and _notes(c) == []


def test_linking_a_complaint_to_a_graded_customer_later_tightens_its_deadline(org, graded):
    c = _judge(org, _complaint(org), "major")
    assert c.sla_days == 3
    c = services.complaint_link_customer(actor=org.agent, complaint_id=c.pk, customer_id=graded["core"].pk)
    assert c.sla_days == 1 and c.due_at == dt.datetime(2025, 10, 10, 0, 0, tzinfo=SH)
    # re-linked to an ungraded customer: the nature's default again, and the history says so
    c = services.complaint_link_customer(actor=org.agent, complaint_id=c.pk, customer_id=graded["plain"].pk)
    assert c.sla_days == 3
    assert len(_notes(c)) == 2


def test_an_extension_still_works_on_top_of_the_tier_deadline(org, graded):
    """The tier's 1 working day can be extended (up to 7) through the approval flow; linking the
    complaint again afterwards does not shorten the agreed deadline."""
    from types import SimpleNamespace

    c = _judge(org, _complaint(org, graded["core"]), "major")
    assert c.sla_days == 1
    services.complaint_request_extension(actor=org.agent, complaint_id=c.pk, days=5, reason="需要厂家检测")
    # the approval engine's answer once every level approved (its chain is tested in kehu.approvals)
    approved = SimpleNamespace(object_id=c.pk, chain=SimpleNamespace(code=services.EXTENSION_CHAIN),
                               payload={"days": 5})
    services.on_approval_outcome(approved, "approved")
    c.refresh_from_db()
    assert c.sla_days == 5 and c.due_at == services.due_for(RECEIVED, 5)
    c = services.complaint_link_customer(actor=org.agent, complaint_id=c.pk, customer_id=graded["key"].pk)
    assert c.sla_days == 5


# ---------------------------------------------------------------- service requests

def _ticket(org, customer, kind="repair"):
    return ticket_services.ticket_record(actor=org.agent, data={
        "customer": customer.pk, "kind": kind, "channel": "phone", "subject": "空压机异响",
        "description": "请派工程师上门检修。", "received_at": RECEIVED})


def test_the_tier_sla_override_changes_a_service_requests_due_date(org, graded):
    core, key, plain = (_ticket(org, graded[k]) for k in ("core", "key", "plain"))
    assert (plain.sla_days, key.sla_days, core.sla_days) == (3, 2, 1)
    assert core.due_at < key.due_at < plain.due_at
    assert [e.action for e in plain.events.order_by("id")] == ["record"]
    note = core.events.get(action="sla_set").note
    assert "核心" in note


def test_a_grade_never_changes_an_emergency_or_lengthens_a_consultation(org, graded):
    assert _ticket(org, graded["key"], "consultation").sla_days == 1  # default 1, the grade's 2 is slower
    emergency = _ticket(org, graded["core"], "emergency")
    assert emergency.sla_days == 0 and not emergency.events.filter(action="sla_set").exists()


# ---------------------------------------------------------------- response priority

def test_response_priorities_of_a_page_in_one_query_agree_with_the_selector(org, graded,
                                                                            django_assert_num_queries):
    ids = [c.pk for c in graded.values()]
    with django_assert_num_queries(1):
        found = service_levels.response_priorities(ids)
    assert found == {graded["core"].pk: 1, graded["key"].pk: 2}
    for pk in ids:
        level = service_policy_for(pk)
        assert found.get(pk) == (level.response_priority if level else None)


def test_complaint_list_and_board_show_the_customers_response_priority(org, graded, client):
    for key in ("plain", "key", "core"):
        _complaint(org, graded[key], received_at=None)
    client.force_login(org.agent)
    r = client.get("/complaints/list/")
    body = r.content.decode()
    assert r.status_code == 200 and body.count('data-testid="response-priority"') == 2
    assert 'data-priority="1"' in body and 'data-priority="2"' in body
    r = client.get("/complaints/list/", {"sort": "priority"})
    rows = [line for line in r.content.decode().splitlines() if 'data-testid="complaint-row"' in line]
    assert len(rows) == 3
    body = r.content.decode()
    assert body.index('data-priority="1"') < body.index('data-priority="2"')
    r = client.get("/complaints/")
    assert r.content.decode().count('data-testid="response-priority"') == 2


def test_sorting_complaints_by_response_priority_pages_with_a_cursor(org, graded):
    from kehu.service_desk import selectors

    for key in ("plain", "key", "core", "plain", "core"):
        _complaint(org, graded[key], received_at=None)
    first = selectors.complaint_list(actor=org.agent, ordering="response_priority", limit=2)
    second = selectors.complaint_list(actor=org.agent, ordering="response_priority", limit=2, cursor=first.next)
    third = selectors.complaint_list(actor=org.agent, ordering="response_priority", limit=2, cursor=second.next)
    order = [c.customer_id for c in first.items + second.items + third.items]
    assert order == [graded["core"].pk] * 2 + [graded["key"].pk] + [graded["plain"].pk] * 2


def test_service_request_list_and_board_show_and_sort_by_priority(org, graded, client):
    for key in ("plain", "core", "key"):
        _ticket(org, graded[key])
    client.force_login(org.agent)
    body = client.get("/service/list/", {"sort": "priority"}).content.decode()
    assert body.count('data-testid="response-priority"') == 2
    assert body.index('data-priority="1"') < body.index('data-priority="2"')
    assert client.get("/service/").content.decode().count('data-testid="response-priority"') == 2


def test_demo_complaints_about_a_graded_customer_follow_its_tier_deadline(org, graded):
    """The demo records complaints with their customer through the service (no update behind its back),
    so a major or serious complaint about a 核心 customer is due in the grade's 1 working day, not the
    nature's 3, and its history has the "Deadline set" step naming the service policy."""
    import random

    from kehu.service_desk.demo import demo_load
    from kehu.service_desk.models import Complaint

    demo_load(users={**org.users, "ceo": org.executive}, rng=random.Random(7))
    tiered = Complaint.objects.filter(customer=graded["core"], severity__in=["major", "serious"])
    assert tiered.exists()
    for c in tiered:
        assert c.sla_days == 1 < services.sla_days_for(c.severity)
        assert any("核心" in note for note in _notes(c))
    # the customer was named at receipt, through the service: the deadline rule was applied then, so the
    # step right after "record" is "Deadline set" (a direct update afterwards would skip it)
    about_core = Complaint.objects.filter(customer=graded["core"])
    assert about_core.exists()
    for c in about_core:
        assert list(c.events.order_by("id").values_list("action", flat=True)[:2]) == ["record", "sla_set"]
