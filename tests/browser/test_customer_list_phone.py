"""The customer list and form on a phone (375 px) in a real browser (issue 9): the filters fold
behind 筛选, 我的客户 narrows the list, the previous page comes back, and the 省/市/区 selects cascade."""

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


def test_phone_list_filters_fold_mine_toggle_and_previous_page(new_page, org, transactional_db, monkeypatch):
    from playwright.sync_api import expect

    from kehu.customers import services, views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    services.customer_create(actor=org.manager, data={"name": "经理自己的客户"})
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"华东客户{i}"} for i in range(3)])
    page = new_page(width=375, height=800)
    log_in(page, org, "manager")
    page.goto("/")  # the customer list (login lands on the workbench)
    industry = page.locator("input[name=industry]")
    expect(industry).to_be_hidden()  # folded away on a phone
    page.get_by_test_id("filter-toggle").click()
    expect(industry).to_be_visible()
    expect(page.get_by_test_id("customer-count")).to_contain_text("4")
    page.locator("a[rel=next]").click()
    expect(page.get_by_test_id("prev-page")).to_be_visible()
    page.get_by_test_id("prev-page").click()
    expect(page.get_by_test_id("prev-page")).to_have_count(0)
    expect(page.locator("[data-testid=customer-table] tbody tr")).to_have_count(2)
    page.get_by_role("link", name=re.compile("My customers|我的客户")).click()
    expect(page.locator("[data-testid=customer-table] tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("customer-table")).to_contain_text("经理自己的客户")


def test_phone_region_selects_cascade_and_save_codes(new_page, org, transactional_db):
    from playwright.sync_api import expect

    from kehu.customers.models import Customer

    page = new_page(width=375, height=800)
    log_in(page, org, "rep")
    page.goto("/customers/new/")
    page.fill("input[name=name]", "宁波港联物流有限公司")
    page.select_option("select[name=province]", "330000")
    expect(page.locator("select[name=city] option[value='330200']")).to_have_count(1)
    page.select_option("select[name=city]", "330200")
    expect(page.locator("select[name=district] option[value='330212']")).to_have_count(1)
    page.select_option("select[name=district]", "330212")
    page.select_option("select[name=province]", "440000")  # another province empties the districts
    expect(page.locator("select[name=district] option")).to_have_count(1)
    expect(page.locator("select[name=city] option[value='440300']")).to_have_count(1)
    page.select_option("select[name=city]", "440300")
    page.get_by_role("button", name="登记客户").click()
    expect(page.locator("h1.page-title")).to_have_text("宁波港联物流有限公司")
    c = Customer.objects.get(name="宁波港联物流有限公司")
    assert (c.province_code, c.city_code, c.city) == ("440000", "440300", "深圳市")
