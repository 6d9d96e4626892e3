"""Grading in a real browser, on a phone: the administrator defines a policy (polyolefin monthly pickup),
previews who moves where, activates it, and sees a customer's grade with its explanation."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS")

CONFIG = """metric: quantity_t
months: 1
aggregate: total
tiers:
- {grade: 普通, min: 0}
- {grade: 一星, min: 1000}
- {grade: 二星, min: 2000}
- {grade: 三星, min: 3000}
new_grade: 网拍
new_customer_months: 3
one_level_per_review: false
"""


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_admin_defines_previews_and_activates_a_policy_then_sees_a_grade_explained(org, new_page):
    from playwright.sync_api import expect

    from kehu.customers.models import Customer
    from kehu.grading.models import GradingPolicy
    from kehu.orders.models import Order

    last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    customers = {}
    for name, tonnes in (("华东塑业有限公司", 999), ("宁波化纤有限公司", 1500), ("苏州包装材料有限公司", 3200)):
        c = Customer.objects.create(name=name, owner=org.rep, department=org.rep.department, stage="customer")
        for day, t in ((dt.date(2024, 3, 1), 10), (last_month.replace(day=10), tonnes)):
            Order.objects.create(customer=c, order_date=day, product_line="聚乙烯", quantity=Decimal(t), unit="t",
                                 quantity_t=Decimal(t), amount=Decimal(t) * 8000)
        customers[name] = c

    page = new_page(width=390, height=844)
    log_in(page, org, "admin")
    page.goto("/grading/policies/")
    page.get_by_test_id("policy-new").click()
    page.fill("input[name=name]", "聚烯烃提货量分级")
    page.fill("textarea[name=config_yaml]", CONFIG)
    shot(page, "grading-policy-form")
    page.get_by_test_id("policy-save").click()
    expect(page.get_by_test_id("policy-state")).to_have_attribute("data-state", "draft")
    policy = GradingPolicy.objects.get()

    page.get_by_test_id("policy-preview").click()
    movements = page.get_by_test_id("preview-movements")
    expect(movements).to_contain_text("三星")
    expect(page.get_by_test_id("preview-sample")).to_contain_text("苏州包装材料有限公司")
    shot(page, "grading-preview")
    page.get_by_test_id("policy-activate").click()
    page.wait_for_url(re.compile(rf"/grading/policies/{policy.pk}/$"))
    expect(page.get_by_test_id("policy-state")).to_have_attribute("data-state", "active")
    expect(page.get_by_test_id("run-changed")).to_have_text("3")

    page.goto(f"/grading/customers/{customers['苏州包装材料有限公司'].pk}/")
    expect(page.get_by_test_id("grade")).to_have_text("三星")
    expect(page.get_by_test_id("current-grade").get_by_test_id("explanation")).to_contain_text("3200")
    shot(page, "grading-customer")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
