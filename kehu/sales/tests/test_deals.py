"""Deals (成交): the small and large deposit registers (小定 / 大定) recorded by finance only — a rep is refused on the
API and on the page —, the deal's object checked as still available (one live deal per object, held by the
database), the allowed-transition map to subscription (认购) and signing (签约), the business gate (a pending or
suspended customer is refused), contract instalments, the daily arrears run (催款通知 after the grace, a breach case
past 2 months), the workbench to-dos, the customer 360 thread and the weekly / monthly deal analysis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers.models import Customer
from kehu.errors import Conflict, Forbidden
from kehu.sales import hooks, selectors, services
from kehu.sales.models import (
    BreachCase,
    Deal,
    DealPayment,
    DunningNotice,
    Instalment,
    SaleObject,
    SalesPolicy,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 7)


def open_deal(world, customer="huaxing", unit="A-1801", actor=None, amount="2860000"):
    return services.deal_create(actor=actor or world.org.rep, data={
        "customer": world.c[customer].pk, "title": f"{world.units[unit].name} 认购" if unit else "设备采购",
        "amount": amount, "sale_object": world.units[unit].pk if unit else None})


def deposit(world, deal, kind="small_deposit", amount="50000"):
    return services.deposit_record(actor=world.org.finance, deal_id=deal.pk, data={
        "kind": kind, "amount": amount, "method": "银行转账", "receipt_no": "SK20261207001"})


def signed_deal(world, instalments, *, signed_on=None, **kw):
    deal = open_deal(world, **kw)
    deposit(world, deal)
    services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "subscribed"})
    return services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={
        "to": "signed", "signed_on": signed_on, "instalments": instalments})


# ---------------------------------------------------------------- deposits: finance only

def test_a_rep_may_not_record_a_deposit_on_the_api_finance_may(world, api_client):
    deal = open_deal(world)
    body = {"kind": "small_deposit", "amount": "50000", "method": "微信转账"}
    r = api_client.as_user(world.org.rep).post(f"/sales/deals/{deal.pk}/deposits", body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert not DealPayment.objects.filter(deal=deal).exists()
    for who in ("manager", "executive"):  # sales leadership may not either: deposit.write is finance's
        assert api_client.as_user(getattr(world.org, who)).post(f"/sales/deals/{deal.pk}/deposits",
                                                                 body).status_code == 403
    r = api_client.as_user(world.org.finance).post(f"/sales/deals/{deal.pk}/deposits", body)
    assert r.status_code == 201, r.content
    assert r.json()["payments"][0]["kind"] == "small_deposit" and r.json()["paid"] == "50000.00"
    assert r.json()["payments"][0]["recorded_by"] == "吴会计"
    assert AuditEntry.objects.filter(action="sales.deposit_record", actor_name="finance").exists()


def test_a_rep_may_not_record_a_deposit_on_the_page_finance_may(world, client):
    deal = open_deal(world)
    form = {"action": "deposit", "kind": "small_deposit", "amount": "50000", "received_on": ""}
    client.force_login(world.org.rep)
    page = client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert 'data-testid="deposit-form"' not in page
    assert client.post(f"/sales/deals/{deal.pk}/", form).status_code == 403
    assert not DealPayment.objects.filter(deal=deal).exists()
    client.force_login(world.org.finance)
    assert 'data-testid="deposit-form"' in client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert client.post(f"/sales/deals/{deal.pk}/", form).status_code == 302
    assert DealPayment.objects.get(deal=deal).amount == Decimal("50000.00")


def test_a_large_deposit_moves_the_deal_to_the_large_deposit_stage(world):
    deal = open_deal(world)
    deposit(world, deal)
    deposit(world, deal, kind="large_deposit", amount="200000")
    deal.refresh_from_db()
    assert deal.stage == "large_deposit"
    with pytest.raises(Conflict):  # no small deposit after the large one
        deposit(world, deal)


# ---------------------------------------------------------------- the object and the gate

def test_the_deal_object_is_reserved_and_a_second_deal_on_it_is_refused(world, api_client):
    deal = open_deal(world)
    assert SaleObject.objects.get(pk=world.units["A-1801"].pk).status == "reserved"
    r = api_client.as_user(world.org.rep2).post("/sales/deals", {
        "customer": world.c["liu"].pk, "title": "抢房", "amount": "2860000", "sale_object": world.units["A-1801"].pk})
    assert r.status_code == 409 and r.json()["error"]["code"] == "object_unavailable"
    services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "cancelled", "note": "客户退定"})
    assert SaleObject.objects.get(pk=world.units["A-1801"].pk).status == "available"
    r = api_client.as_user(world.org.rep2).post("/sales/deals", {
        "customer": world.c["liu"].pk, "title": "改购", "amount": "2860000", "sale_object": world.units["A-1801"].pk})
    assert r.status_code == 201


def test_the_database_holds_one_live_deal_per_object(world):
    deal = open_deal(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.create(customer=world.c["liu"], title="绕过服务", amount=1, rep=world.org.rep2,
                            created_by=world.org.rep2, sale_object_id=deal.sale_object_id)


def test_a_deposit_is_refused_when_the_object_was_sold_meanwhile(world):
    deal = open_deal(world)
    SaleObject.objects.filter(pk=deal.sale_object_id).update(status="sold")  # sold through another channel
    with pytest.raises(Conflict) as exc:
        deposit(world, deal)
    assert exc.value.code == "object_unavailable"


@pytest.mark.parametrize("status", ["pending", "suspended", "disqualified"])
def test_no_deal_and_no_deposit_with_a_customer_not_admitted(world, api_client, status):
    deal = open_deal(world, customer="dongfang", unit="P-B012", amount="180000")
    Customer.objects.filter(pk=world.c["dongfang"].pk).update(status=status)
    r = api_client.as_user(world.org.rep).post("/sales/deals", {
        "customer": world.c["dongfang"].pk, "title": "新单", "amount": "1000"})
    assert r.status_code == 409 and r.json()["error"]["code"] == f"customer_{status}"
    r = api_client.as_user(world.org.finance).post(f"/sales/deals/{deal.pk}/deposits",
                                                   {"kind": "small_deposit", "amount": "10000"})
    assert r.status_code == 409 and r.json()["error"]["code"] == f"customer_{status}"


# ---------------------------------------------------------------- transitions, signing, instalments

def test_subscription_needs_a_deposit_and_signing_needs_a_subscription(world, api_client):
    api = api_client.as_user(world.org.rep)
    deal = open_deal(world)
    r = api.post(f"/sales/deals/{deal.pk}/move", {"to": "subscribed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "deposit_missing"
    r = api.post(f"/sales/deals/{deal.pk}/move", {"to": "signed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    deposit(world, deal)
    assert api.post(f"/sales/deals/{deal.pk}/move", {"to": "subscribed"}).json()["stage"] == "subscribed"
    assert api_client.as_user(world.org.finance).post(f"/sales/deals/{deal.pk}/move",
                                                      {"to": "signed"}).status_code == 403


def test_signing_sells_the_object_wins_the_opportunity_plans_instalments_and_tells_the_commission_app(world):
    from kehu.sales.models import OpportunityStage

    seen = []

    def on_won(deal, *, actor):
        seen.append((deal.pk, deal.stage, actor.username))

    hooks.on_deal_won(on_won)
    try:
        opp = services.opportunity_create(actor=world.org.rep, data={
            "customer": world.c["huaxing"].pk, "title": "滨江府1801", "amount": "2860000", "expected_close": "2026-12",
            "stage": OpportunityStage.objects.get(code="negotiation").pk})
        deal = services.deal_create(actor=world.org.rep, data={
            "customer": world.c["huaxing"].pk, "title": "滨江府1801", "amount": "2860000",
            "sale_object": world.units["A-1801"].pk, "opportunity": opp.pk})
        deposit(world, deal)
        services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "subscribed"})
        today = timezone.localdate()
        deal = services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "signed", "instalments": [
            {"due_on": (today + dt.timedelta(days=30)).isoformat(), "amount": "1000000"},
            {"due_on": (today + dt.timedelta(days=90)).isoformat(), "amount": "1810000"}]})
    finally:
        hooks._won.remove(on_won)
    assert seen == [(deal.pk, "signed", "rep")]
    assert deal.signed_on == timezone.localdate()
    assert SaleObject.objects.get(pk=world.units["A-1801"].pk).status == "sold"
    opp.refresh_from_db()
    assert opp.outcome == "won" and opp.stage.is_won
    assert [(i.seq, i.amount) for i in Instalment.objects.filter(deal=deal)] == [(1, Decimal("1000000.00")),
                                                                                 (2, Decimal("1810000.00"))]
    with pytest.raises(Conflict):
        services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "cancelled"})


def test_instalments_may_not_exceed_the_deal_amount(world, api_client):
    deal = open_deal(world, unit="P-B012", amount="180000")
    deposit(world, deal, amount="10000")
    api = api_client.as_user(world.org.rep)
    api.post(f"/sales/deals/{deal.pk}/move", {"to": "subscribed"})
    r = api.post(f"/sales/deals/{deal.pk}/move", {"to": "signed", "instalments": [
        {"due_on": "2027-01-10", "amount": "100000"}, {"due_on": "2027-02-10", "amount": "100000"}]})
    assert r.status_code == 422 and "instalments" in r.json()["error"]["fields"]
    assert Deal.objects.get(pk=deal.pk).stage == "subscribed"


def test_instalment_payments_are_finance_only_and_settle_the_instalment(world, api_client):
    deal = signed_deal(world, [{"due_on": "2027-03-01", "amount": "500000"}])
    inst = Instalment.objects.get(deal=deal)
    path = f"/sales/instalments/{inst.pk}/payments"
    assert api_client.as_user(world.org.rep).post(path, {"amount": "500000"}).status_code == 403
    r = api_client.as_user(world.org.finance).post(path, {"amount": "600000"})
    assert r.status_code == 422
    assert api_client.as_user(world.org.finance).post(path, {"amount": "200000"}).status_code == 201
    r = api_client.as_user(world.org.finance).post(path, {"amount": "300000"})
    assert r.status_code == 201 and r.json()["instalments"][0]["paid_on"] is not None


# ---------------------------------------------------------------- arrears: dunning notices and breach cases

def test_an_overdue_instalment_gets_a_dunning_notice_sent_to_the_rep_then_again_after_the_repeat_days(
        world, django_capture_on_commit_callbacks):
    from kehu.notifications.models import Notification

    deal = signed_deal(world, [{"due_on": "2026-12-07", "amount": "300000"}], signed_on="2026-12-01")
    inst = Instalment.objects.get(deal=deal)
    assert services.arrears_sweep(today=dt.date(2026, 12, 7)) == {"notices": 0, "breach_cases": 0}  # due today
    with django_capture_on_commit_callbacks(execute=True):  # the notification goes out when the run commits
        assert services.arrears_sweep(today=dt.date(2026, 12, 8))["notices"] == 1
    assert services.arrears_sweep(today=dt.date(2026, 12, 8))["notices"] == 0  # once a day
    assert services.arrears_sweep(today=dt.date(2026, 12, 14))["notices"] == 0  # 6 days later
    assert services.arrears_sweep(today=dt.date(2026, 12, 15))["notices"] == 1  # the policy's 7 days
    notices = list(DunningNotice.objects.filter(instalment=inst).order_by("issued_on"))
    assert [(n.days_overdue, n.amount_due) for n in notices] == [(1, Decimal("300000.00")), (8, Decimal("300000.00"))]
    assert Notification.objects.filter(user=world.org.rep, link=f"/sales/dunning/{notices[0].pk}/").exists()


def test_more_than_two_months_overdue_opens_one_breach_case_for_the_manager(world, api_client):
    deal = signed_deal(world, [{"due_on": "2026-09-30", "amount": "300000"}], signed_on="2026-09-01")
    assert services.arrears_sweep(today=dt.date(2026, 11, 30))["breach_cases"] == 0  # exactly 2 months
    assert services.arrears_sweep(today=dt.date(2026, 12, 1))["breach_cases"] == 1
    assert services.arrears_sweep(today=dt.date(2026, 12, 2))["breach_cases"] == 0  # one open case
    case = BreachCase.objects.get(deal=deal)
    assert api_client.as_user(world.org.rep).post(f"/sales/breach-cases/{case.pk}/close",
                                                  {"resolution": "x"}).status_code == 403
    assert api_client.as_user(world.org.north_manager).post(f"/sales/breach-cases/{case.pk}/close",
                                                            {"resolution": "x"}).status_code == 404
    r = api_client.as_user(world.org.manager).post(f"/sales/breach-cases/{case.pk}/close",
                                                   {"resolution": "已与客户签订还款协议，12月底前付清"})
    assert r.status_code == 200 and r.json()["state"] == "closed"


def test_the_arrears_figures_are_configurable(world, api_client):
    r = api_client.as_user(world.org.manager).patch("/sales/policy", {"breach_after_months": 1,
                                                                       "dunning_grace_days": 5})
    assert r.status_code == 200 and r.json()["breach_after_months"] == 1
    assert api_client.as_user(world.org.rep).patch("/sales/policy", {"breach_after_months": 3}).status_code == 403
    signed_deal(world, [{"due_on": "2026-10-31", "amount": "300000"}], signed_on="2026-10-01")
    assert services.arrears_sweep(today=dt.date(2026, 12, 1)) == {"notices": 1, "breach_cases": 1}
    assert SalesPolicy.objects.get().breach_after_months == 1


def test_dunning_notice_is_printable_and_scoped(world, client):
    signed_deal(world, [{"due_on": "2026-11-01", "amount": "300000"}], signed_on="2026-10-01")
    services.arrears_sweep(today=dt.date(2026, 11, 20))
    notice = DunningNotice.objects.get()
    client.force_login(world.org.rep)
    r = client.get(f"/sales/dunning/{notice.pk}/")
    assert r.status_code == 200 and "data-print" in r.content.decode() and "300000.00" in r.content.decode()
    client.force_login(world.org.rep2)
    assert client.get(f"/sales/dunning/{notice.pk}/").status_code == 404


def test_workbench_shows_the_reps_overdue_instalments_and_the_managers_breach_cases(world,
                                                                                  django_assert_num_queries):
    from kehu.sales.workbench import arrears_todos

    deal = signed_deal(world, [{"due_on": "2026-09-30", "amount": "300000"}], signed_on="2026-09-01")
    services.arrears_sweep(today=dt.date(2026, 12, 5))
    now = timezone.now()
    todos = arrears_todos(world.org.rep, today=TODAY, now=now, limit=5)
    assert [t.kind for t in todos] == ["sales_arrears"] and todos[0].url == f"/sales/deals/{deal.pk}/"
    assert arrears_todos(world.org.rep2, today=TODAY, now=now, limit=5) == []
    world.org.manager.department_subtree_ids()
    with django_assert_num_queries(1):
        todos = arrears_todos(world.org.manager, today=TODAY, now=now, limit=5)
    assert [t.kind for t in todos] == ["sales_breach"] and todos[0].url == "/sales/breaches/"
    assert arrears_todos(world.org.north_manager, today=TODAY, now=now, limit=5) == []
    assert arrears_todos(world.org.finance, today=TODAY, now=now, limit=5) == []
    BreachCase.objects.update(state="closed", resolution="已签还款协议", closed_at=now)
    assert arrears_todos(world.org.manager, today=TODAY, now=now, limit=5) == []


def test_deals_appear_in_the_customer_360_thread(world):
    from kehu.customers.profile import customer_thread

    deal = open_deal(world)
    items, _next = customer_thread(actor=world.org.rep, customer_id=world.c["huaxing"].pk)
    assert ("deal", deal.pk) in [(i.kind, i.id) for i in items]
    items, _next = customer_thread(actor=world.org.agent, customer_id=world.c["huaxing"].pk)
    assert "deal" not in [i.kind for i in items]


# ---------------------------------------------------------------- scope and statistics

def test_deals_are_scoped_by_rep_and_department(world, api_client):
    deal = open_deal(world)
    assert api_client.as_user(world.org.rep2).get(f"/sales/deals/{deal.pk}").status_code == 404
    assert api_client.as_user(world.org.north_manager).get(f"/sales/deals/{deal.pk}").status_code == 404
    assert api_client.as_user(world.org.manager).get(f"/sales/deals/{deal.pk}").status_code == 200
    assert api_client.as_user(world.org.finance).get(f"/sales/deals/{deal.pk}").status_code == 200
    assert api_client.as_user(world.org.agent).get(f"/sales/deals/{deal.pk}").status_code == 403
    with pytest.raises(Forbidden):
        services.deal_move(actor=world.org.finance, deal_id=deal.pk, data={"to": "cancelled"})


def test_month_and_week_deal_analysis_count_amount_by_rep_by_source_and_conversion(world, api_client):
    today = timezone.localdate()
    signed_deal(world, [], unit="A-1801")
    signed_deal(world, [], unit="A-1802", customer="dongfang", amount="2790000")
    open_deal(world, unit="P-B012", customer="liu", actor=world.org.rep2, amount="180000")  # not signed
    for period in ("month", "week"):
        body = api_client.as_user(world.org.manager).get("/sales/stats", {"period": period,
                                                                          "day": today.isoformat()}).json()
        assert body["count"] == 2 and body["amount"] == "5650000.00"
        assert body["by_rep"] == [{"id": world.org.rep.pk, "source": None, "name": "张伟", "count": 2,
                                   "amount": "5650000.00"}]
        assert {r["name"]: r["count"] for r in body["by_source"]} == {"转介绍": 1, "来电": 1}
        assert body["trend"][-1]["count"] == 2 and len(body["trend"]) == 6
    assert api_client.as_user(world.org.north_manager).get("/sales/stats").json()["count"] == 0
    assert api_client.as_user(world.org.rep2).get("/sales/stats").json()["count"] == 0
    assert api_client.as_user(world.org.analyst).get("/sales/stats").status_code == 403


def test_deal_analysis_exports_to_xlsx(world, client):
    from io import BytesIO

    from openpyxl import load_workbook

    signed_deal(world, [])
    client.force_login(world.org.manager)
    r = client.get("/sales/stats/export.xlsx", {"period": "month"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(BytesIO(r.content))
    assert len(wb.sheetnames) == 4
    rows = list(wb.worksheets[1].iter_rows(values_only=True))
    assert rows[1][1:] == (1, 2860000.0)
    client.force_login(world.org.analyst)
    assert client.get("/sales/stats/export.xlsx").status_code == 403


def test_deal_list_and_stats_query_counts_are_bounded(world, api_client, django_assert_max_num_queries):
    for unit, customer in (("A-1801", "huaxing"), ("A-1802", "dongfang"), ("P-B012", "huaxing")):
        signed_deal(world, [], unit=unit, customer=customer)
    api = api_client.as_user(world.org.manager)
    api.get("/sales/deals")
    with django_assert_max_num_queries(6):
        assert len(api.get("/sales/deals").json()["items"]) == 3
    with django_assert_max_num_queries(12):
        assert api.get("/sales/stats").json()["count"] == 3
    assert selectors.deal_stats(actor=world.org.manager)["count"] == 3


def test_a_deal_awaits_finances_deposit_before_it_shows_as_taken_and_can_be_subscribed(world, client):
    """A deal opens at the small-deposit stage before finance has taken anything: the list and the deal's page
    say it awaits the deposit (not "deposit taken") and offer no subscription; once finance records it they do;
    a signed deal links to its commission split."""
    deal = open_deal(world)
    client.force_login(world.org.rep)
    listing = client.get("/sales/deals/").content.decode()
    assert 'data-testid="deal-awaiting-deposit"' in listing
    page = client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert 'data-testid="deal-awaiting-deposit"' in page and 'data-testid="deal-subscribe"' not in page
    deposit(world, deal)
    page = client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert 'data-testid="deal-awaiting-deposit"' not in page and 'data-testid="deal-subscribe"' in page
    assert 'data-testid="deal-awaiting-deposit"' not in client.get("/sales/deals/").content.decode()
    services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "subscribed"})
    services.deal_move(actor=world.org.rep, deal_id=deal.pk, data={"to": "signed"})
    page = client.get(f"/sales/deals/{deal.pk}/").content.decode()
    assert f'href="/commissions/deals/{deal.pk}/"' in page
