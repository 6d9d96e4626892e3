"""Resource allocation (资源量分配, 004 第13篇 第十条) in a real browser, on a phone: the sales manager finds on the
workbench that a dealer has not planned this month and that the month has no allocation round; enters the
dealer's monthly plan, creates the round from the to-do's link, computes the shares (exclusive agents first, the
dealer gets what is left), confirms them and reads why each share is what it is. Then the same pages at desktop
width. Screenshots go to $KEHU_SCREENSHOTS when set."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS")
LINE = "聚乙烯 PE"


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/workbench/$"))
    page.wait_for_load_state("networkidle")  # the workbench's charts load after the page


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _book(org):
    """华东区's two exclusive agents and a dealer, with plans and weekly orders over the last three months;
    this month only the agents have planned."""
    from django.utils import timezone

    from kehu.customers.models import Customer
    from kehu.grading.allocation import services
    from kehu.grading.allocation.inputs import month_add
    from kehu.orders.models import Order

    this_month = timezone.localdate().replace(day=1)
    people = {"浙江华东化工贸易有限公司": ("exclusive_agent", 1000, "1200"),
              "宁波甬兴塑料有限公司": ("exclusive_agent", 800, "1000"),
              "苏州苏南化工经销有限公司": ("dealer", 500, None)}
    out = {}
    for name, (ptype, monthly, now_t) in people.items():
        c = Customer.objects.create(name=name, owner=org.rep, department=org.rep.department, stage="customer")
        out[name] = c
        for back in (3, 2, 1):
            month = month_add(this_month, -back)
            services.plan_create(actor=org.admin, data={"customer": c.pk, "month": month, "product_line": LINE,
                                                        "participant_type": ptype, "quantity_t": str(monthly)})
            for week in range(4):
                t = Decimal(monthly) * Decimal("0.8") / 4
                Order.objects.create(customer=c, order_date=month + dt.timedelta(days=7 * week), product_line=LINE,
                                     quantity=t, unit="t", quantity_t=t, amount=t * 8000)
        if now_t:
            services.plan_create(actor=org.admin, data={"customer": c.pk, "month": this_month, "product_line": LINE,
                                                        "participant_type": ptype, "quantity_t": now_t})
    return out, this_month


def test_manager_plans_computes_and_confirms_a_months_allocation_on_a_phone(org, new_page):
    from playwright.sync_api import expect

    from kehu.grading.allocation.models import AllocationRound, AllocationShare, SalesPlan

    customers, this_month = _book(org)
    month = this_month.strftime("%Y-%m")
    page = new_page(width=375, height=812)
    page.on("dialog", lambda dialog: dialog.accept())  # "Confirm this allocation?"
    log_in(page, org, "manager")

    # the workbench: the dealer has not planned this month, and the month has no round
    missing = page.locator("[data-testid=todo][data-kind=allocation_plans]")
    expect(missing).to_contain_text(LINE)
    expect(page.locator("[data-testid=todo][data-kind=allocation_round]")).to_contain_text(month)
    shot(page, "allocation-workbench-375")
    fits(page, 375)

    # enter the dealer's monthly plan
    missing.click()
    page.wait_for_url(re.compile(r"/allocation/plans/\?"))
    page.get_by_test_id("plan-new").click()
    page.fill("input[name=customer]", "苏州苏南化工经销有限公司")
    page.fill("input[name=product_line]", LINE)
    page.select_option("select[name=participant_type]", "dealer")
    page.fill("input[name=quantity_t]", "600")
    page.fill("input[name=pickup_note]", "每周二、周五")
    shot(page, "allocation-plan-form-375")
    fits(page, 375)
    page.get_by_test_id("plan-save").click()
    expect(page.get_by_test_id("plan-table")).to_contain_text("苏州苏南化工经销有限公司")
    assert SalesPlan.objects.get(customer=customers["苏州苏南化工经销有限公司"], month=this_month).quantity_t == 600
    shot(page, "allocation-plans-375")
    fits(page, 375)

    # the round, from the workbench's link: month and product line already filled in
    page.goto("/workbench/")
    expect(page.locator("[data-testid=todo][data-kind=allocation_plans]")).to_have_count(0)
    page.locator("[data-testid=todo][data-kind=allocation_round]").click()
    form = page.get_by_test_id("round-form")
    expect(form.locator("input[name=month]")).to_have_value(month)
    expect(form.locator("input[name=product_line]")).to_have_value(LINE)
    form.locator("input[name=available_t]").fill("2500")  # 300 t short of the 2,800 t planned
    page.get_by_test_id("round-create").click()
    expect(page.get_by_test_id("round-state")).to_be_visible()
    page.get_by_test_id("round-compute").click()
    expect(page.get_by_test_id("share-row")).to_have_count(3)
    shot(page, "allocation-round-preview-375")

    page.get_by_test_id("round-confirm").click()
    expect(page.get_by_test_id("round-confirm")).to_have_count(0)
    rnd = AllocationRound.objects.get()
    assert rnd.state == "confirmed" and rnd.total_allocated_t == Decimal("2500")
    # exclusive agents before dealers: the agents get their whole plans, the dealer the 300 t left
    shares = {s.customer.name: s.allocated_t for s in AllocationShare.objects.filter(round=rnd).select_related("customer")}
    assert shares == {"浙江华东化工贸易有限公司": Decimal("1200"), "宁波甬兴塑料有限公司": Decimal("1000"),
                      "苏州苏南化工经销有限公司": Decimal("300")}
    dealer = page.get_by_test_id("share-row").filter(has_text="苏州苏南化工经销有限公司")
    expect(dealer).to_contain_text("300.000")
    why = page.get_by_test_id("share-explanation").nth(2)
    why.locator("summary").click()
    expect(why).to_contain_text("%")
    shot(page, "allocation-round-confirmed-375")
    fits(page, 375)

    # decided: nothing left on the workbench
    page.goto("/workbench/")
    expect(page.locator("[data-testid=todo][data-kind^=allocation]")).to_have_count(0)

    # the same pages at desktop width
    desk = new_page(width=1280, height=900)
    log_in(desk, org, "manager")
    desk.goto(f"/allocation/rounds/{rnd.pk}/")
    expect(desk.get_by_test_id("share-row")).to_have_count(3)
    desk.get_by_test_id("share-explanation").first.locator("summary").click()
    shot(desk, "allocation-round-confirmed-1280")
    desk.goto(f"/allocation/plans/?month={month}")
    expect(desk.get_by_test_id("plan-row")).to_have_count(3)
    shot(desk, "allocation-plans-1280")
    desk.goto("/allocation/rounds/")
    shot(desk, "allocation-rounds-1280")
