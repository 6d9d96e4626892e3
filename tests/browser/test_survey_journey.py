"""A satisfaction survey answered on a phone (客户满意度调查, 004 第4篇): the customer opens the personal link on a
390 px screen, answers every section of the questionnaire (scales, NPS, choices, the matrix, a comment),
reaches the thank-you page; the manager then sees the response counted on the survey's page; the same
link opened again is refused."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.survey_fill import fill_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS", "/tmp/shots/surveys")


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


def test_customer_answers_on_a_phone_and_the_manager_sees_the_response_counted(org, new_page):
    from playwright.sync_api import expect

    from kehu.customers.tests.factories import contact, org_customer
    from kehu.surveys import services
    from kehu.surveys.models import Invitation, Response
    from kehu.surveys.tests.conftest import approved_questionnaire, consent, walk_to

    huaxing = org_customer(org.rep, "浙江华星石化有限公司")
    wang = contact(org.rep, huaxing, "王强")
    consent(org.rep, huaxing, wang)
    q = approved_questionnaire(org.manager)
    campaign = services.campaign_create(actor=org.manager, name="2026年度客户满意度调查", plan="华东区年度调查")
    campaign = walk_to(org.manager, campaign, "fieldwork", questionnaire=q)
    inv = Invitation.objects.get(campaign=campaign, customer=huaxing)
    _inv, token = services.invitation_link_issue(actor=org.manager, invitation_id=inv.pk)

    phone = new_page(width=390, height=844)
    phone.goto(f"/s/{token}/")
    expect(phone.get_by_test_id("survey-form")).to_be_visible()
    expect(phone.get_by_test_id("survey-customer")).to_have_text("浙江华星石化有限公司")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    fill_survey(phone, q, nps=9, rating_10=8, price=2, text="交货及时，产品质量稳定，价格偏高")
    shot(phone, "phone-questionnaire")
    phone.get_by_test_id("survey-submit").click()
    expect(phone.get_by_test_id("survey-thanks")).to_be_visible()
    shot(phone, "phone-thanks")
    response = Response.objects.get(campaign=campaign, customer=huaxing)
    assert response.answers.filter(question__kind="nps").get().number == 9
    assert response.answers.filter(question__dimension="product_price").get().number == 2

    desk = new_page()
    log_in(desk, org, "manager")
    desk.goto(f"/surveys/campaigns/{campaign.pk}/")
    expect(desk.get_by_test_id("responded")).to_have_text("1")
    expect(desk.get_by_test_id("rate")).to_have_text("100.0%")
    expect(desk.locator(f"[data-testid=invitation-row][data-customer='{huaxing.pk}'] .badge")).to_be_visible()
    shot(desk, "manager-survey")

    phone.goto(f"/s/{token}/")
    expect(phone.get_by_test_id("survey-refused")).to_have_attribute("data-code", "link_used")
    shot(phone, "phone-reused")
    assert Response.objects.filter(campaign=campaign).count() == 1
