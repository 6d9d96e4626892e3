"""A complaint's journey in a real browser: filed by a customer on the public form, received by the
service agent (首问责任人), worked step by step, its solution approved by the agent's manager in the
approval inbox, answered, visited, evaluated and closed — and the customer sees 已结案 and the reply
on the tracking page."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13700137000"
REPLY = "已为您补发货物，并退还运费。"


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
    """Fill the form of step ``action`` and submit it; wait for the complaint to reach ``state_after``."""
    form = page.get_by_test_id(f"step-form-{action}")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(value))
    form.get_by_test_id("step-submit").click()
    from playwright.sync_api import expect

    expect(page.get_by_test_id("complaint-state")).to_have_attribute("data-state", state_after)


def approval_inbox_installed() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("approvals:inbox")
    except NoReverseMatch:
        return False
    return True


def approve_without_the_inbox(org, complaint_id: int) -> None:
    """Where the approval engine has no pages: decide through its service, or, without the engine,
    feed the complaint the outcome the engine would give."""
    from kehu.service_desk import services
    from kehu.service_desk.models import Complaint

    try:
        from kehu.approvals.models import ApprovalRequest
        from kehu.approvals.services import approval_decide
    except ImportError:
        chain = type("Chain", (), {"code": services.APPROVAL_CHAINS[Complaint.objects.get(pk=complaint_id).severity]})
        services.on_approval_outcome(type("Request", (), {"object_id": complaint_id, "chain": chain}), "approved")
        return
    request = ApprovalRequest.objects.get(object_id=str(complaint_id))
    for task in request.tasks.filter(status="pending"):
        approval_decide(actor=task.assignee, request_id=request.pk, decision="approve")


def test_complaint_filed_publicly_is_worked_to_closure_and_tracked(new_page, org, transactional_db):
    from playwright.sync_api import expect

    from kehu.access.services import user_create

    # The customer service department's own manager approves its complaint solutions.
    user_create(actor=None, username="svc_manager", password=org.password, role="manager",
                department=org.depts["service"], display_name="客服部经理")

    # 1. An anonymous customer files a complaint on the public form (on a phone).
    customer = new_page(width=375)
    customer.goto("/complaints/public/")
    customer.fill("input[name=complainant_name]", "陈先生")
    customer.fill("input[name=complainant_phone]", PHONE)
    customer.fill("input[name=subject]", "货物破损")
    customer.fill("textarea[name=description]", "三月五日收到的货物外箱破损，两件产品损坏。")
    customer.get_by_test_id("public-submit").click()
    tracking_no = customer.get_by_test_id("public-tracking-no").inner_text().strip()
    assert re.fullmatch(r"TS\d{8}-[0-9A-F]{6}", tracking_no)

    # 2. The service agent who received it finds it on the board and works it.
    agent = new_page()
    log_in(agent, org, "agent")
    agent.get_by_test_id("nav-service-desk").click()  # the Service menu (客户服务)
    agent.get_by_test_id("nav-complaints").click()
    card = agent.locator(f"[data-testid=complaint-card][data-tracking='{tracking_no}']")
    expect(card).to_be_visible()
    card.click()
    expect(agent.get_by_test_id("tracking-no")).to_have_text(tracking_no)
    expect(agent.get_by_test_id("complainant-phone")).to_have_text("137****7000")
    complaint_id = int(re.search(r"/complaints/(\d+)/", agent.url).group(1))

    step(agent, "judge", "judged", severity="general", category="物流")
    step(agent, "investigate", "investigating", cause="承运商装卸不当")
    step(agent, "assign", "assigned", responsible=org.rep.pk)
    step(agent, "propose", "solution_proposed", solution="补发两件产品并退还运费")
    expect(agent.get_by_test_id("awaiting-approval")).to_be_visible()

    # 3. Solution approval (方案审批) by the agent's manager, in the approval inbox.
    if approval_inbox_installed():
        manager = new_page()
        log_in(manager, org, "svc_manager")
        manager.goto("/approvals/")
        task = manager.get_by_test_id("approval-task").filter(has_text=tracking_no)
        task.get_by_test_id("approve").click()
        expect(manager.get_by_test_id("approval-task").filter(has_text=tracking_no)
               .get_by_test_id("approve")).to_have_count(0)
    else:
        approve_without_the_inbox(org, complaint_id)

    # 4. The agent answers the customer, visits back, evaluates and closes.
    agent.reload()
    expect(agent.get_by_test_id("complaint-state")).to_have_attribute("data-state", "solution_approved")
    step(agent, "answer", "answered", reply=REPLY)
    step(agent, "return_visit", "return_visited", return_visit_note="电话回访，客户已收到补发货物", satisfied="true")
    step(agent, "evaluate", "evaluated", evaluation="已要求承运商加固包装")
    step(agent, "close", "closed")
    expect(agent.get_by_test_id("next-step")).to_have_count(0)

    # 5. The customer follows it with the tracking number and the phone.
    customer.get_by_test_id("track-link").click()
    expect(customer.locator("input[name=tracking_no]")).to_have_value(tracking_no)
    customer.fill("input[name=phone]", PHONE)
    customer.get_by_test_id("track-submit").click()
    expect(customer.get_by_test_id("track-state")).to_have_text("已结案")
    expect(customer.get_by_test_id("track-reply")).to_have_text(REPLY)
