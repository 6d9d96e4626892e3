"""The desk's rules on the database: walk-ins assigned by the day's rotation (make-ups first, absentees
skipped), designated and returning customers not counted, refusals handled by the manager with a make-up
turn, calls moving nothing, the roster for managers only, each write audited; the statistics and the
conversion by source and rep; the facts the commission split reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import org_customer
from kehu.errors import Conflict, Forbidden, NotFound
from kehu.sales.reception import selectors, services
from kehu.sales.reception.models import Assignment, DutyDay, Outcome, Refusal

from .conftest import DAY, at, walk_in


def reps_of(entries):
    return [e.rep.username for e in entries]


def test_walk_ins_follow_the_roster_order_and_are_counted(office):
    entries = [walk_in(office, minute=i) for i in range(4)]
    assert reps_of(entries) == ["rep", "rep2", "rep3", "rep"]
    assert all(e.counted and e.assignment == Assignment.ROTATION for e in entries)
    assert AuditEntry.objects.filter(action="reception.entry_create").count() == 4


def test_absent_rep_loses_the_turn(office):
    services.shift_status_set(actor=office.manager, day=DAY, rep=office.rep.pk, status="absent")
    first = walk_in(office, actor=office.rep2)
    services.shift_status_set(actor=office.manager, day=DAY, rep=office.rep.pk, status="present")
    assert reps_of([first, walk_in(office, actor=office.rep2), walk_in(office, actor=office.rep2)]) == [
        "rep2", "rep3", "rep"]


def test_rep_back_from_an_assigned_duty_gets_the_make_up_turn(office):
    services.shift_status_set(actor=office.manager, day=DAY, rep=office.rep.pk, status="out")
    skipped = walk_in(office, actor=office.rep2)
    assert skipped.rep == office.rep2
    # the rep marks themselves back at the desk: the make-up comes before the rotation
    services.shift_status_set(actor=office.rep, day=DAY, rep=office.rep.pk, status="present")
    makeup = walk_in(office, actor=office.rep2)
    assert (makeup.rep, makeup.assignment, makeup.counted) == (office.rep, Assignment.MAKEUP, True)
    assert walk_in(office, actor=office.rep2).rep == office.rep3


def test_designated_reception_is_not_counted(office):
    e = walk_in(office, designated_rep=office.rep3.pk)
    assert (e.rep, e.assignment, e.counted) == (office.rep3, Assignment.DESIGNATED, False)
    assert walk_in(office).rep == office.rep  # the rotation did not move


def test_returning_customer_goes_to_the_registered_rep_not_counted(office):
    customer = org_customer(office.rep2, "杭州绿城置业顾问有限公司", serial=31)
    e = walk_in(office, customer=customer.pk, visitor_name="")
    assert (e.rep, e.assignment, e.counted, e.is_returning) == (office.rep2, Assignment.RETURNING, False, True)
    assert e.visitor_name == customer.name
    assert walk_in(office).rep == office.rep


def test_returning_customer_of_an_absent_rep_gets_a_courtesy_reception_by_the_last_in_line(office):
    customer = org_customer(office.rep2, "杭州绿城置业顾问有限公司", serial=32)
    services.shift_status_set(actor=office.manager, day=DAY, rep=office.rep2.pk, status="absent")
    e = walk_in(office, customer=customer.pk)
    # line: 张伟, 王芳 (刘洋 absent) → the last is 王芳
    assert (e.rep, e.assignment, e.counted) == (office.rep3, Assignment.COURTESY, False)


def test_customer_outside_the_desk_is_not_found(office):
    north = org_customer(office.north_rep, "北京燕山置业有限公司", serial=33)
    with pytest.raises(NotFound):
        walk_in(office, customer=north.pk)


def test_refusal_handed_to_the_next_rep_gives_the_refused_rep_a_make_up(office):
    e = walk_in(office)
    assert e.rep == office.rep
    services.entry_refuse(actor=office.rep, entry_id=e.pk, reason="客户要求换一位顾问")
    assert [x.pk for x in selectors.pending_refusals(actor=office.manager)] == [e.pk]
    with pytest.raises(Forbidden):
        services.refusal_resolve(actor=office.rep2, entry_id=e.pk, decision="reassigned")
    e = services.refusal_resolve(actor=office.manager, entry_id=e.pk, decision="reassigned")
    assert (e.rep, e.first_receiver, e.refusal, e.counted) == (office.rep2, office.rep, Refusal.REASSIGNED, True)
    makeup = walk_in(office)
    assert (makeup.rep, makeup.assignment) == (office.rep, Assignment.MAKEUP)
    assert walk_in(office).rep == office.rep3
    with pytest.raises(Conflict):
        services.refusal_resolve(actor=office.manager, entry_id=e.pk, decision="kept")


def test_refusal_handed_to_the_designated_rep_records_the_first_receiver(office):
    e = walk_in(office)
    services.entry_refuse(actor=office.rep, entry_id=e.pk, reason="客户点名要王芳")
    e = services.refusal_resolve(actor=office.manager, entry_id=e.pk, decision="designated",
                                 designated_rep=office.rep3.pk)
    assert (e.rep, e.first_receiver, e.refusal) == (office.rep3, office.rep, Refusal.DESIGNATED)
    assert walk_in(office).rep == office.rep2  # the rotation did not move


def test_call_takes_no_turn(office):
    c = walk_in(office, kind="call")
    assert (c.rep, c.assignment, c.counted, c.outcome) == (office.rep, Assignment.CALL, False, Outcome.INFO)
    assert walk_in(office).rep == office.rep


def test_walk_in_without_roster_is_refused(office):
    with pytest.raises(Conflict) as exc:
        walk_in(office, day=DAY + dt.timedelta(days=1))
    assert exc.value.code == "no_roster"


def test_roster_is_set_and_copied_by_the_manager_only(office):
    with pytest.raises(Forbidden):
        services.roster_set(actor=office.rep, day=DAY, reps=[office.rep.pk])
    with pytest.raises(NotFound):  # another department's roster is out of reach
        services.roster_set(actor=office.manager, day=DAY, reps=[office.north_rep.pk],
                            department=office.depts["north"].pk)
    walk_in(office), walk_in(office)  # 张伟, 刘洋 served: 王芳 is next
    nxt = services.roster_copy(actor=office.manager, from_day=DAY, to_day=DAY + dt.timedelta(days=1))
    assert list(nxt.shifts.values_list("rep_id", flat=True)) == [office.rep.pk, office.rep2.pk, office.rep3.pk]
    assert walk_in(office, day=DAY + dt.timedelta(days=1)).rep == office.rep3  # the rotation carried over


def test_outcome_by_the_receiving_rep_or_a_manager(office):
    e = walk_in(office)
    with pytest.raises(NotFound):  # 刘洋 does not see 张伟's entry
        services.entry_outcome_set(actor=office.rep2, entry_id=e.pk, outcome="registered")
    e = services.entry_outcome_set(actor=office.rep, entry_id=e.pk, outcome="registered")
    assert e.outcome == Outcome.REGISTERED


# ---------------------------------------------------------------- statistics and conversion

def _deal(customer, rep, stage="signed"):
    from kehu.sales.models import Deal

    return Deal.objects.create(customer=customer, title="御景湾3-1201", amount=Decimal("3000000"), rep=rep,
                               stage=stage, signed_on=DAY if stage == "signed" else None, created_by=rep,
                               department=rep.department)


def test_statistics_count_walk_ins_calls_and_conversion_by_source_and_rep(office):
    a = org_customer(office.rep, "杭州安居置业有限公司", serial=41)
    b = org_customer(office.rep2, "杭州百合置业有限公司", serial=42)
    walk_in(office, customer=a.pk, source=office.sources["ad_online"].pk)  # returning → 张伟
    walk_in(office, customer=b.pk, source=office.sources["passing_by"].pk)  # → 刘洋
    walk_in(office)  # new prospect → 张伟 (rotation)
    walk_in(office, kind="call", source=office.sources["website"].pk)
    walk_in(office, kind="call", day=DAY - dt.timedelta(days=40))  # another month: not counted
    _deal(a, office.rep)
    _deal(b, office.rep2, stage="cancelled")
    stats = selectors.statistics(actor=office.manager, period="month", on=DAY)
    assert stats["totals"] == {"walk_ins": 3, "calls": 1, "turns": 1, "customers": 2, "deals": 1,
                               "conversion": 50.0}
    by_source = {r["name"]: (r["walk_ins"], r["calls"], r["deals"]) for r in stats["by_source"]}
    assert by_source == {"网络广告": (1, 0, 1), "路过": (2, 0, 0), "官网/线上咨询": (0, 1, 0)}
    by_rep = {r["name"]: (r["walk_ins"], r["customers"], r["deals"]) for r in stats["by_rep"]}
    assert by_rep == {"张伟": (2, 1, 1), "刘洋": (1, 1, 0)}
    assert len(stats["days"]) == 31 and stats["days"][1]["walk_ins"] == 3
    # the rep sees only their own register
    mine = selectors.statistics(actor=office.rep, period="day", on=DAY)
    assert mine["totals"]["walk_ins"] == 2 and mine["totals"]["calls"] == 1
    week = selectors.statistics(actor=office.manager, period="week", on=DAY + dt.timedelta(days=3))
    assert (week["start"], week["end"]) == (DAY, DAY + dt.timedelta(days=6))


def test_statistics_query_count_is_bounded(office, django_assert_max_num_queries):
    for i in range(12):
        walk_in(office, minute=i)
    with django_assert_max_num_queries(8):
        selectors.statistics(actor=office.manager, period="month", on=DAY)


# ---------------------------------------------------------------- the facts the commission split reads

def test_facts_designated_mid_visit_first_receiver_and_designated_rep(office):
    from kehu.sales.facts import facts_for

    customer = org_customer(office.manager, "杭州中天置业有限公司", serial=51)
    e = walk_in(office, visitor_name="李女士")
    # the desk files the new prospect under the customer afterwards
    type(e).objects.filter(pk=e.pk).update(customer=customer)
    services.entry_refuse(actor=office.rep, entry_id=e.pk, reason="客户中途指定王芳")
    services.refusal_resolve(actor=office.manager, entry_id=e.pk, decision="designated",
                             designated_rep=office.rep3.pk)
    facts = facts_for(_deal(customer, office.rep3))
    assert (facts.first_receiver_id, facts.designated_rep_id) == (office.rep.pk, office.rep3.pk)
    assert facts.same_day_other_rep_id is None and not facts.customer_is_company


def test_facts_same_day_double_reception(office):
    from kehu.sales.facts import facts_for

    customer = org_customer(office.manager, "杭州滨江置业有限公司", serial=52)
    first = walk_in(office, visitor_name="赵先生")
    second = walk_in(office, visitor_name="赵先生", hour=15)
    type(first).objects.filter(pk__in=[first.pk, second.pk]).update(customer=customer)
    facts = facts_for(_deal(customer, second.rep))
    assert facts.same_day_other_rep_id == first.rep_id != second.rep_id


def test_facts_company_customer_and_arranged_by_company(office):
    from kehu.sales.facts import facts_for

    customer = org_customer(office.rep, "杭州西湖置业有限公司", serial=53)
    walk_in(office, customer=customer.pk, source=office.sources["company"].pk, arranged_by_company=True)
    facts = facts_for(_deal(customer, office.rep))
    assert facts.customer_is_company and facts.arranged_by_company
    assert facts.first_receiver_id is None and facts.same_day_other_rep_id is None


def test_facts_untouched_without_walk_ins(office):
    from kehu.sales.facts import facts_for

    customer = org_customer(office.rep, "杭州无访置业有限公司", serial=54)
    walk_in(office, customer=customer.pk, kind="call")
    facts = facts_for(_deal(customer, office.rep))
    assert (facts.customer_is_company, facts.first_receiver_id, facts.same_day_other_rep_id) == (False, None, None)


def test_my_duty_and_place_in_line(office):
    walk_in(office)  # 张伟 served: 刘洋 next, then 王芳, then 张伟
    mine = selectors.my_duty(actor=office.rep, day=DAY)
    assert (mine["position"], mine["status"], mine["makeups"]) == (3, "present", 0)
    assert selectors.my_duty(actor=office.rep2, day=DAY)["position"] == 1
    assert selectors.my_duty(actor=office.north_rep, day=DAY) is None
    assert DutyDay.objects.get(pk=office.duty.pk).last_rep_id == office.rep.pk
    assert at(10).date() == DAY


def test_erasure_clears_the_visitors_phone_and_name(office):
    from kehu.sales.reception.models import RegisterEntry

    e = walk_in(office, visitor_name="孙女士", visitor_phone="139-1234-5678")
    other = walk_in(office, visitor_name="周先生", visitor_phone="13800005678")
    assert services.register_erase(mobiles=["+86 13912345678"], id_numbers=[]) == 1
    e, other = RegisterEntry.objects.get(pk=e.pk), RegisterEntry.objects.get(pk=other.pk)
    assert (e.visitor_phone, e.visitor_name) == ("", "—")
    assert other.visitor_phone == "13800005678"
