"""Metrics in SQL over orders and payments, preview (writes nothing), runs (current grade + history with
the explanation, batches, notifications), the schedule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from kehu.customers.models import Customer
from kehu.grading import metrics, services
from kehu.grading.kinds import threshold
from kehu.grading.models import CustomerGrade, GradeHistory, GradingRun, Movement, RunStatus
from kehu.notifications.models import Notification
from kehu.orders.models import Order, Payment

AS_OF = dt.date(2026, 6, 30)
POLICY = "聚烯烃提货量分级"


def customer(org, name, owner=None, stage="customer"):
    owner = owner or org.rep
    return Customer.objects.create(name=name, owner=owner, department=owner.department, stage=stage)


def order(c, day, tonnes, amount=1000):
    return Order.objects.create(customer=c, order_date=day, product_line="聚乙烯", quantity=Decimal(tonnes),
                                unit="t", quantity_t=Decimal(tonnes), amount=Decimal(amount),
                                gross_margin=Decimal(amount) / 10)


def active_policy(org, **config):
    cfg = {**threshold.DEFAULT_CONFIG, "months": 1, "aggregate": "total", **config}
    policy = services.policy_create(actor=org.admin, name=POLICY, kind="threshold", config=cfg)
    return services.policy_activate(actor=org.admin, policy_id=policy.pk)


@pytest.fixture
def book(org):
    """Three established customers (first orders in 2025) with June 2026 pickups of 999.999, 1000, 3000 t."""
    cs = {}
    for name, tonnes in (("华东塑业", "999.999"), ("宁波化纤", "1000"), ("苏州包装", "3000")):
        c = customer(org, name)
        order(c, dt.date(2025, 1, 10), 5)
        order(c, dt.date(2026, 6, 5), Decimal(tonnes) - 100)
        order(c, dt.date(2026, 6, 20), 100)
        cs[name] = c
    return cs


def test_monthly_metrics_are_one_row_per_customer_and_month(org, book, django_assert_max_num_queries):
    c = book["宁波化纤"]
    Payment.objects.create(customer=c, due_date=dt.date(2026, 6, 10), paid_date=dt.date(2026, 6, 9), amount=300)
    Payment.objects.create(customer=c, due_date=dt.date(2026, 6, 15), paid_date=dt.date(2026, 6, 30), amount=700)
    with django_assert_max_num_queries(3):
        rows = metrics.monthly_rows(as_of=AS_OF, months=1)
    mine = [r for r in rows if r["customer_id"] == c.pk]
    assert len(rows) == 3 and len(mine) == 1
    assert mine[0]["quantity_t"] == Decimal("1000") and mine[0]["order_count"] == 2
    assert mine[0]["last_order_date"] == dt.date(2026, 6, 20)
    assert (mine[0]["due_amount"], mine[0]["paid_on_time_amount"]) == (Decimal(1000), Decimal(300))


def test_preview_counts_movements_and_writes_nothing(org, book):
    policy = active_policy(org, one_level_per_review=False)
    preview = services.run_preview(actor=org.admin, policy_id=policy.pk, as_of=AS_OF)
    assert preview["customers"] == 3 and preview["changed"] == 3
    assert {(m["from"], m["to"]): m["count"] for m in preview["movements"]} == {
        ("", "普通"): 1, ("", "一星"): 1, ("", "三星"): 1}
    assert len(preview["sample"]) == 3
    assert not CustomerGrade.objects.exists() and not GradingRun.objects.exists()


def test_run_grades_on_the_polyolefin_boundaries_with_history_and_explanation(org, book):
    policy = active_policy(org, one_level_per_review=False)
    run = services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF)
    run = services.run_execute(run_id=run.pk)
    assert (run.status, run.customers, run.changed) == (RunStatus.DONE, 3, 3)
    grades = dict(CustomerGrade.objects.values_list("customer__name", "grade"))
    assert grades == {"华东塑业": "普通", "宁波化纤": "一星", "苏州包装": "三星"}
    entry = GradeHistory.objects.get(customer=book["宁波化纤"])
    assert entry.movement == Movement.NEW and entry.explanation["value"] == "1000"
    assert entry.explanation["months"] == {"2026-06": "1000"}
    assert entry.department_id == org.rep.department_id


def test_sequential_adjustment_across_two_runs(org, book):
    """依次升降: a 普通 customer whose pickup jumps to 3500 t becomes 一星 at the next review."""
    policy = active_policy(org)
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    c = book["华东塑业"]
    order(c, dt.date(2026, 7, 3), 3500)
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk,
                                                   as_of=dt.date(2026, 7, 31)).pk)
    grade = CustomerGrade.objects.get(customer=c)
    assert (grade.previous_grade, grade.grade, grade.computed_grade) == ("普通", "一星", "三星")
    latest = GradeHistory.objects.filter(customer=c).first()
    assert latest.movement == Movement.UP and latest.explanation["limited_to_one_level"] is True


def test_unchanged_grade_writes_no_history_and_lost_customer_is_recorded(org, book):
    policy = active_policy(org, one_level_per_review=False)
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    Customer.objects.filter(pk=book["苏州包装"].pk).update(stage="lost")
    run = services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    assert run.changed == 0
    assert GradeHistory.objects.filter(run=run).get().movement == Movement.LOST
    assert not CustomerGrade.objects.filter(customer=book["苏州包装"]).exists()


def test_grade_change_notifies_the_owner_once_per_run(org, book, django_capture_on_commit_callbacks):
    policy = active_policy(org, one_level_per_review=False)
    run = services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_execute(run_id=run.pk)
    notes = Notification.objects.filter(user=org.rep)
    assert notes.count() == 1 and "3" in notes.get().title and "宁波化纤" in notes.get().body


def test_only_an_active_policy_runs(org, book):
    from kehu.errors import Conflict

    draft = services.policy_create(actor=org.admin, name=POLICY, kind="threshold", config=threshold.DEFAULT_CONFIG)
    with pytest.raises(Conflict):
        services.run_start(actor=org.admin, policy_id=draft.pk)


def test_preview_and_run_need_the_grading_permission(org, book):
    from kehu.errors import Forbidden

    policy = active_policy(org)
    with pytest.raises(Forbidden):
        services.run_preview(actor=org.manager, policy_id=policy.pk)
    with pytest.raises(Forbidden):
        services.run_start(actor=org.rep, policy_id=policy.pk)


@override_settings(KEHU_GRADING_SCHEDULE_MONTHS=3)
def test_quarterly_schedule_runs_in_review_months_once(org, book):
    active_policy(org)
    assert services.schedule_due(today=dt.date(2026, 5, 1)) == []
    runs = services.schedule_due(today=dt.date(2026, 7, 1))
    assert len(runs) == 1 and runs[0].as_of == AS_OF and runs[0].trigger == "schedule"
    assert services.schedule_due(today=dt.date(2026, 7, 1)) == []


@override_settings(KEHU_GRADING_SCHEDULE_MONTHS=6)
def test_half_yearly_schedule_skips_the_quarter(org, book):
    active_policy(org)
    assert services.schedule_due(today=dt.date(2026, 4, 1)) == []
    assert len(services.schedule_due(today=dt.date(2026, 7, 1))) == 1


@override_settings(KEHU_GRADING_SCHEDULE_MONTHS=0)
def test_schedule_can_be_switched_off(org, book):
    active_policy(org)
    assert services.schedule_due(today=dt.date(2026, 7, 1)) == []


def test_preview_activate_and_customer_grade_pages(client, org, book, django_capture_on_commit_callbacks):
    client.force_login(org.admin)
    policy = services.policy_create(actor=org.admin, name=POLICY, kind="threshold",
                                    config={**threshold.DEFAULT_CONFIG, "months": 1, "aggregate": "total"})
    page = client.get(reverse("grading:policy_preview", args=[policy.pk]), {"as_of": "2026-06-30"})
    assert page.status_code == 200 and "一星" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("grading:policy_activate", args=[policy.pk]), {"as_of": "2026-06-30"})
    assert response.status_code == 302
    run = GradingRun.objects.get()
    assert run.status == RunStatus.DONE, run.error
    c = book["苏州包装"]
    client.force_login(org.rep)
    page = client.get(reverse("grading:customer_grades", args=[c.pk]))
    assert page.status_code == 200 and "三星" in page.content.decode()
    assert client.get(reverse("grading:movements")).status_code == 200


def test_customer_grade_page_is_404_outside_scope(client, org, book):
    client.force_login(org.north_rep)
    assert client.get(reverse("grading:customer_grades", args=[book["苏州包装"].pk])).status_code == 404
