"""The set-based run (months pivoted in SQL, kehu.grading.metrics.month_matrix) grades exactly like the pure
kinds over the ORM metrics (metrics.monthly_rows + customer_facts + kind.grade): same grade, same explanation,
same movements, on a seeded random book (fractional tonnes, empty months, payments, deleted and prospect
customers, customers without orders, earlier grades and an expiring override), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from kehu.customers.models import Customer
from kehu.grading import metrics, services
from kehu.grading.kinds import KINDS, base, consecutive, threshold
from kehu.grading.models import CustomerGrade, GradeHistory, Movement
from kehu.orders.models import Order, Payment

AS_OF = dt.date(2026, 6, 30)

CONFIGS = [
    ("threshold", {**threshold.DEFAULT_CONFIG, "months": 3}),
    ("threshold", {**threshold.DEFAULT_CONFIG, "months": 4, "aggregate": "max", "one_level_per_review": False,
                   "metric": "amount", "tiers": [{"grade": "C", "min": 0}, {"grade": "B", "min": "2500.5"},
                                                {"grade": "A", "min": 9000}]}),
    ("threshold", {**threshold.DEFAULT_CONFIG, "months": 2, "aggregate": "last", "new_grade": None,
                   "metric": "order_count", "tiers": [{"grade": "低", "min": 0}, {"grade": "高", "min": 2}]}),
    ("threshold", {**threshold.DEFAULT_CONFIG, "months": 3, "aggregate": "min", "metric": "gross_margin"}),
    ("threshold", {**threshold.DEFAULT_CONFIG, "months": 6, "aggregate": "total", "metric": "paid_on_time_amount",
                   "tiers": [{"grade": "普通", "min": 0}, {"grade": "一星", "min": 1500}]}),
    ("consecutive", {**consecutive.DEFAULT_CONFIG, "metric": "quantity_t", "months": 3,
                     "tiers": [{"grade": "三星", "above": 100}, {"grade": "四星", "above": "350.25"},
                               {"grade": "五星", "above": 800}]}),
    ("consecutive", {**consecutive.DEFAULT_CONFIG, "metric": "due_amount", "months": 2}),
]


def random_book(org, seed: int) -> list[Customer]:
    rng = random.Random(seed)
    customers = []
    for i in range(60):
        stage = "customer" if i % 9 else "prospect"
        c = Customer.objects.create(name=f"随机客户{seed}-{i}", owner=org.rep, department=org.rep.department,
                                    stage=stage)
        if i % 13 == 5:
            Customer.objects.filter(pk=c.pk).update(deleted_at=timezone.now())
        customers.append(c)
    orders, payments = [], []
    for c in customers:
        if rng.random() < 0.15:
            continue  # no orders at all
        for _ in range(rng.randrange(1, 14)):
            day = AS_OF - dt.timedelta(days=rng.randrange(0, 420))
            tonnes = Decimal(rng.randrange(0, 1_500_000)) / 1000
            orders.append(Order(customer=c, order_date=day, product_line="聚乙烯", quantity=tonnes, unit="t",
                                quantity_t=None if rng.random() < 0.05 else tonnes,
                                amount=Decimal(rng.randrange(1, 10_000_00)) / 100,
                                gross_margin=None if rng.random() < 0.1 else Decimal(rng.randrange(0, 90_000)) / 100))
        for _ in range(rng.randrange(0, 5)):
            due = AS_OF - dt.timedelta(days=rng.randrange(0, 200))
            paid = None if rng.random() < 0.3 else due + dt.timedelta(days=rng.randrange(-5, 6))
            payments.append(Payment(customer=c, due_date=due, paid_date=paid,
                                    amount=Decimal(rng.randrange(1, 300_000)) / 100))
    # one order after the review date must not count
    orders.append(Order(customer=customers[1], order_date=AS_OF + dt.timedelta(days=1), product_line="聚乙烯",
                        quantity=Decimal(5000), unit="t", quantity_t=Decimal(5000), amount=Decimal(1)))
    Order.objects.bulk_create(orders)
    Payment.objects.bulk_create(payments)
    return customers


def pure(policy, as_of):
    """The reference: the pure kind over the ORM metrics, as compute did before the set-based path."""
    kind = KINDS[policy.kind]
    config = kind.validate(policy.config)
    facts = metrics.customer_facts(as_of=as_of)
    previous = dict(CustomerGrade.objects.filter(policy_name=policy.name, customer_id__in=list(facts))
                    .values_list("customer_id", "grade"))
    return kind.grade(config, rows=metrics.monthly_rows(as_of=as_of, months=config["months"]), customers=facts,
                      previous=previous, as_of=as_of), previous


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("case", range(len(CONFIGS)))
def test_set_based_run_grades_like_the_pure_kind(org, seed, case):
    kind, config = CONFIGS[case]
    random_book(org, seed)
    policy = services.policy_create(actor=org.admin, name=f"等价{case}", kind=kind, config=config)
    services.policy_activate(actor=org.admin, policy_id=policy.pk)
    for as_of in (AS_OF, dt.date(2026, 8, 31), dt.date(2026, 4, 30)):
        policy.refresh_from_db()
        expected, previous = pure(policy, as_of)
        comp = services.compute(policy, as_of=as_of)
        assert comp.customers == len(expected)
        assert comp.changed == sorted(c for c, g in expected.items() if previous.get(c) != g.grade)
        moves: dict = {}
        for cid, g in expected.items():
            moves[(previous.get(cid) or "", g.grade)] = moves.get((previous.get(cid) or "", g.grade), 0) + 1
        assert comp.moves == moves
        for cid, grade, computed, text, prev, _owner, _dept in comp.rows:
            assert isinstance(text, str)  # a run's rows carry the explanation as the JSON text it stores
            explanation = services.explanation_dict(text)
            assert (grade, explanation, prev) == (expected[cid].grade, expected[cid].explanation, previous.get(cid))
            assert computed == expected[cid].explanation.get("computed_grade", grade)
        if not previous:  # the first run writes every customer: every grade and explanation compared
            assert sorted(r[0] for r in comp.rows) == sorted(expected)
        run = services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=as_of).pk)
        stored = dict(CustomerGrade.objects.filter(policy_name=policy.name).values_list("customer_id", "grade"))
        assert stored == {cid: g.grade for cid, g in expected.items()}
        assert run.changed == len(comp.changed)
        written = dict(CustomerGrade.objects.filter(policy_name=policy.name, run=run)
                       .values_list("customer_id", "explanation"))
        assert written == {cid: expected[cid].explanation for cid in written}
        assert set(written) >= set(comp.changed)


def test_unchanged_grade_keeps_its_row_an_expiring_override_is_rewritten(org):
    customers = random_book(org, 3)
    policy = services.policy_create(actor=org.admin, name="保留", kind="threshold",
                                    config={**threshold.DEFAULT_CONFIG, "months": 3})
    services.policy_activate(actor=org.admin, policy_id=policy.pk)
    first = services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    row = CustomerGrade.objects.filter(policy_name="保留").order_by("customer_id").first()
    CustomerGrade.objects.filter(pk=row.pk).update(grade="override-grade", overridden_until_run=True,
                                                   override_reason="test")
    Customer.objects.filter(pk=customers[2].pk).update(stage="lost")
    second = services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    row.refresh_from_db()
    assert (row.run_id, row.overridden_until_run, row.override_reason) == (second.pk, False, "")
    assert not CustomerGrade.objects.filter(policy_name="保留", customer=customers[2]).exists()
    assert GradeHistory.objects.filter(run=second, movement=Movement.LOST, customer=customers[2]).count() == 1
    others = CustomerGrade.objects.filter(policy_name="保留").exclude(pk=row.pk)
    assert others.exists() and set(others.values_list("run_id", flat=True)) == {first.pk}
    assert second.changed == 1  # the override's customer went back to its computed grade


WINDOW_KINDS = [
    ("abc", {}), ("abc", {"metric": "quantity_t", "months": 5}), ("rfm", {}), ("rfm", {"months": 3}),
    ("scorecard", {}), ("scorecard", {"months": 7}), ("key_account", {}),
]


def written_or_kept(policy, comp, expected: dict, previous: dict) -> set[int]:
    """Every graded customer is either among the rows a run writes, with the pure kind's grade and explanation,
    or left out because its stored row already holds that grade, under this policy version, not overridden, with
    that explanation (less ``previous_grade``, which names the grade before the review that set the current one,
    as the upsert compares them) — left out only on PostgreSQL, where a run compares digests. Returns those."""
    written = {r[0] for r in comp.rows}
    assert len(written) == len(comp.rows) and written <= set(expected)
    for cid, grade, _computed, explanation, prev, _owner, _dept in comp.rows:
        assert (grade, services.explanation_dict(explanation), prev) == (
            expected[cid].grade, expected[cid].explanation, previous.get(cid))
    kept = set(expected) - written
    if kept:
        assert connection.vendor == "postgresql"
        stored = {cid: (g, pid, o, r, e) for cid, g, pid, o, r, e in CustomerGrade.objects.filter(
            policy_name=policy.name, customer_id__in=kept).values_list(
            "customer_id", "grade", "policy_id", "overridden_until_run", "override_reason", "explanation")}
        assert set(stored) == kept
        for cid in kept:
            grade, pid, overridden, reason, explanation = stored[cid]
            assert (grade, pid, overridden, reason) == (expected[cid].grade, policy.pk, False, "")
            assert previous.get(cid) == grade
            assert ({k: v for k, v in explanation.items() if k != "previous_grade"}
                    == {k: v for k, v in expected[cid].explanation.items() if k != "previous_grade"})
    return kept


@pytest.mark.django_db
def test_jsonb_text_is_how_postgresql_prints_jsonb():
    """base.jsonb_text, the reference of the kinds' canonical texts, prints a value as PostgreSQL prints it."""
    import json

    if connection.vendor != "postgresql":
        pytest.skip("jsonb is PostgreSQL's")

    value = {"满意度": {"score": "12.5", "value": None, "missing": True}, "fit \"A\"": {"value": "x\ny\\z\u0001"},
             "kind": "scorecard", "scores": {"R": 1, "F": 5, "M": 3}, "b": [1, "二", False], "aa": {}, "é": 1.5}
    with connection.cursor() as cur:
        cur.execute("SELECT (CAST(%s AS jsonb) - 'previous_grade')::text",
                    [json.dumps({**value, "previous_grade": "旧"}, ensure_ascii=False)])
        assert cur.fetchone()[0] == base.jsonb_text(value)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("case", range(len(WINDOW_KINDS)))
