"""From an answer to the report (客户满意度调查分析与报告, 004 第4篇): a customer answers the survey on a
375 × 812 phone through the personal link as a detractor; the survey's owner moves the survey to its
analysis step, generates the report and sees that answer counted (the NPS breakdown changes from one
promoter to one promoter and one detractor), with its charts drawn; writes the first action of the plan;
and the customer's account manager finds the detractor's follow-up on the workbench and closes it."""

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


WIDER = """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)
    .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_phone_answer_is_counted_in_the_generated_report(org, new_page):
    from playwright.sync_api import expect

    from kehu.customers.tests.factories import contact, org_customer
    from kehu.surveys import services
    from kehu.surveys.actions.models import FollowUp, SurveyReport
    from kehu.surveys.actions.tests.test_actions import answers
    from kehu.surveys.models import Invitation
    from kehu.surveys.tests.conftest import approved_questionnaire, consent, walk_to

    huaxing = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    wang = contact(org.rep, huaxing, "王强")
    consent(org.rep, huaxing, wang)
    dongfang = org_customer(org.rep2, "上海东方贸易有限公司", serial=2, industry="贸易", province="上海市")
    li = contact(org.rep2, dongfang, "李娜")
    consent(org.rep2, dongfang, li)
    q = approved_questionnaire(org.manager)
    campaign = services.campaign_create(
        actor=org.manager, name="2026年度客户满意度调查", plan="华东区年度调查"
    )
    campaign = walk_to(org.manager, campaign, "fieldwork", questionnaire=q)
    # 东方 answered already: a promoter (NPS 10, 5 everywhere)
    _inv, other = services.invitation_link_issue(
        actor=org.manager, invitation_id=Invitation.objects.get(campaign=campaign, customer=dongfang).pk
    )
    services.response_submit(token=other, form=answers(q, score="5", nps="10", text="产品质量稳定，交货及时"))
    _inv, token = services.invitation_link_issue(
        actor=org.manager, invitation_id=Invitation.objects.get(campaign=campaign, customer=huaxing).pk
    )

    # the customer answers on a phone: NPS 3, price 1 (the bottom box), the rest 4, a comment
    phone = new_page(width=375, height=812)
    phone.goto(f"/s/{token}/")
    expect(phone.get_by_test_id("survey-form")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    fill_survey(phone, q, nps=3, rating_10=6, price=1, option=-1, text="价格偏高，售后响应太慢，投诉三天才有人联系")
    phone.get_by_test_id("survey-submit").click()
    expect(phone.get_by_test_id("survey-thanks")).to_be_visible()
    assert FollowUp.objects.get(campaign=campaign).customer_id == huaxing.pk  # with the response

    # the survey's owner: analysis step, then the report
    desk = new_page()
    log_in(desk, org, "manager")
    desk.goto(f"/surveys/campaigns/{campaign.pk}/")
    desk.get_by_test_id("advance-form").locator("textarea[name=note]").fill("回收2份问卷，进入分析。")
    desk.get_by_test_id("advance").click()
    expect(desk.locator("[data-testid=survey-steps] .step-item.active")).to_have_attribute(
        "data-stage", "analysis"
    )
    desk.get_by_test_id("tab-report").click()
    expect(desk.get_by_test_id("report-none")).to_be_visible()
    desk.locator("#f-summary").fill("价格和售后响应是主要短板，贬损客户集中在售后问题。")
    desk.get_by_test_id("report-generate").click()
    expect(desk.get_by_test_id("report-generated")).to_be_visible()
    expect(desk.get_by_test_id("nps-promoters")).to_have_text("1")
    expect(desk.get_by_test_id("nps-detractors")).to_have_text("1")
    expect(desk.get_by_test_id("fig-nps")).to_have_text("0.0")  # 100 × (1 − 1) / 2
    expect(desk.get_by_test_id("fig-responses")).to_have_text("2")
    expect(desk.locator("#report-charts")).to_have_attribute("data-ready", "1")
    expect(desk.locator("#dim-chart")).to_have_attribute("data-ready", "1")
    expect(desk.locator("#nps-chart")).to_have_attribute("data-ready", "1")
    expect(desk.get_by_test_id("keyword").filter(has_text="售后")).to_be_visible()
    assert SurveyReport.objects.get(campaign=campaign).figures["nps"]["detractors"] == 1

    desk.locator("#f-title").fill("售后响应时限压缩到24小时")
    desk.locator("#f-owner").select_option(str(org.rep.pk))
    desk.locator("#f-due").fill("2027-01-31")
    desk.get_by_test_id("action-add").click()
    expect(desk.get_by_test_id("action-row")).to_have_count(1)
    expect(desk.get_by_test_id("action-row")).to_contain_text("售后响应时限压缩到24小时")
    shot(desk, "report-desktop")
    desk.get_by_test_id("report-status").screenshot(path=os.path.join(SHOTS, "report-desktop-status.png"))
    desk.get_by_test_id("report-dimensions").screenshot(
        path=os.path.join(SHOTS, "report-desktop-dimensions.png")
    )
    desk.get_by_test_id("action-plan").screenshot(path=os.path.join(SHOTS, "report-desktop-plan.png"))

    narrow = new_page(width=375, height=812)
    log_in(narrow, org, "manager")
    narrow.goto(f"/surveys/campaigns/{campaign.pk}/report/")
    expect(narrow.locator("#dim-chart")).to_have_attribute("data-ready", "1")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 375, narrow.evaluate(WIDER)
    shot(narrow, "report-phone")
    if SHOTS:
        narrow.get_by_test_id("report-headline").screenshot(
            path=os.path.join(SHOTS, "report-phone-headline.png")
        )
        narrow.get_by_test_id("report-dimensions").screenshot(
            path=os.path.join(SHOTS, "report-phone-dimensions.png")
        )
        narrow.screenshot(path=os.path.join(SHOTS, "report-phone-top.png"))

    # the printable page, A4 wide (794 px at 96 dpi), as printed
    paper = new_page(width=794, height=1123)
    log_in(paper, org, "manager")
    paper.goto(f"/surveys/campaigns/{campaign.pk}/report/print/")
    expect(paper.get_by_test_id("print-title")).to_have_text("2026年度客户满意度调查")
    expect(paper.locator("#nps-chart")).to_have_attribute("data-ready", "1")
    expect(paper.get_by_test_id("print-action-plan")).to_contain_text("售后响应时限压缩到24小时")
    assert paper.evaluate("document.documentElement.scrollWidth") <= 794, paper.evaluate(
        WIDER.replace("376", "795")
    )
    paper.emulate_media(media="print")
    assert paper.evaluate("document.documentElement.scrollWidth") <= 794, paper.evaluate(
        WIDER.replace("376", "795")
    )
    if SHOTS:
        paper.screenshot(path=os.path.join(SHOTS, "report-print-top.png"))

    # the account manager of the detractor: the follow-up on the workbench, closed with what was done
    rep = new_page(width=375, height=812)
    log_in(rep, org, "rep")
    expect(rep.get_by_text("浙江华星石化有限公司").first).to_be_visible()
    rep.goto("/surveys/follow-ups/")
    row = rep.locator(f"[data-testid=follow-up-row][data-customer='{huaxing.pk}']")
    row.locator("input[name=note]").fill("已电话回访，安排售后经理上门处理")
    row.get_by_test_id("follow-up-close").click()
    expect(rep.get_by_test_id("empty-next")).to_be_visible()
    shot(rep, "rep-follow-ups")
    assert FollowUp.objects.get(campaign=campaign).status == "closed"
