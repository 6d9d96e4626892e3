"""A sales office's flow end to end (issue 13: walk-in → rotation → registration → deposit by finance →
commission statement), as the roles do it in a real browser:

1. the manager (李经理) puts 张伟 and 刘洋 on today's duty roster, in that order, on the rotation page;
   张伟 has just received a visitor, so 刘洋 is next in line;
2. the receptionist at the desk (前台 陈晓, on a phone) records the walk-in — sent by the company (公司安排) —
   and the rotation hands her to 刘洋;
3. 刘洋 (on a 375 px phone) finds the walk-in on the workbench, registers her as his customer from the entry
   (first registration wins: he becomes the owner), and opens a deal on a unit from there;
4. he is offered no deposit form, and a forged post of it and the API both answer 403; finance (吴会计) records
   the small deposit on the deal's page;
5. 刘洋 signs the subscription and the contract; the won deal is split by the commission rules (a company
   customer: 70 % to the rep, 30 % to the pool) and his monthly statement shows his line and the pool's, which
   the manager exports to XLSX."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS", "/tmp/shots/sales_office")
PHONE = {"width": 375, "height": 812}


def log_in(page, username, password):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_load_state("networkidle")


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def fits(page, width=375):
    """Nothing on the page is wider than the phone's screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def post_forged(page, body: dict) -> int:
    """A form post the page does not offer, sent from the page with its CSRF token: the HTTP status."""
    return page.evaluate(
        """async (fields) => {
        const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
        const body = new URLSearchParams({csrfmiddlewaretoken: token, ...fields});
        const r = await fetch(location.pathname, {method: "POST", body, credentials: "same-origin"});
        return r.status;
    }""",
        body,
    )