def test_window_kinds_grade_like_the_pure_kind(org, seed, case):
    """ABC, RFM, scorecard and key-account runs read one row per customer (metrics.window, on both databases)
    and give the pure kinds' grades and explanations over monthly_rows; the window itself equals the exact
    reference added up in Decimals from the rows (test_window_exact.reference)."""
    from kehu.grading.tests.test_window_exact import population_ids, reference, stored_rows

    kind, extra = WINDOW_KINDS[case]
    random_book(org, seed)
    config = {**KINDS[kind].DEFAULT_CONFIG, **extra}
    policy = services.policy_create(actor=org.admin, name=f"窗口{case}", kind=kind, config=config)
    services.policy_activate(actor=org.admin, policy_id=policy.pk)
    for as_of in (AS_OF, dt.date(2026, 8, 31)):
        policy.refresh_from_db()
        cfg = KINDS[kind].validate(policy.config)
        window = metrics.window(as_of=as_of, months=cfg["months"])
        orders, payments = stored_rows()
        assert window == reference(orders, payments, population_ids(), as_of=as_of, months=cfg["months"])
        months = base.months_back(as_of, cfg["months"])
        assert window == base.window_of(metrics.monthly_rows(as_of=as_of, months=cfg["months"]), months)
        assert metrics.window(as_of=as_of, months=cfg["months"], with_halves=False).sums == window.sums
        facts = metrics.customer_facts(as_of=as_of, with_scores=True)
        previous = dict(CustomerGrade.objects.filter(policy_name=policy.name).values_list("customer_id", "grade"))
        expected = KINDS[kind].grade(cfg, rows=metrics.monthly_rows(as_of=as_of, months=cfg["months"]),
                                     customers=facts, previous=previous, as_of=as_of)
        comp = services.compute(policy, as_of=as_of)
        written_or_kept(policy, comp, expected, previous)
        services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=as_of).pk)
    # The same review again: nothing changed, so no row is rewritten (each keeps the run that set it) — and on
    # PostgreSQL no row is even staged: every customer's canonical text hashes like its stored jsonb.
    rows = CustomerGrade.objects.filter(policy_name=policy.name)
    kept = sorted(rows.values_list("customer_id", "run_id", "grade", "explanation"))
    if connection.vendor == "postgresql" and kind != "abc":
        assert services.compute(policy, as_of=as_of).rows == []
    again = services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=as_of).pk)
    assert again.changed == 0 and kept and sorted(rows.values_list("customer_id", "run_id", "grade", "explanation")) == kept


