"""A customer's journey through the UI in a real browser: registered by a rep, found by pinyin
initials, seen masked by a service agent whose reveal is refused, revealed by the east manager,
and that reveal found by the auditor in the audit log."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13812345678"
NAME = "浙江华星石化有限公司"


def valid_uscc(body="91330106MA2H0K8X3"):
    from stdnum.cn import uscc

    return body + uscc.calc_check_digit(body)


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    # the workbench fetches its badges and charts after load: let them finish (the in-memory test
    # database locks a table while another request writes the session)
    page.wait_for_load_state("networkidle")


def test_customer_journey_register_search_mask_reveal_audit(new_page, org, transactional_db):
    from playwright.sync_api import expect

    from kehu.customers import services

    # Another customer of the same rep, so the search has something to leave out.
    services.customer_create(actor=org.rep, data={"name": "上海东方精密机械股份有限公司", "city": "上海市"})

    # 1. The rep registers the customer and its decision maker.
    rep = new_page()
    log_in(rep, org, "rep")
    expect(rep.get_by_test_id("user-name")).to_have_text("张伟")
    rep.goto("/")  # the customer list (login lands on the workbench)
    rep.get_by_test_id("new-customer").click()
    rep.fill("input[name=name]", NAME)
    rep.fill("input[name=uscc]", valid_uscc())
    rep.fill("input[name=industry]", "石化")
    rep.select_option("select[name=province]", label="浙江省")  # the city select fills in (htmx)
    expect(rep.locator("select[name=city] option", has_text="杭州市")).to_have_count(1)
    rep.select_option("select[name=city]", label="杭州市")
    expect(rep.locator("select[name=district] option", has_text="西湖区")).to_have_count(1)
    rep.select_option("select[name=district]", label="西湖区")
    rep.get_by_role("button", name="登记客户").click()
    expect(rep.locator("h1.page-title")).to_have_text(NAME)
    customer_url = rep.url
    rep.get_by_test_id("add-contact").click()
    rep.fill("input[name=name]", "王强")
    rep.fill("input[name=title]", "总经理")
    rep.select_option("select[name=role]", "decision_maker")
    rep.fill("input[name=mobile]", MOBILE)
    # The mobile is personal information: its legal basis and purpose go with it (PIPL 13).
    rep.select_option("select[name=basis]", "contract")
    rep.fill("input[name=basis_purpose]", "供货合同联系")
    rep.get_by_role("button", name="添加联系人").click()
    expect(rep.get_by_test_id("contact-table")).to_contain_text("王强")
    expect(rep.get_by_test_id("masked-mobile")).to_have_text("138****5678")

    # 2. Searching by pinyin initials refreshes only the rows (htmx) and finds it.
    rep.goto("/")
    expect(rep.get_by_test_id("customer-table")).to_contain_text("上海东方精密机械股份有限公司")
    rep.get_by_test_id("search").press_sequentially("hxsh", delay=30)
    rows = rep.locator("#customer-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NAME)
    expect(rep).to_have_url(re.compile(r"[?&]q=hxsh"))

    # 3. A service agent sees the mobile masked, and the reveal is refused in place.
    agent = new_page()
    log_in(agent, org, "agent")
    agent.goto(customer_url)
    expect(agent.get_by_test_id("masked-mobile")).to_have_text("138****5678")
    agent.get_by_test_id("reveal").click()
    expect(agent.get_by_test_id("reveal-refused")).to_contain_text("无权查看")
    expect(agent.locator("body")).not_to_contain_text(MOBILE)

    # 4. The east manager reveals it: the clear number replaces the mask.
    manager = new_page(width=375)
    log_in(manager, org, "manager")
    manager.goto(customer_url)
    manager.get_by_test_id("reveal").click()
    expect(manager.get_by_test_id("revealed")).to_have_text(MOBILE)
    expect(manager.get_by_test_id("masked-mobile")).to_be_hidden()

    # 5. The auditor finds that reveal in the audit log.
    auditor = new_page()
    log_in(auditor, org, "auditor")
    auditor.get_by_role("link", name="审计日志").click()
    auditor.select_option("select[name=action]", "contact.reveal")  # actions are chosen by their labels
    auditor.get_by_role("button", name="筛选").click()
    entries = auditor.locator("[data-testid=audit-table] tbody tr")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("李经理")  # people by name, not login
    expect(entries.first).to_contain_text("王强")
    expect(auditor.locator("body")).not_to_contain_text(MOBILE)
