"""Resource allocation on the workbench (004 第13篇 第十条, 第十六条: the month's allocation is decided before its
pickups): those who manage allocation see each product line of the month whose allocation is not confirmed —
no round, a draft to compute, a preview to confirm or to compute again — and the participants who have not
planned the month yet; nothing once it is confirmed, nothing for the other roles."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kehu.grading.allocation import services
from kehu.grading.allocation.models import SalesPlan
from kehu.grading.allocation.tests.conftest import LINE, MONTH
from kehu.grading.allocation.workbench import allocation_todos, months_due

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 11, 5)  # the plans of 2026-11 are in, the month has begun
NOW = dt.datetime(2026, 11, 5, 9, 0, tzinfo=SH)


def todos(user, today=TODAY, now=NOW):
    return allocation_todos(user, today=today, now=now, limit=20)


def new_round(org, **extra):
    return services.round_create(actor=org.admin, data={"month": MONTH, "product_line": LINE, "available_t": "2500",
                                                        **extra})


def test_a_month_without_a_round_is_a_todo_of_those_who_manage_allocation(org, book):
    [todo] = todos(org.manager)
    assert todo.kind == "allocation_round" and todo.due == dt.date(2026, 11, 1)
    assert todo.state == "overdue"  # the month's pickups have begun without a decided allocation
    assert todo.url == "/allocation/rounds/?month=2026-11&product_line=%E8%81%9A%E4%B9%99%E7%83%AF+PE"
    assert "3" in todo.detail and "2,800.000" in todo.detail  # 华东区's three plans: 1,200 + 1,000 + 600 t
    assert "4" in todos(org.admin)[0].detail  # the whole company's four
    assert "500.000" in todos(org.north_manager)[0].detail  # 华北区's one dealer


def test_roles_without_allocation_manage_get_nothing_and_ask_nothing(org, book, django_assert_num_queries):
    for user in (org.rep, org.agent, org.finance, org.analyst, org.auditor):
        with django_assert_num_queries(0):
            assert todos(user) == []


def test_the_todo_follows_the_round_draft_compute_confirm(org, book):
    rnd = new_round(org)
    [todo] = todos(org.manager)
    assert todo.url == f"/allocation/rounds/{rnd.pk}/" and "Compute" in _en(todos, org.manager)
    services.round_compute(actor=org.admin, round_id=rnd.pk)
    assert "Confirm" in _en(todos, org.manager)
    # a plan changed after the preview: the preview no longer stands (confirming it would be refused)
    plan = book["plans"]["苏南经销"]
    SalesPlan.objects.filter(pk=plan.pk).update(updated_at=timezone.now() + dt.timedelta(minutes=1))
    assert "compute again" in _en(todos, org.manager)
    services.round_compute(actor=org.admin, round_id=rnd.pk)
    services.round_confirm(actor=org.admin, round_id=rnd.pk)
    assert todos(org.manager) == [] and todos(org.admin) == []


def test_a_confirmed_round_wins_over_a_draft_left_beside_it(org, book):
    new_round(org, available_t="2000")  # a first try, left as a draft
    second = new_round(org)
    services.round_compute(actor=org.admin, round_id=second.pk)
    services.round_confirm(actor=org.admin, round_id=second.pk)
    assert todos(org.admin) == []


def test_participants_of_last_month_without_a_plan_for_this_month(org, book):
    services.plan_delete(actor=org.admin, plan_id=book["plans"]["苏南经销"].pk)
    services.plan_delete(actor=org.admin, plan_id=book["plans"]["津北经销"].pk)
    mine = {t.kind: t for t in todos(org.manager)}
    assert mine["allocation_plans"].url == "/allocation/plans/?month=2026-11&product_line=%E8%81%9A%E4%B9%99%E7%83%AF+PE"
    assert mine["allocation_plans"].title.startswith("1")  # 苏南经销 only: 津北经销 is 华北区's
    assert {t.kind: t for t in todos(org.admin)}["allocation_plans"].title.startswith("2")
    # once everyone has planned, the reminder goes
    services.plan_create(actor=org.admin, data={"customer": book["customers"]["苏南经销"].pk, "month": MONTH,
                                                "product_line": LINE, "participant_type": "dealer",
                                                "quantity_t": "600"})
    assert "allocation_plans" not in {t.kind for t in todos(org.manager)}


def test_a_line_nobody_planned_yet_this_month_still_reminds_its_participants(org, book):
    for plan in book["plans"].values():
        services.plan_delete(actor=org.admin, plan_id=plan.pk)
    [todo] = todos(org.admin)
    assert todo.kind == "allocation_plans" and todo.title.startswith("4")


def test_next_month_appears_once_it_starts_within_the_horizon(org, book, settings):
    settings.KEHU_WORKBENCH_HORIZON_DAYS = 7
    assert months_due(dt.date(2026, 10, 20)) == [dt.date(2026, 10, 1)]
    assert months_due(dt.date(2026, 10, 28)) == [dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    early = todos(org.admin, today=dt.date(2026, 10, 20), now=dt.datetime(2026, 10, 20, 9, tzinfo=SH))
    assert [t.due for t in early] == [dt.date(2026, 10, 1)]  # October's plans (the look-back) have no round
    late = todos(org.admin, today=dt.date(2026, 10, 28), now=dt.datetime(2026, 10, 28, 9, tzinfo=SH))
    assert [t.due for t in late] == [dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    assert late[1].state == "normal"  # November has not begun: not overdue


def test_the_status_is_read_in_three_queries_whatever_the_number_of_lines(org, book, django_assert_max_num_queries):
    for i in range(6):
        line = f"聚丙烯 PP-{i}"
        for customer in book["customers"].values():
            for month in ("2026-10", MONTH):
                if month == MONTH and i % 2:
                    continue  # odd lines: October's participants have not planned November
                services.plan_create(actor=org.admin, data={"customer": customer.pk, "month": month,
                                                            "product_line": line, "participant_type": "dealer",
                                                            "quantity_t": "100"})
        if i % 3 == 0:
            services.round_create(actor=org.admin, data={"month": MONTH, "product_line": line, "available_t": "300"})
    with django_assert_max_num_queries(3):
        result = todos(org.admin)
    assert len(result) == 7  # the PE round + three even lines' rounds + three odd lines' missing plans


def test_the_workbench_shows_the_todo_and_the_link_prefills_the_new_round(org, api_client, client):
    today = timezone.localdate()
    month = today.replace(day=1).strftime("%Y-%m")
    from kehu.customers.tests.factories import org_customer

    customer = org_customer(org.rep, "浙江华东化工贸易有限公司", serial=11)
    services.plan_create(actor=org.admin, data={"customer": customer.pk, "month": month, "product_line": LINE,
                                                "participant_type": "exclusive_agent", "quantity_t": "1000"})
    body = api_client.as_user(org.manager).get("/workbench").json()
    [todo] = [t for t in body["todos"] if t["kind"] == "allocation_round"]
    assert not [t for t in api_client.as_user(org.rep).get("/workbench").json()["todos"]
                if t["kind"].startswith("allocation")]
    client.force_login(org.manager)
    page = client.get(todo["url"]).content.decode()
    assert f'value="{month}"' in page and f'value="{LINE}"' in page


def _en(fn, user) -> str:
    from django.utils import translation

    with translation.override("en"):
        return fn(user)[0].title
