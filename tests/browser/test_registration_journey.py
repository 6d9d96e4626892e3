"""Registration on a phone (390 px) in a real browser (issue 13): 刘洋 finds a customer of his and registers
the visit in two taps (search, 来访); 张伟, who received the same customer first, raises an ownership dispute
on his phone; the manager opens it from the workbench to-do and decides it with a reason and a split."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def test_phone_registration_first_wins_then_dispute_decided(org, new_page):
    from playwright.sync_api import expect

    from kehu.customers.models import Customer
    from kehu.customers.tests.factories import org_customer
    from kehu.sales.ownership.models import Dispute, Registration

    yongxing = org_customer(org.rep2, "宁波甬兴塑料有限公司", serial=3)
    page = new_page(width=390, height=844)
    log_in(page, org, "rep2")
    page.goto("/ownership/registrations/")
    page.get_by_test_id("registration-search").fill("甬兴")
    page.get_by_test_id("registration-search").press("Enter")
    page.get_by_test_id("register-visit").first.click()  # the second tap
    page.wait_for_url(re.compile(r"/ownership/registrations/\d+/$"))
    expect(page.get_by_test_id("registration-channel")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    reg = Registration.objects.get(customer=yongxing)
    assert reg.rep_id == org.rep2.pk

    other = new_page(width=390, height=844)
    log_in(other, org, "rep")
    # 张伟 received the same customer last Saturday: from the visitor sheet's link he raises a dispute
    other.goto(f"/ownership/disputes/?customer={yongxing.pk}")
    other.get_by_test_id("dispute-statement").fill("上周六该客户在售楼处由我首次接待，有来访登记表为证")
    other.locator("form:has([data-testid=dispute-statement]) button[type=submit]").click()
    other.wait_for_url(re.compile(r"/ownership/disputes/\d+/$"))
    dispute = Dispute.objects.get()

    manager = new_page()
    log_in(manager, org, "manager")
    manager.goto("/workbench/")
    manager.locator(f'a[href="/ownership/disputes/{dispute.pk}/"]').first.click()
    manager.locator(f'input[name=winner][value="{org.rep.pk}"]').check()
    manager.fill("input[name=raiser_share]", "70")
    manager.fill("textarea[name=reason]", "来访登记表显示张伟首次接待，刘洋后续跟进")
    manager.get_by_test_id("dispute-decide").click()
    manager.wait_for_url(re.compile(rf"/ownership/disputes/{dispute.pk}/$"))
    expect(manager.get_by_test_id("dispute-decide")).to_have_count(0)
    assert Dispute.objects.get(pk=dispute.pk).state == "decided"
    assert Customer.objects.get(pk=yongxing.pk).owner_id == org.rep.pk
