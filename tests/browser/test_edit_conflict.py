"""Two people edit the same customer in real browsers (issue 16, lost updates): different fields are both
kept; the same field → the second sees both values and nothing is saved. Screenshots (desktop and a
375 px phone) of the conflict go to /tmp/shots/concur/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_customer_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/concur")


def test_two_editors_same_customer_merge_or_conflict(new_page, org, transactional_db):
    from playwright.sync_api import expect

    from kehu.customers import services
    from kehu.customers.models import Customer

    customer = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司", "industry": "石化",
                                                              "needs": "稳定的原料供应"})
    url = f"/customers/{customer.pk}/edit/"
    rep, manager = new_page(), new_page(width=375, height=812)
    log_in(rep, org, "rep")
    log_in(manager, org, "manager")
    rep.goto(url)
    manager.goto(url)

    # different fields: both kept
    rep.fill("input[name=industry]", "化工")
    rep.locator("form[data-customer-form] button[type=submit]").last.click()
    expect(rep.locator("h1.page-title")).to_have_text("浙江华星石化有限公司")
    manager.fill("textarea[name=needs]", "希望缩短账期")
    manager.locator("form[data-customer-form] button[type=submit]").last.click()
    expect(manager.locator("h1.page-title")).to_have_text("浙江华星石化有限公司")
    c = Customer.objects.get(pk=customer.pk)
    assert (c.industry, c.needs) == ("化工", "希望缩短账期")

    # the same field: the second editor is told, nothing saved
    rep.goto(url)
    manager.goto(url)
    rep.fill("input[name=industry]", "精细化工")
    rep.locator("form[data-customer-form] button[type=submit]").last.click()
    expect(rep.locator("h1.page-title")).to_have_text("浙江华星石化有限公司")
    manager.fill("input[name=industry]", "纺织")
    manager.locator("form[data-customer-form] button[type=submit]").last.click()
    conflict = manager.get_by_test_id("version-conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator("tr[data-field=industry] td").nth(1)).to_have_text("精细化工")
    expect(conflict.locator("tr[data-field=industry] td").nth(2)).to_have_text("纺织")
    assert Customer.objects.get(pk=customer.pk).industry == "精细化工"
    SHOTS.mkdir(parents=True, exist_ok=True)
    manager.screenshot(path=str(SHOTS / "conflict-375.png"), full_page=False)
    desktop = new_page()
    log_in(desktop, org, "admin")  # a third person, desktop width: same situation
    desktop.goto(url)
    rep.goto(url)
    rep.fill("input[name=industry]", "新材料")
    rep.locator("form[data-customer-form] button[type=submit]").last.click()
    expect(rep.locator("h1.page-title")).to_have_text("浙江华星石化有限公司")
    desktop.fill("input[name=industry]", "物流")
    desktop.locator("form[data-customer-form] button[type=submit]").last.click()
    expect(desktop.get_by_test_id("version-conflict")).to_be_visible()
    desktop.screenshot(path=str(SHOTS / "conflict-desktop.png"), full_page=False)
