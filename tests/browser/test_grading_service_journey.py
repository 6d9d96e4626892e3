"""Grading's differentiated service and the order import in a real browser, at 375 px and 1280 px: a rep
scores a customer by hand and asks to renew an override; the administrator sets what a grade earns; the
rep imports an XLSX of orders (dry run with the error report, then the import with its progress). No page
scrolls sideways."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from decimal import Decimal

import pytest

from tests.browser.test_grading_journey import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS")


def no_sideways_scroll(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def world(org):
    from kehu.approvals.services import approval_decide
    from kehu.customers.models import Customer
    from kehu.grading import services
    from kehu.grading.kinds import scorecard, threshold
    from kehu.orders.models import Order

    last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    customers = {}
    for name, tonnes in (("华东塑业有限公司", 999), ("苏州包装材料有限公司", 3200)):
        c = Customer.objects.create(name=name, owner=org.rep, department=org.rep.department, stage="customer")
        for day, t in ((dt.date(2024, 3, 1), 10), (last_month.replace(day=10), tonnes)):
            Order.objects.create(customer=c, order_date=day, product_line="聚乙烯", quantity=Decimal(t), unit="t",
                                 quantity_t=Decimal(t), amount=Decimal(t) * 8000)
        customers[name] = c
    cfg = {**threshold.DEFAULT_CONFIG, "months": 1, "aggregate": "total", "one_level_per_review": False}
    p = services.policy_create(actor=org.admin, name="聚烯烃提货量分级", kind="threshold", config=cfg)
    services.policy_activate(actor=org.admin, policy_id=p.pk)
    s = services.policy_create(actor=org.admin, name="综合评分", kind="scorecard", config=scorecard.DEFAULT_CONFIG)
    services.policy_activate(actor=org.admin, policy_id=s.pk)
    for policy in (p, s):
        services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk).pk)
    c = customers["华东塑业有限公司"]
    req = services.override_request(actor=org.rep, customer_id=c.pk, policy_name=p.name, grade="一星",
                                    reason="战略合作协议已签，下季度起每月 1500 吨")
    for user in (org.manager, org.executive):
        approval_decide(actor=user, request_id=req.pk, decision="approve", comment="同意")
    return customers, p


@pytest.mark.parametrize("width", [375, 1280])
def test_hand_scores_renewal_service_policies_and_order_import(org, new_page, width, tmp_path, settings):
    from openpyxl import Workbook
    from playwright.sync_api import expect

    from kehu.grading.models import HandScore, ServicePolicy
    from kehu.orders.models import Order

    settings.VAR_DIR = tmp_path
    customers, policy = world(org)
    c = customers["华东塑业有限公司"]
    page = new_page(width=width, height=900)
    log_in(page, org, "rep")

    page.goto(f"/grading/customers/{c.pk}/")
    expect(page.get_by_test_id("override-expiry").first).to_be_visible()
    page.fill("input[name=score_influence]", "85")
    page.fill("input[name=note_influence]", "省级行业协会理事单位")
    page.fill("input[name=score_satisfaction]", "70")
    page.locator("#hand-scores button[type=submit]").click()
    expect(page.get_by_test_id("hand-score-history")).to_contain_text("省级行业协会理事单位")
    assert HandScore.objects.filter(customer=c).count() == 2
    page.get_by_test_id("renew").locator("summary").click()
    page.get_by_test_id("renew").locator("textarea").fill("协议执行中，下季度复核提货量")
    page.get_by_test_id("renew").locator("button[type=submit]").click()
    expect(page.get_by_test_id("override-pending")).to_be_visible()
    no_sideways_scroll(page, width)
    shot(page, f"grading-customer-scores-{width}")

    page.goto("/orders/import/")
    shot(page, f"order-import-{width}")
    no_sideways_scroll(page, width)
    wb = Workbook()
    ws = wb.active
    ws.append(["订单号", "客户名称", "订单日期", "产品线", "数量", "单位", "金额", "渠道"])
    ws.append(["SO-9001", c.name, "2026-03-01", "聚乙烯 PE", 25, "t", 212500, "直销"])
    ws.append(["SO-9002", c.name, "2026-03-02", "聚丙烯 PP", 0, "t", 1, "直销"])
    ws.append(["SO-9003", "不存在的客户", "2026-03-03", "聚乙烯 PE", 1, "t", 1, "直销"])
    buf = io.BytesIO()
    wb.save(buf)
    page.set_input_files("input[name=file]", files=[{"name": "orders.xlsx", "buffer": buf.getvalue(),
                                                     "mimeType": "application/octet-stream"}])
    page.get_by_test_id("order-import-upload").click()
    page.wait_for_url(re.compile(r"/orders/import/\d+/$"))
    expect(page.get_by_test_id("error-count")).to_have_text("2")
    expect(page.get_by_test_id("import-errors")).to_contain_text("4")
    no_sideways_scroll(page, width)
    shot(page, f"order-import-checked-{width}")
    page.get_by_test_id("order-import-commit").click()
    expect(page.get_by_test_id("import-done")).to_be_visible()
    assert Order.objects.filter(external_id="SO-9001").exists()
    shot(page, f"order-import-done-{width}")

    page = new_page(width=width, height=900)
    log_in(page, org, "admin")
    page.goto("/grading/policies/")
    page.get_by_test_id("nav-service-policies").click()
    card = page.locator(f'[data-testid="service-policy-card"][data-policy="{policy.name}"]')
    card.locator('[data-testid="service-policy-row"][data-grade="三星"] [data-testid="service-policy-edit"]').click()
    page.check("input[name=dedicated_manager]")
    page.fill("input[name=complaint_sla_working_days]", "2")
    page.fill("input[name=visit_every_days]", "30")
    page.fill("input[name=response_priority]", "1")
    shot(page, f"service-policy-form-{width}")
    page.locator('[data-testid="service-policy-form"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/grading/service-policies/"))
    expect(card.locator('[data-grade="三星"]')).to_contain_text("2")
    assert ServicePolicy.objects.get(grade="三星").visit_every_days == 30
    no_sideways_scroll(page, width)
    shot(page, f"service-policies-{width}")
