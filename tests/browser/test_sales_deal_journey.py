"""A deal from opportunity to statistics (客户开发 → 成交): the rep opens an opportunity for a customer and then a
deal on a unit of the inventory; the rep cannot record the small deposit (小定) — the page offers no form and a
forged post is refused — finance records it; the rep signs the subscription and the contract with an instalment;
the month's deal analysis (月成交分析) counts the deal, by rep and by source."""

from __future__ import annotations

import os
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS", "/tmp/shots/sales")


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_load_state("networkidle")


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_rep_opens_opportunity_and_deal_finance_takes_the_deposit_deal_signed_and_counted(org, new_page):
    from playwright.sync_api import expect

    from kehu.customers.tests.factories import org_customer
    from kehu.sales import services
    from kehu.sales.models import Deal, DealPayment

    customer = org_customer(org.rep, "杭州远景新材料有限公司", serial=21, source="referral")
    unit = services.object_create(actor=org.manager, data={"code": "A-1801", "name": "滨江府 1 幢 1801 室",
                                                           "list_price": "2860000"})

    rep = new_page(width=375, height=812)
    log_in(rep, org, "rep")
    rep.goto("/sales/opportunities/")
    form = rep.get_by_test_id("opportunity-form")
    form.locator("select[name=customer]").select_option(str(customer.pk))
    form.locator("input[name=title]").fill("滨江府 1801 置业")
    form.locator("input[name=amount]").fill("2860000")
    form.locator("button[type=submit]").click()
    rep.wait_for_url(re.compile(r"/sales/opportunities/\d+/$"))
    expect(rep.get_by_test_id("opp-outcome")).to_have_attribute("data-outcome", "open")
    shot(rep, "phone-opportunity")
    assert rep.evaluate("document.documentElement.scrollWidth") <= 375

    rep.get_by_test_id("open-deal").click()
    deal_form = rep.get_by_test_id("deal-form")
    deal_form.locator("select[name=sale_object]").select_option(str(unit.pk))
    deal_form.locator("button[type=submit]").click()
    rep.wait_for_url(re.compile(r"/sales/deals/\d+/$"))
    deal = Deal.objects.get()
    assert deal.opportunity is not None and deal.sale_object_id == unit.pk
    expect(rep.get_by_test_id("deal-stage")).to_have_attribute("data-stage", "small_deposit")
    # The rep is not offered the deposit register, and a forged post of it is refused.
    expect(rep.get_by_test_id("deposit-form")).to_have_count(0)
    status = rep.evaluate("""async () => {
        const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
        const body = new URLSearchParams({csrfmiddlewaretoken: token, action: "deposit", kind: "small_deposit",
                                          amount: "50000"});
        const r = await fetch(location.pathname, {method: "POST", body, credentials: "same-origin"});
        return r.status;
    }""")
    assert status == 403
    assert not DealPayment.objects.exists()

    finance = new_page()
    log_in(finance, org, "finance")
    finance.goto(f"/sales/deals/{deal.pk}/")
    dep = finance.get_by_test_id("deposit-form")
    dep.locator("select[name=kind]").select_option("small_deposit")
    dep.locator("input[name=amount]").fill("50000")
    dep.locator("input[name=method]").fill("银行转账")
    dep.locator("button[type=submit]").click()
    expect(finance.get_by_test_id("payment-row")).to_have_count(1)
    expect(finance.get_by_test_id("deal-paid")).to_contain_text("50000")
    shot(finance, "finance-deposit")
    assert DealPayment.objects.get().recorded_by == org.finance

    rep.reload()
    rep.get_by_test_id("deal-subscribe").click()
    expect(rep.get_by_test_id("deal-stage")).to_have_attribute("data-stage", "subscribed")
    sign = rep.get_by_test_id("sign-form")
    sign.locator("input[name=due_on]").first.fill("2027-03-31")
    sign.locator("input[name=instalment_amount]").first.fill("1000000")
    rep.get_by_test_id("deal-sign").click()
    expect(rep.get_by_test_id("deal-stage")).to_have_attribute("data-stage", "signed")
    expect(rep.get_by_test_id("instalment-table")).to_contain_text("2027-03-31")
    shot(rep, "phone-signed")

    manager = new_page()
    log_in(manager, org, "manager")
    manager.goto("/sales/stats/?period=month")
    expect(manager.get_by_test_id("stats-count")).to_have_text("1")
    expect(manager.get_by_test_id("stats-amount")).to_contain_text("2860000")
    expect(manager.get_by_test_id("stats-by-rep")).to_contain_text("张伟")
    expect(manager.get_by_test_id("stats-by-source")).to_contain_text("转介绍")
    expect(manager.locator("[data-sales-chart] svg")).to_have_count(1)
    shot(manager, "stats")
