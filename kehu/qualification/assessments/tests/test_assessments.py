"""Customer assessments (客户考评, seed 004 第13篇 第十、十六条): a quarterly / half-yearly / yearly run scores every
customer set-based — admission re-checked, plan completion, order regularity, cooperation by hand, credit —
weighted by customer type; finalising hands the scores to grading; an assessment proposes changed payment
terms that finance and the general manager approve and that then apply."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from kehu.approvals.models import ApprovalRequest, ApprovalTask
from kehu.approvals.services import approval_decide
from kehu.customers.tests.factories import org_customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.grading.allocation.models import SalesPlan
from kehu.grading.models import HandScore
from kehu.orders.models import Order, Payment, PaymentTerms
from kehu.qualification.assessments import selectors, services
from kehu.qualification.assessments.models import Assessment, TermsProposal

pytestmark = pytest.mark.django_db

Q3 = ("quarter", 2026, 3)  # 2026-07-01 … 2026-09-30


def _order(c, day, tonnes):
    return Order.objects.create(customer=c, order_date=day, product_line="聚乙烯", quantity=Decimal(tonnes), unit="t",
                                quantity_t=Decimal(tonnes), amount=Decimal(tonnes) * 8000)


@pytest.fixture
def book(org):
    agent = org_customer(org.rep, "宁波甬兴塑料有限公司", serial=71, stage="customer")
    direct = org_customer(org.rep, "杭州恒瑞橡胶有限公司", serial=72, stage="customer")
    north = org_customer(org.north_rep, "天津渤海石化有限公司", serial=73, stage="customer")
    for month in (7, 8, 9):
        SalesPlan.objects.create(customer=agent, month=dt.date(2026, month, 1), product_line="聚乙烯",
                                 participant_type="exclusive_agent", quantity_t=Decimal(100))
    _order(agent, dt.date(2026, 7, 5), 100)
    _order(agent, dt.date(2026, 8, 5), 100)  # 200 of 300 t planned, 2 of 3 months
    _order(direct, dt.date(2026, 7, 9), 40)
    _order(direct, dt.date(2026, 8, 9), 40)
    _order(direct, dt.date(2026, 9, 9), 40)
    Payment.objects.create(customer=agent, due_date=dt.date(2026, 8, 1), paid_date=dt.date(2026, 7, 30), amount=300)
    Payment.objects.create(customer=agent, due_date=dt.date(2026, 9, 1), paid_date=dt.date(2026, 9, 20), amount=100)
    Payment.objects.create(customer=direct, due_date=dt.date(2026, 9, 1), paid_date=dt.date(2026, 9, 1), amount=500)
    return {"agent": agent, "direct": direct, "north": north}


@pytest.fixture
def run(org, book):
    return services.run_create(actor=org.executive, period_kind=Q3[0], year=Q3[1], number=Q3[2])


def _row(run, customer) -> Assessment:
    return Assessment.objects.get(run=run, customer=customer)


def test_quarter_run_scores_plan_completion_regularity_and_credit_per_customer_type(org, book, run):
    agent = _row(run, book["agent"])
    assert agent.customer_type == "exclusive_agent"
    assert (agent.planned_t, agent.ordered_t, agent.months_with_orders) == (Decimal(300), Decimal(200), 2)
    assert agent.plan_score == Decimal("66.67")
    assert agent.regularity_score == Decimal("66.67")
    assert agent.credit_score == Decimal("75.00")  # 300 of 400 paid by the due date
    assert agent.admission_score == Decimal(100)
    direct = _row(run, book["direct"])
    assert direct.customer_type == "direct"
    assert direct.plan_score is None  # no plan: the item does not apply
    assert (direct.regularity_score, direct.credit_score) == (Decimal(100), Decimal(100))
    assert direct.total == Decimal(100) and direct.result == "excellent"
    assert run.customers == 3


def test_cooperation_scored_by_hand_keeps_who_and_when_and_survives_a_recompute(org, book, run):
    row = _row(run, book["agent"])
    before = row.total
    services.cooperation_score_set(actor=org.manager, assessment_id=row.pk, score="40", note="不按计划提货")
    row.refresh_from_db()
    assert row.cooperation_by == org.manager and row.cooperation_at is not None
    assert row.total < before
    services.run_create(actor=org.executive, period_kind=Q3[0], year=Q3[1], number=Q3[2])
    again = _row(run, book["agent"])
    assert (again.cooperation_score, again.cooperation_by) == (Decimal(40), org.manager)
    with pytest.raises(Invalid):
        services.cooperation_score_set(actor=org.manager, assessment_id=again.pk, score="101")


def test_finalised_run_feeds_grading_and_is_frozen(org, book, run):
    services.run_finalize(actor=org.executive, run_id=run.pk)
    scores = dict(HandScore.objects.filter(dimension="assessment").values_list("customer_id", "score"))
    assert scores[book["direct"].pk] == Decimal(100)
    assert len(scores) == 3
    with pytest.raises(Conflict):
        services.run_create(actor=org.executive, period_kind=Q3[0], year=Q3[1], number=Q3[2])
    with pytest.raises(Conflict):
        services.cooperation_score_set(actor=org.manager, assessment_id=_row(run, book["direct"]).pk, score=90)


def test_half_year_and_year_periods(org, book):
    half = services.run_create(actor=org.executive, period_kind="half", year=2026, number=2)
    assert (half.period_start, half.period_end, half.label) == (dt.date(2026, 7, 1), dt.date(2026, 12, 31), "2026H2")
    assert _row(half, book["agent"]).regularity_score == Decimal("33.33")  # 2 of 6 months
    year = services.run_create(actor=org.executive, period_kind="year", year=2025, number=1)
    assert year.label == "2025"


def test_a_future_period_or_a_rep_is_refused(org, book):
    with pytest.raises(Invalid):
        services.run_create(actor=org.executive, period_kind="quarter", year=2100, number=1)
    with pytest.raises(Forbidden):
        services.run_create(actor=org.rep, period_kind=Q3[0], year=Q3[1], number=Q3[2])


def test_rows_are_scoped_and_outside_scope_is_not_found(org, book, run):
    north_row = _row(run, book["north"])
    assert {a.customer_id for a in selectors.assessment_list(actor=org.manager, run_id=run.pk).items} == {
        book["agent"].pk, book["direct"].pk}
    with pytest.raises(NotFound):
        selectors.assessment_get(actor=org.manager, assessment_id=north_row.pk)
    with pytest.raises(NotFound):
        services.cooperation_score_set(actor=org.manager, assessment_id=north_row.pk, score=80)


def test_credit_terms_change_goes_through_finance_then_general_manager_and_applies(org, book, run):
    row = _row(run, book["direct"])
    p = services.terms_propose(actor=org.manager, assessment_id=row.pk, kind="credit", credit_limit="300000",
                               credit_days=30, reason="考评优秀，回款及时")
    assert p.current == {"kind": "prepay"}
    req = ApprovalRequest.objects.get(object_id=str(p.pk), chain__code=services.TERMS_CHAIN)
    asked = []
    for _step in range(3):  # the manager's line, finance, the general manager
        task = ApprovalTask.objects.filter(request=req, status="pending").select_related("assignee").get()
        asked.append(task.assignee.role)
        assert not PaymentTerms.objects.filter(customer=book["direct"]).exists()  # not before the last step
        approval_decide(actor=task.assignee, request_id=req.pk, decision="approve")
    assert asked[1:] == ["finance", "executive"]
    terms = PaymentTerms.objects.get(customer=book["direct"])
    assert (terms.kind, terms.credit_limit, terms.credit_days) == ("credit", Decimal("300000.00"), 30)
    p.refresh_from_db()
    assert p.state == "approved"


def test_credit_terms_rejected_leave_payment_before_delivery(org, book, run):
    p = services.terms_propose(actor=org.manager, assessment_id=_row(run, book["agent"]).pk, kind="credit",
                               credit_limit="100000", credit_days=15, reason="申请赊销")
    req = ApprovalRequest.objects.get(object_id=str(p.pk), chain__code=services.TERMS_CHAIN)
    first = ApprovalTask.objects.filter(request=req, status="pending").select_related("assignee").get()
    approval_decide(actor=first.assignee, request_id=req.pk, decision="approve")
    approval_decide(actor=org.finance, request_id=req.pk, decision="reject", comment="回款不及时")
    p.refresh_from_db()
    assert p.state == "rejected" and not PaymentTerms.objects.filter(customer=book["agent"]).exists()
    with pytest.raises(Invalid) as exc:
        services.terms_propose(actor=org.manager, assessment_id=_row(run, book["agent"]).pk, kind="credit",
                               reason="缺额度")
    assert {"credit_limit", "credit_days"} <= set(exc.value.fields)


def test_report_export_is_an_xlsx_of_the_scope(org, book, run, client):
    from openpyxl import load_workbook

    client.force_login(org.manager)
    r = client.get(f"/assessments/runs/{run.pk}/export.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    names = [row[0].value for row in list(wb.worksheets[1].iter_rows(min_row=2))]
    assert sorted(names) == sorted(["宁波甬兴塑料有限公司", "杭州恒瑞橡胶有限公司"])  # not the north customer


def test_pages_render(org, book, run, client):
    client.force_login(org.manager)
    row = _row(run, book["agent"])
    for url in ("/assessments/", f"/assessments/runs/{run.pk}/", f"/assessments/runs/{run.pk}/print/",
                f"/assessments/rows/{row.pk}/"):
        assert client.get(url).status_code == 200, url
    r = client.post(f"/assessments/runs/{run.pk}/", {"action": "cooperation", "assessment": row.pk, "score": "85"})
    assert r.status_code == 302
    row.refresh_from_db()
    assert row.cooperation_score == Decimal(85)
    client.force_login(org.north_manager)
    assert client.get(f"/assessments/rows/{row.pk}/").status_code == 404


def test_api_run_and_rows(org, book, api_client):
    r = api_client.as_user(org.executive).post("/assessments/runs", {"period_kind": "quarter", "year": 2026,
                                                                      "number": 3})
    assert r.status_code == 201
    run_id = r.json()["id"]
    rows = api_client.as_user(org.north_manager).get(f"/assessments/runs/{run_id}/rows").json()["items"]
    assert [x["customer"] for x in rows] == [book["north"].pk]
    assert api_client.as_user(org.rep).post("/assessments/runs", {"period_kind": "quarter", "year": 2026,
                                                                   "number": 3}).status_code == 403
    rep = api_client.as_user(org.executive).get(f"/assessments/runs/{run_id}").json()
    assert rep["customers"] == 3


def test_run_is_set_based(org, book, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        services.run_create(actor=org.executive, period_kind=Q3[0], year=Q3[1], number=Q3[2])


def test_workbench_shows_the_assessment_due_to_a_manager(org):
    from kehu.qualification.assessments.workbench import assessment_todos

    today = dt.date(2026, 10, 12)
    todos = assessment_todos(org.manager, today=today, now=None, limit=10)
    assert [t.kind for t in todos] and all(t.kind == "assessment_due" for t in todos)
    assert assessment_todos(org.rep, today=today, now=None, limit=10) == []


def test_terms_proposal_unique_while_open(org, book, run):
    row = _row(run, book["direct"])
    services.terms_propose(actor=org.manager, assessment_id=row.pk, kind="prepay", reason="恢复款到发货")
    with pytest.raises(Conflict):
        services.terms_propose(actor=org.manager, assessment_id=row.pk, kind="prepay", reason="再次")
    assert TermsProposal.objects.count() == 1


def test_the_type_declared_at_account_opening_wins_over_the_plans(org, book):
    """A customer opened as 经销商 is assessed as a dealer even if a plan row names it otherwise; a customer
    with neither a declared type nor a plan is a direct customer."""
    from kehu.qualification.models import CustomerQualification, CustomerType

    dealer = CustomerType.objects.get(code="dealer")
    CustomerQualification.objects.update_or_create(customer=book["agent"], defaults={"customer_type": dealer})
    CustomerQualification.objects.update_or_create(customer=book["north"], defaults={"customer_type": dealer})
    run = services.run_create(actor=org.executive, period_kind=Q3[0], year=Q3[1], number=Q3[2])
    assert _row(run, book["agent"]).customer_type == "dealer"
    assert _row(run, book["north"]).customer_type == "dealer"
    assert _row(run, book["direct"]).customer_type == "direct"