def test_walk_in_rotation_registration_deposit_by_finance_and_commission_statement(org, new_page):
    from django.utils import timezone
    from playwright.sync_api import expect

    from kehu.access.services import token_create, user_create
    from kehu.customers.models import Customer
    from kehu.sales import services as sales
    from kehu.sales.commissions.models import DealSplit
    from kehu.sales.models import Deal, DealPayment
    from kehu.sales.ownership.models import Registration
    from kehu.sales.reception import services as reception
    from kehu.sales.reception.models import RegisterEntry, SourceChannel

    # a transactional test starts from an emptied database: the office's source channels
    for code, name, company in (("passing_by", "路过", False), ("company", "公司安排", True)):
        SourceChannel.objects.get_or_create(code=code, defaults={"name": name, "company": company})
    desk = user_create(
        actor=None,
        username="desk",
        password=org.password,
        role="account_manager",
        department=org.depts["east"],
        display_name="陈晓",
    )
    unit = sales.object_create(
        actor=org.manager, data={"code": "2-1602", "name": "滨江府 2 幢 1602 室", "list_price": "3180000"}
    )
    today = timezone.localdate()

    # 1. the manager sets today's roster on the rotation page: 张伟 first, 刘洋 second
    manager = new_page()
    log_in(manager, "manager", org.password)
    manager.goto("/reception/")
    expect(manager.get_by_test_id("no-roster")).to_be_visible()
    manager.check(f"#rep-{org.rep.pk}")
    manager.fill(f"input[name=pos_{org.rep.pk}]", "1")
    manager.check(f"#rep-{org.rep2.pk}")
    manager.fill(f"input[name=pos_{org.rep2.pk}]", "2")
    manager.get_by_test_id("roster-save").click()
    expect(manager.get_by_test_id("shift-row")).to_have_count(2)
    expect(manager.get_by_test_id("next-in-line")).to_contain_text("张伟")
    # 张伟 received the morning's first visitor
    reception.entry_create(
        actor=desk, data={"source": SourceChannel.objects.get(code="passing_by").pk, "visitor_name": "钱先生"}
    )
    manager.reload()
    expect(manager.get_by_test_id("next-in-line")).to_contain_text("刘洋 → 张伟")
    shot(manager, "1-roster")

    # 2. the receptionist records the walk-in on her phone: the rotation gives her to 刘洋
    front = new_page(**PHONE)
    log_in(front, "desk", org.password)
    front.goto("/reception/new/")
    front.select_option("select[name=source]", label="公司安排")
    front.fill("input[name=visitor_name]", "孙丽")
    front.fill("input[name=visitor_phone]", "13912345678")
    front.fill("textarea[name=intention]", "改善型住房，四居室，预算 320 万")
    fits(front)
    front.get_by_test_id("entry-save").click()
    front.wait_for_url(re.compile(r"/reception/new/\d+/$"))
    expect(front.get_by_test_id("assigned-rep")).to_have_text("刘洋")
    shot(front, "2-desk-assigned")
    entry = RegisterEntry.objects.get(visitor_name="孙丽")
    assert (entry.rep_id, entry.assignment, entry.counted) == (org.rep2.pk, "rotation", True)

    # 3. 刘洋 finds her on his workbench and registers her as his customer from the entry
    rep = new_page(**PHONE)
    log_in(rep, "rep2", org.password)
    rep.goto("/workbench/")
    rep.locator("[data-testid=todo][data-kind=reception_walk_in]").filter(has_text="孙丽").click()
    rep.wait_for_url(re.compile(rf"/reception/register/{entry.pk}/$"))
    form = rep.get_by_test_id("register-form")
    expect(form).to_be_visible()
    expect(rep.get_by_test_id("register-name")).to_have_value("孙丽")
    rep.get_by_test_id("register-phone-consent").check()
    fits(rep)
    shot(rep, "3-rep-entry-register")
    rep.get_by_test_id("entry-register").click()
    expect(rep.get_by_test_id("entry-customer")).to_contain_text("孙丽")
    expect(rep.get_by_test_id("entry-outcome")).to_have_text("已登记为潜在客户")
    customer = Customer.objects.get(name="孙丽")
    assert customer.owner_id == org.rep2.pk and customer.kind == "person"
    assert Registration.objects.get(customer=customer).rep_id == org.rep2.pk
    fits(rep)
    shot(rep, "3-rep-registered")
    # the ownership register lists it on his phone too
    rep.goto("/ownership/registrations/")
    expect(rep.locator("body")).to_contain_text("孙丽")
    fits(rep)
    shot(rep, "3-registrations-phone")

    # … and opens a deal on unit 2-1602 for her, from the entry
    rep.goto(f"/reception/register/{entry.pk}/")
    rep.get_by_test_id("entry-open-deal").click()
    deal_form = rep.get_by_test_id("deal-form")
    expect(deal_form.locator("select[name=customer]")).to_have_value(str(customer.pk))
    deal_form.locator("input[name=title]").fill("滨江府 2-1602 认购")
    deal_form.locator("input[name=amount]").fill("3180000")
    deal_form.locator("select[name=sale_object]").select_option(str(unit.pk))
    deal_form.locator("button[type=submit]").click()
    rep.wait_for_url(re.compile(r"/sales/deals/\d+/$"))
    deal = Deal.objects.get()
    assert (deal.customer_id, deal.rep_id, deal.sale_object_id) == (customer.pk, org.rep2.pk, unit.pk)
    expect(rep.get_by_test_id("deal-stage")).to_have_attribute("data-stage", "small_deposit")
    expect(rep.get_by_test_id("deal-awaiting-deposit")).to_be_visible()  # not "deposit taken" before it is
    expect(rep.get_by_test_id("deal-subscribe")).to_have_count(0)
    expect(rep.get_by_test_id("deal-subscribe-waits")).to_be_visible()

    # 4. the rep may not take the deposit: no form, a forged post is 403, and so is the API
    expect(rep.get_by_test_id("deposit-form")).to_have_count(0)
    assert post_forged(rep, {"action": "deposit", "kind": "small_deposit", "amount": "50000"}) == 403
    _token, key = token_create(actor=org.rep2, name="journey")
    api = rep.request.post(
        f"/api/v1/sales/deals/{deal.pk}/deposits",
        data={"kind": "small_deposit", "amount": "50000"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert api.status == 403, api.text()
    assert "财务" in api.json()["error"]["message"]
    assert not DealPayment.objects.exists()
    fits(rep)
    shot(rep, "4-rep-deal-no-deposit")

    finance = new_page()
    log_in(finance, "finance", org.password)
    finance.goto(f"/sales/deals/{deal.pk}/")
    dep = finance.get_by_test_id("deposit-form")
    dep.locator("select[name=kind]").select_option("small_deposit")
    dep.locator("input[name=amount]").fill("50000")
    dep.locator("input[name=method]").fill("POS 刷卡")
    dep.locator("button[type=submit]").click()
    expect(finance.get_by_test_id("payment-row")).to_have_count(1)
    expect(finance.get_by_test_id("deal-paid")).to_contain_text("50000")
    shot(finance, "4-finance-deposit")
    payment = DealPayment.objects.get()
    assert (payment.recorded_by_id, payment.amount) == (org.finance.pk, Decimal("50000"))

    # 5. 刘洋 signs the subscription and the contract: the deal is won and split
    rep.reload()
    expect(rep.get_by_test_id("deal-awaiting-deposit")).to_have_count(0)
    rep.get_by_test_id("deal-subscribe").click()
    expect(rep.get_by_test_id("deal-stage")).to_have_attribute("data-stage", "subscribed")
    rep.get_by_test_id("deal-sign").click()
    expect(rep.get_by_test_id("deal-stage")).to_have_attribute("data-stage", "signed")
    split = DealSplit.objects.get(deal=deal, current=True)
    assert split.rule == "company_customer"
    lines = {(line.user_id, line.share_percent) for line in split.lines.all()}
    assert lines == {(org.rep2.pk, Decimal("70.00")), (None, Decimal("30.00"))}
    assert sum(line.amount for line in split.lines.all()) == split.base > 0
    rep.get_by_test_id("deal-commission").click()  # the deal's page leads to its split, explained
    rep.wait_for_url(re.compile(rf"/commissions/deals/{deal.pk}/$"))
    expect(rep.locator("body")).to_contain_text("公司客户")
    fits(rep)
    shot(rep, "5-rep-deal-split")

    rep.goto(f"/commissions/?month={today:%Y-%m}")
    row = rep.get_by_test_id("statement-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("滨江府 2-1602 认购")
    expect(row).to_contain_text("70")
    rep_line = split.lines.get(user_id=org.rep2.pk)
    expect(rep.get_by_test_id("statement-total")).to_have_text(str(rep_line.amount))
    expect(rep.get_by_test_id("statement-pool-row")).to_contain_text("30")
    fits(rep)
    shot(rep, "5-rep-statement")

    manager.goto(f"/commissions/?month={today:%Y-%m}&rep={org.rep2.pk}")
    expect(manager.get_by_test_id("statement-row")).to_contain_text("滨江府 2-1602 认购")
    expect(manager.get_by_test_id("month-summary")).to_contain_text("刘洋")
    with manager.expect_download() as download:
        manager.get_by_test_id("statement-xlsx").click()
    from openpyxl import load_workbook

    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as fh:
        sheet = load_workbook(fh).active
    cells = [str(c) for row_ in sheet.iter_rows(values_only=True) for c in row_ if c is not None]
    assert any("滨江府 2-1602 认购" in c for c in cells)
    assert any(str(rep_line.amount) in c for c in cells)
    shot(manager, "5-manager-statement")
