"""An emergency's journey in a real browser: a manager puts the service agent on duty; a rep records
an emergency for their customer on a phone (choosing the customer by search); the agent on duty is
notified, accepts it, resolves it, tells the customer the result and closes it."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    # the workbench fetches its badges and charts after load: let them finish (the in-memory test
    # database locks a table while another request writes the session)
    page.wait_for_load_state("networkidle")


def step(page, action: str, state_after: str, **fields):
    from playwright.sync_api import expect

    form = page.get_by_test_id(f"step-form-{action}")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(value))
    form.get_by_test_id("step-submit").click()
    expect(page.get_by_test_id("ticket-state")).to_have_attribute("data-state", state_after)


def test_emergency_notifies_the_agent_on_duty_and_is_closed_after_the_customer_is_told(new_page, org):
    from playwright.sync_api import expect

    from kehu.customers.tests.factories import org_customer
    from kehu.service_desk.tickets.models import ServiceTicket

    org_customer(org.rep, "浙江华星石化有限公司", serial=1)

    # 1. The administrator puts the service agent on duty for every department, all day.
    admin = new_page()
    log_in(admin, org, "admin")
    admin.goto("/service/on-duty/")
    form = admin.get_by_test_id("duty-form")
    form.locator("[name=user]").select_option(str(org.agent.pk))
    form.locator("[name=start_time]").fill("00:00")
    form.locator("[name=end_time]").fill("00:00")
    form.locator("button[type=submit]").click()
    expect(admin.get_by_test_id("on-now")).to_contain_text("周敏")

    # 2. The rep records an emergency on a phone, finding the customer by search.
    rep = new_page(width=375, height=740)
    log_in(rep, org, "rep")
    rep.goto("/service/new/")
    rep.get_by_test_id("kind-emergency").check(force=True)
    rep.fill("#customer-q", "华星")
    rep.get_by_test_id("customer-choice").first.check()
    rep.fill("input[name=subject]", "主控系统宕机，生产线停机")
    rep.fill("textarea[name=description]", "客户反映主控服务器无响应，三条生产线全部停机。")
    rep.get_by_test_id("ticket-submit").click()
    expect(rep.get_by_test_id("emergency-alert")).to_be_visible()
    expect(rep.get_by_test_id("kind")).to_have_attribute("data-kind", "emergency")
    ticket = ServiceTicket.objects.get()

    # 3. The agent on duty sees the notification, accepts and works the emergency to closure.
    agent = new_page()
    log_in(agent, org, "agent")
    agent.goto("/notifications/")
    item = agent.get_by_test_id("notification-list").locator(".list-group-item", has_text=ticket.number)
    item.locator("button[name=follow]").click()
    agent.wait_for_url(f"**/service/{ticket.pk}/")
    step(agent, "accept", "accepted")
    step(agent, "start", "in_progress")
    step(agent, "resolve", "resolved", resolution="切换至备用服务器，生产线已恢复。")
    step(agent, "inform", "resolved", informed_via="phone", informed_note="电话告知客户已恢复生产。")
    expect(agent.get_by_test_id("informed")).to_be_visible()
    step(agent, "close", "closed", confirmation="客户王工电话确认生产正常。")
    expect(agent.get_by_test_id("next-step")).to_have_count(0)

    # 4. The board no longer lists it; the list shows it closed.
    agent.goto("/service/")
    expect(agent.get_by_test_id("ticket-card")).to_have_count(0)
    agent.goto("/service/list/")
    expect(agent.get_by_test_id("ticket-row")).to_have_count(1)