SCORED_CONFIGS = [
    ("scorecard", None), ("key_account", None),
    ("scorecard", {
        "months": 6, "missing_score": "37.5",
        "dimensions": [
            {"key": "volume", "source": "amount", "weight": 0.1, "zero": 0, "full": 50000},
            {"key": "tonnes", "source": "quantity_t", "weight": 0.05, "zero": 10, "full": 400},
            {"key": "orders", "source": "order_count", "weight": 0.05, "zero": 0, "full": 9},
            {"key": "margin", "source": "margin_rate", "weight": 0.1, "zero": 0, "full": 0.3},
            {"key": "payment", "source": "on_time_rate", "weight": 0.1, "zero": 0.5, "full": 1},
            {"key": "growth", "source": "growth", "weight": 0.1, "zero": -0.2, "full": 0.5},
            {"key": "life", "source": "lifetime_amount", "weight": 0.1, "zero": 0, "full": 200000},
            {"key": "loyal", "source": "active_month_share", "weight": 0.1, "zero": 0, "full": 1},
            {"key": "fit", "source": "manual", "weight": 0.15},
            {"key": "satisfaction", "source": "manual", "weight": 0.15}],
        "bands": [{"grade": "核心", "min": "41.5"}, {"grade": "重点", "min": 30}, {"grade": "普通", "min": 20},
                  {"grade": "潜在·边缘", "min": 0}]}),
    ("key_account", {"months": 5, "missing_score": 10, "dimensions": [
        {"key": "life", "source": "lifetime_amount", "weight": 0.5, "zero": 0, "full": 30000},
        {"key": "loyal", "source": "active_month_share", "weight": 0.5, "zero": 0, "full": 1}],
        "bands": [{"grade": "一级", "min": 60}, {"grade": "二级", "min": 30}, {"grade": "三级", "min": 0}]}),
]


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("case", range(len(SCORED_CONFIGS)))
def test_scorecard_window_reads_only_what_it_needs_and_grades_like_the_pure_kind(org, seed, case):
    """A scorecard or key-account run sums only what its dimensions read (metrics.window ``needs``, halves,
    active months) as int8 sums scaled back, and takes the lifetime amount from the same scan (``with_lifetime``)
    instead of customer_facts' GROUP BY: grades and explanations are the pure kind's over monthly_rows and
    customer_facts, hand scores included, on both databases; the window with the lifetime equals the exact
    reference added up in Decimals from the rows."""
    from kehu.grading.models import HandScore
    from kehu.grading.tests.test_window_exact import population_ids, reference, stored_rows

    kind, config = SCORED_CONFIGS[case]
    customers = random_book(org, seed)
    rng = random.Random(seed)
    for c in customers[::2]:
        for dim in ("influence", "fit", "satisfaction", "potential_value"):
            if rng.random() < 0.6:
                HandScore.objects.create(customer=c, dimension=dim, score=Decimal(rng.randrange(0, 10001)) / 100)
    policy = services.policy_create(actor=org.admin, name=f"评分{case}", kind=kind,
                                    config=config or KINDS[kind].DEFAULT_CONFIG)
    services.policy_activate(actor=org.admin, policy_id=policy.pk)
    for as_of in (AS_OF, dt.date(2026, 8, 31), dt.date(2026, 4, 30)):
        policy.refresh_from_db()
        cfg = KINDS[kind].validate(policy.config)
        full = metrics.window(as_of=as_of, months=cfg["months"], with_lifetime=True)
        orders, payments = stored_rows()
        assert full == reference(orders, payments, population_ids(), as_of=as_of, months=cfg["months"],
                                 with_lifetime=True)
        facts = metrics.customer_facts(as_of=as_of)  # the lifetime from the window's scan is customer_facts'
        assert full.lifetime == {cid: f["lifetime_amount"] for cid, f in facts.items()
                                 if f["first_order_month"] is not None}
        assert full == base.Window(**{**metrics.window(as_of=as_of, months=cfg["months"]).__dict__,
                                      "lifetime": full.lifetime})
        facts = metrics.customer_facts(as_of=as_of, with_scores=True)
        previous = dict(CustomerGrade.objects.filter(policy_name=policy.name).values_list("customer_id", "grade"))
        expected = KINDS[kind].grade(cfg, rows=metrics.monthly_rows(as_of=as_of, months=cfg["months"]),
                                     customers=facts, previous=previous, as_of=as_of)
        comp = services.compute(policy, as_of=as_of)
        assert any(f.get("scores") for f in facts.values())
        written_or_kept(policy, comp, expected, previous)
        preview = services.compute(policy, as_of=as_of, explain="sample")
        assert preview.moves == comp.moves and preview.changed == comp.changed
        for cid, grade, _computed, explanation, _prev, _owner, _dept in preview.rows:
            assert (grade, explanation) == (expected[cid].grade, expected[cid].explanation)
        services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=as_of).pk)
