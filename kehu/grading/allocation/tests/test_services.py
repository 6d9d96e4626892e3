"""Plans and rounds through the services: validation (422, Chinese messages), agents before dealers on the
real look-back, immutability of a confirmed round (409), audit entries."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from kehu.audit.labels import ACTION_LABELS
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.grading.allocation import services
from kehu.grading.allocation.models import AllocationShare, RoundState, SalesPlan
from kehu.grading.allocation.tests.conftest import LINE, MONTH


def new_round(org, available="2500", **extra):
    return services.round_create(actor=org.admin, data={"month": MONTH, "product_line": LINE,
                                                        "available_t": available, **extra})


def shares_of(rnd, book):
    names = {c.pk: k for k, c in book["customers"].items()}
    return {names[s.customer_id]: s for s in AllocationShare.objects.filter(round=rnd)}


def test_short_supply_serves_the_exclusive_agents_first_and_splits_the_dealers_by_score(org, book):
    """2,500 t for 2,100 t of agents' needs (甬兴塑料 capped at its 900 t capacity) and 1,100 t of dealers':
    the agents get their whole need, the dealers share the 400 t left by score × need."""
    rnd = services.round_compute(actor=org.admin, round_id=new_round(org).pk)
    s = shares_of(rnd, book)
    assert (s["华东化工"].allocated_t, s["华东化工"].rule) == (Decimal("1200"), "full")
    assert (s["甬兴塑料"].allocated_t, s["甬兴塑料"].rule) == (Decimal("900"), "full")
    assert s["苏南经销"].rule == s["津北经销"].rule == "proportional"
    assert s["苏南经销"].allocated_t + s["津北经销"].allocated_t == Decimal("400")
    # 苏南经销 completed 80 % of its plans with regular pickups; 津北经销 picked up nothing.
    assert s["苏南经销"].completion_rate == Decimal("0.8") and s["津北经销"].completion_rate == 0
    assert s["津北经销"].regularity == 0 and s["苏南经销"].score > s["津北经销"].score
    assert s["苏南经销"].allocated_t > s["津北经销"].allocated_t
    assert rnd.total_allocated_t == Decimal("2500") and rnd.total_plan_t == Decimal("3300")


def test_the_inputs_come_from_the_look_back_orders_and_plans(org, book):
    rnd = services.round_compute(actor=org.admin, round_id=new_round(org).pk)
    s = shares_of(rnd, book)
    assert s["华东化工"].completion_rate == Decimal("1.0000")  # 2,999.997 t of 3,000 t
    assert s["华东化工"].regularity == Decimal("1.0000")  # the same tonnage every week
    assert s["甬兴塑料"].completion_rate == Decimal("0.5") and s["甬兴塑料"].regularity < Decimal("0.5")
    e = s["甬兴塑料"].explanation
    assert e["facts"]["completion"] == {"planned_t": "2400.000", "ordered_t": "1200.000",
                                        "plan_months": ["2026-08", "2026-09", "2026-10"]}
    assert e["facts"]["regularity"]["weeks_with_orders"] == 3
    assert e["facts"]["review"] == {"source": "default"} and s["甬兴塑料"].review_score is None
    assert e["lookback"] == ["2026-08-01", "2026-10-31"]


def test_review_score_from_hand_scores_when_no_scorecard_grade(org, book):
    from kehu.grading.models import HandScore

    HandScore.objects.create(customer=book["customers"]["津北经销"], dimension="cooperation", score=90)
    HandScore.objects.create(customer=book["customers"]["津北经销"], dimension="satisfaction", score=70)
    rnd = services.round_compute(actor=org.admin, round_id=new_round(org).pk)
    share = shares_of(rnd, book)["津北经销"]
    assert share.review_score == Decimal("80") and share.explanation["facts"]["review"]["source"] == "hand_scores"


def test_supply_above_all_plans_gives_everyone_plan_or_capacity(org, book):
    rnd = services.round_compute(actor=org.admin, round_id=new_round(org, available="10000").pk)
    got = {k: s.allocated_t for k, s in shares_of(rnd, book).items()}
    assert got == {"华东化工": Decimal("1200"), "甬兴塑料": Decimal("900"), "苏南经销": Decimal("600"),
                   "津北经销": Decimal("500")}
    assert rnd.summary["unallocated_t"] == "6800.000"


def test_plan_validation_answers_422_naming_each_field(org, book):
    customer = book["customers"]["华东化工"]
    with pytest.raises(Invalid) as exc:
        services.plan_create(actor=org.admin, data={"customer": customer.pk, "month": "2026-13", "product_line": "",
                                                    "participant_type": "retail", "quantity_t": "-5"})
    assert set(exc.value.fields) == {"month", "product_line", "participant_type", "quantity_t"}
    assert exc.value.status == 422
    assert exc.value.message == "请按 YYYY-MM 格式输入月份。"  # zh-Hans first, from the catalogue
    with pytest.raises(Invalid) as exc:
        services.plan_create(actor=org.admin, data={"customer": customer.pk, "month": MONTH, "product_line": LINE,
                                                    "participant_type": "dealer", "quantity_t": "1"})
    assert "month" in exc.value.fields  # one plan per customer, month and line
    with pytest.raises(Invalid) as exc:
        services.plan_create(actor=org.admin, data={"customer": customer.pk, "month": MONTH, "product_line": LINE,
                                                    "participant_type": "dealer", "quantity_t": "1.0001"})
    assert "quantity_t" in exc.value.fields


def test_a_manager_plans_only_for_customers_in_the_department(org, book):
    north = book["customers"]["津北经销"]
    with pytest.raises(Invalid) as exc:
        services.plan_create(actor=org.manager, data={"customer": north.pk, "month": "2026-12", "product_line": LINE,
                                                      "participant_type": "dealer", "quantity_t": "10"})
    assert "customer" in exc.value.fields
    plan = services.plan_create(actor=org.manager, data={
        "customer": book["customers"]["苏南经销"].pk, "month": "2026-12", "product_line": LINE,
        "participant_type": "dealer", "quantity_t": "10"})
    assert plan.submitted_by == org.manager


def test_account_managers_and_analysts_cannot_write(org, book):
    rnd = new_round(org)
    for user in (org.rep, org.analyst, org.finance):
        with pytest.raises(Forbidden):
            services.plan_create(actor=user, data={})
        with pytest.raises(Forbidden):
            services.round_compute(actor=user, round_id=rnd.pk)
        with pytest.raises(Forbidden):
            services.round_create(actor=user, data={"month": "2026-12", "product_line": LINE, "available_t": "1"})


def test_weights_must_add_up_to_one(org, book):
    with pytest.raises(Invalid) as exc:
        new_round(org, weight_review="0.5", weight_completion="0.5", weight_regularity="0.5")
    assert "weight_review" in exc.value.fields
    rnd = new_round(org, weight_review="1", weight_completion="0", weight_regularity="0")
    assert rnd.weight_review == 1 and rnd.class_order == ["direct", "exclusive_agent", "dealer"]


def test_a_confirmed_round_and_its_plans_are_immutable(org, book):
    rnd = services.round_compute(actor=org.admin, round_id=new_round(org).pk)
    rnd = services.round_confirm(actor=org.manager, round_id=rnd.pk)
    assert rnd.state == RoundState.CONFIRMED and rnd.confirmed_by == org.manager
    for write in (lambda: services.round_compute(actor=org.admin, round_id=rnd.pk),
                  lambda: services.round_update(actor=org.admin, round_id=rnd.pk, data={"available_t": "1"}),
                  lambda: services.round_confirm(actor=org.admin, round_id=rnd.pk),
                  lambda: services.round_delete(actor=org.admin, round_id=rnd.pk),
                  lambda: services.plan_update(actor=org.admin, plan_id=book["plans"]["华东化工"].pk,
                                               data={"quantity_t": "5"}),
                  lambda: services.plan_delete(actor=org.admin, plan_id=book["plans"]["华东化工"].pk),
                  lambda: new_round(org)):
        with pytest.raises(Conflict):
            write()
    assert SalesPlan.objects.get(pk=book["plans"]["华东化工"].pk).quantity_t == Decimal("1200")


def test_confirm_needs_a_fresh_preview(org, book):
    rnd = new_round(org)
    with pytest.raises(Conflict):
        services.round_confirm(actor=org.admin, round_id=rnd.pk)
    services.round_compute(actor=org.admin, round_id=rnd.pk)
    services.plan_update(actor=org.admin, plan_id=book["plans"]["津北经销"].pk, data={"quantity_t": "450"})
    with pytest.raises(Conflict):
        services.round_confirm(actor=org.admin, round_id=rnd.pk)
    services.round_compute(actor=org.admin, round_id=rnd.pk)
    assert services.round_confirm(actor=org.admin, round_id=rnd.pk).state == RoundState.CONFIRMED


def test_every_write_is_audited_with_a_label(org, book):
    rnd = new_round(org)
    services.round_update(actor=org.admin, round_id=rnd.pk, data={"available_t": "2600"})
    services.round_compute(actor=org.admin, round_id=rnd.pk)
    services.round_confirm(actor=org.admin, round_id=rnd.pk)
    plan = services.plan_create(actor=org.admin, data={"customer": book["customers"]["华东化工"].pk, "month": "2026-12",
                                                       "product_line": LINE, "participant_type": "exclusive_agent",
                                                       "quantity_t": "10"})
    services.plan_update(actor=org.admin, plan_id=plan.pk, data={"quantity_t": "12"})
    services.plan_delete(actor=org.admin, plan_id=plan.pk)
    draft = new_round(org, month="2026-12")
    services.round_delete(actor=org.admin, round_id=draft.pk)
    actions = set(AuditEntry.objects.filter(action__startswith="allocation.").values_list("action", flat=True))
    assert actions == {"allocation.plan.create", "allocation.plan.update", "allocation.plan.delete",
                       "allocation.round.create", "allocation.round.update", "allocation.round.compute",
                       "allocation.round.confirm", "allocation.round.delete"}
    assert actions <= set(ACTION_LABELS)


def _csv(text: str) -> bytes:
    return text.encode("utf-8-sig")


def test_import_creates_and_updates_plans_all_or_nothing(org, book):
    content = _csv("客户名称,月份,产品线,客户类型,计划量,产能,提货时间\n"
                   "浙江华东化工贸易有限公司,2026-12,聚乙烯 PE,独家代理,1300,,每周一\n"
                   "宁波甬兴塑料有限公司,2026年12月,聚乙烯 PE,独家代理,900,800,\n"
                   f"{book['customers']['苏南经销'].pk},2026-11,聚丙烯 PP,经销商,100,,\n")
    result = services.plan_import(actor=org.admin, file_name="12月计划.csv", content=content, dry_run=True)
    assert result == {"rows": 3, "created": 3, "updated": 0, "dry_run": True}
    assert not SalesPlan.objects.filter(month="2026-12-01").exists()
    bad = _csv("客户名称,月份,产品线,客户类型,计划量\n浙江华东化工贸易有限公司,2026-12,聚乙烯 PE,独家代理,1300\n"
               "不存在的公司,2026-12,聚乙烯 PE,经销商,abc\n")
    with pytest.raises(Invalid) as exc:
        services.plan_import(actor=org.admin, file_name="bad.csv", content=bad)
    assert list(exc.value.fields) == ["row 3"]
    assert not SalesPlan.objects.filter(month="2026-12-01").exists()
    result = services.plan_import(actor=org.admin, file_name="12月计划.csv", content=content)
    assert result["created"] == 3
    again = services.plan_import(actor=org.admin, file_name="12月计划.csv", content=content.replace(b"1300", b"1350"))
    assert (again["created"], again["updated"]) == (0, 3)
    assert SalesPlan.objects.get(customer=book["customers"]["华东化工"], month="2026-12-01").quantity_t == 1350
    assert AuditEntry.objects.filter(action="allocation.plan.import").count() == 2


def test_import_reads_xlsx(org, book):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["客户编号", "月份", "产品线", "类型", "计划量"])
    ws.append([book["customers"]["津北经销"].pk, "2026-12", LINE, "经销商", 420])
    buf = io.BytesIO()
    wb.save(buf)
    result = services.plan_import(actor=org.admin, file_name="plans.xlsx", content=buf.getvalue())
    assert result["created"] == 1


def test_the_class_order_and_defaults_come_from_settings(org, book, settings):
    """Dealers first when the company says so (KEHU_ALLOCATION), and a class left out of the order is a
    409 naming the setting, not a 500."""
    settings.KEHU_ALLOCATION = {**services.config(), "class_order": ["dealer", "exclusive_agent", "direct"],
                                "default_review_score": "90"}
    rnd = services.round_compute(actor=org.admin, round_id=new_round(org, available="1100").pk)
    s = shares_of(rnd, book)
    assert (s["苏南经销"].allocated_t, s["津北经销"].allocated_t) == (Decimal("600"), Decimal("500"))
    assert s["华东化工"].allocated_t == 0 and s["华东化工"].explanation["inputs"]["review_score"]["value"] == "90"
    settings.KEHU_ALLOCATION = {**services.config(), "class_order": ["exclusive_agent"]}
    with pytest.raises(Conflict):
        services.round_compute(actor=org.admin, round_id=new_round(org, available="1", note="x").pk)


def _declare(customer, code: str) -> None:
    from kehu.qualification.models import CustomerQualification, CustomerType

    CustomerQualification.objects.update_or_create(customer=customer,
                                                   defaults={"customer_type": CustomerType.objects.get(code=code)})


def test_a_plan_without_a_type_takes_the_type_declared_at_account_opening(org, book, client):
    """qualification.CustomerQualification.customer_type (declared at account opening) is the default of the
    plan's participant type — in the service (and so the API), the form and the import; a type given wins, and
    without either the plan is refused as before."""
    c = book["customers"]
    _declare(c["华东化工"], "exclusive_agent")
    _declare(c["苏南经销"], "dealer")
    plan = services.plan_create(actor=org.admin, data={"customer": c["华东化工"].pk, "month": "2026-12",
                                                       "product_line": LINE, "quantity_t": "100"})
    assert plan.participant_type == "exclusive_agent"
    given = services.plan_create(actor=org.admin, data={"customer": c["苏南经销"].pk, "month": "2026-12",
                                                        "product_line": LINE, "participant_type": "直销",
                                                        "quantity_t": "100"})
    assert given.participant_type == "direct"
    with pytest.raises(Invalid) as exc:  # 甬兴塑料 declared no type
        services.plan_create(actor=org.admin, data={"customer": c["甬兴塑料"].pk, "month": "2026-12",
                                                    "product_line": LINE, "participant_type": "", "quantity_t": "1"})
    assert list(exc.value.fields) == ["participant_type"]
    content = _csv("客户名称,月份,产品线,计划量\n苏州苏南化工经销有限公司,2027-01,聚乙烯 PE,200\n"
                   f"{c['华东化工'].pk},2027-01,聚乙烯 PE,300\n")
    assert services.plan_import(actor=org.admin, file_name="p.csv", content=content)["created"] == 2
    got = dict(SalesPlan.objects.filter(month="2027-01-01").values_list("customer_id", "participant_type"))
    assert got == {c["苏南经销"].pk: "dealer", c["华东化工"].pk: "exclusive_agent"}
    with pytest.raises(Invalid) as exc:  # the type column left out, a customer without a declared type
        services.plan_import(actor=org.admin, file_name="p.csv",
                             content=_csv("客户名称,月份,产品线,计划量\n宁波甬兴塑料有限公司,2027-01,聚乙烯 PE,1\n"))
    assert exc.value.fields == {"row 2": [exc.value.fields["row 2"][0]]}
    assert exc.value.fields["row 2"][0].startswith("participant_type: ")
    client.force_login(org.admin)
    response = client.post("/allocation/plans/new/", {"customer": str(c["苏南经销"].pk), "month": "2027-02",
                                                      "product_line": LINE, "participant_type": "",
                                                      "quantity_t": "50"})
    assert response.status_code == 302, response.content[:500]
    assert SalesPlan.objects.get(customer=c["苏南经销"], month="2027-02-01").participant_type == "dealer"
