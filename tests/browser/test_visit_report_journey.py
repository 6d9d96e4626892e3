"""A customer visit on a phone (客户走访, 004 第十一条): the account manager opens a scheduled visit of the
annual plan, files the scored visit report (客户走访报告单) with a few taps, sees its score, and opens the
printable A4 form — which prints every field of the paper form."""

from __future__ import annotations

import os
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS", "/tmp/shots/visits")


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_load_state("networkidle")


def shot(page, name, **kw):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True, **kw)


def test_rep_files_the_scored_visit_report_on_a_phone_and_prints_it(org, new_page):
    import datetime as dt

    from playwright.sync_api import expect

    from kehu.customers.tests.factories import org_customer
    from kehu.engagement.visits import services
    from kehu.engagement.visits.models import ScheduledVisit, VisitReport

    customer = org_customer(org.rep, "浙江华星石化有限公司", address="杭州市滨江区江南大道88号")
    org_customer(org.rep, "上海东方贸易有限公司")
    plan = services.plan_generate(actor=org.rep, year=2026, start=dt.date(2026, 1, 1))
    visit = ScheduledVisit.objects.filter(plan=plan, customer=customer).order_by("planned_on").first()

    page = new_page(width=375, height=812)
    log_in(page, org, "rep")
    page.goto(f"/visits/plans/{plan.pk}/")
    expect(page.get_by_test_id("visit-row").first).to_be_visible()
    shot(page, "phone-plan")
    page.goto(f"/visits/scheduled/{visit.pk}/")
    page.get_by_test_id("file-report").click()
    expect(page.get_by_test_id("report-form")).to_be_visible()
    # the three scales of the paper form, one tap each
    page.get_by_test_id("choice-quality-90").click()
    page.get_by_test_id("choice-service-85").click()
    page.get_by_test_id("choice-reputation-85").click()
    page.fill("textarea[name=market_info]", "竞品降价约5%，客户开始比价")
    page.fill("textarea[name=needs]", "希望缩短交货期至7天以内")
    page.select_option("select[name=s0_topic]", "delivery")
    page.fill("textarea[name=s0_text]", "建议在华东设立前置仓")
    page.fill("input[name=principal_name]", "王建国")
    page.fill("input[name=principal_title]", "总经理")
    page.fill("input[name=signatory_name]", "王建国")
    shot(page, "phone-report-form")
    # the form fits the phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_test_id("report-submit").click()
    page.wait_for_url(re.compile(r"/visits/reports/\d+/$"))
    expect(page.get_by_test_id("r-score")).to_have_text("86.7")  # (90 + 85 + 85) / 3
    shot(page, "phone-report")
    report = VisitReport.objects.get(visit=visit)
    assert report.suggestions.get().text == "建议在华东设立前置仓"

    page.get_by_test_id("print-link").click()
    page.wait_for_url(re.compile(r"/print/$"))
    for testid, text in (("r-customer", "浙江华星石化有限公司"), ("r-address", "杭州市滨江区江南大道88号"),
                         ("r-chosen-quality", "优良"), ("r-chosen-service", "良好"),
                         ("r-chosen-reputation", "知名度高"), ("r-market", "竞品降价约5%"),
                         ("r-needs", "希望缩短交货期"), ("r-suggestions", "建议在华东设立前置仓"),
                         ("r-principal", "王建国"), ("r-signatory", "王建国")):
        expect(page.get_by_test_id(testid)).to_contain_text(text)
    shot(page, "phone-print")
    page.emulate_media(media="print")
    expect(page.get_by_test_id("print-button")).to_be_hidden()
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    shot(page, "a4-print-media")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
    with open(os.path.join(SHOTS, "report.pdf"), "wb") as fh:
        fh.write(pdf)
