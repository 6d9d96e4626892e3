"""The symposium page and the personal calendar in a real browser, on a desktop and a 375 px phone: the
invitee table, the minutes and the follow-up items show; the month grid and the agenda show the events,
and the feed address is created once and can be revoked. Screenshots go to KEHU_SCREENSHOTS when set."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kehu.customers.tests.factories import contact, org_customer
from kehu.engagement.care import services as care
from kehu.engagement.symposia import services as symposia
from kehu.engagement.symposia.models import Symposium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS")


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


def _world(org):
    names = ["浙江华星石化有限公司", "宁波甬兴塑料有限公司", "杭州临平化纤有限公司", "绍兴柯桥纺织原料有限公司"]
    customers = [org_customer(org.rep if i % 2 == 0 else org.rep2, n, serial=i + 1) for i, n in enumerate(names)]
    contact(org.rep, customers[0], "王强", role="decision_maker")
    s = symposia.symposium_create(actor=org.manager, data={
        "title": "2026年度重点客户座谈会", "starts_at": timezone.now() + dt.timedelta(days=1), "place": "杭州总部三楼会议室",
        "topics": ["market", "quality", "service", "satisfaction", "needs"]})
    symposia.symposium_invite(actor=org.manager, symposium_id=s.pk, customers=[c.pk for c in customers])
    for inv in s.invitations.order_by("id")[:3]:
        symposia.invitation_answer(actor=org.manager, invitation_id=inv.pk, state="accepted")
    Symposium.objects.filter(pk=s.pk).update(starts_at=timezone.now() - dt.timedelta(hours=3))
    symposia.symposium_hold(actor=org.manager, symposium_id=s.pk,
                            attended=list(s.invitations.order_by("id").values_list("pk", flat=True)[:3]))
    symposia.symposium_minutes(actor=org.manager, symposium_id=s.pk, minutes="一、市场行情：需求稳中有升。\n二、客户需求：希望增设华东前置仓。")
    for title, days in (("研究华东前置仓方案", 10), ("每批次随货提供质检报告", 3)):
        symposia.item_create(actor=org.manager, symposium_id=s.pk, data={
            "title": title, "owner": org.rep.pk, "due_date": (timezone.localdate() + dt.timedelta(days=days)).isoformat()})
    planned = symposia.symposium_create(actor=org.manager, data={
        "title": "2027年春季华东区客户座谈会", "starts_at": timezone.now() + dt.timedelta(days=5), "place": "宁波",
        "topics": ["market"]})
    return s, planned


@pytest.mark.parametrize("width,name", [(1280, "desktop"), (375, "phone")])
def test_symposium_page_and_calendar(org, new_page, width, name):
    s, planned = _world(org)
    page = new_page(width=width, height=800)
    log_in(page, org, "manager")
    page.goto(f"/symposia/{s.pk}/")
    expect(page.get_by_test_id("symposium-state")).to_have_attribute("data-state", "held")
    expect(page.get_by_test_id("invitee-row")).to_have_count(4)
    expect(page.get_by_test_id("item-row")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "no sideways scrolling"
    shot(page, f"symposium-{name}")
    page.goto("/symposia/")
    expect(page.get_by_test_id("symposium-row")).to_have_count(2)
    shot(page, f"symposium-list-{name}")
    page.goto(f"/symposia/{planned.pk}/")
    expect(page.get_by_test_id("invite-form")).to_be_visible()
    shot(page, f"symposium-planned-{name}")

    log_in(page, org, "rep")
    page.goto("/calendar/")
    expect(page.get_by_test_id("calendar-grid")).to_be_visible()
    expect(page.locator("[data-testid=agenda-event][data-kind=symposium]").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.get_by_test_id("feed-rotate").click()
    expect(page.get_by_test_id("feed-url")).to_have_value(re.compile(r"/calendar/feed/.+\.ics$"))
    shot(page, f"calendar-{name}")
    page.get_by_test_id("view-agenda").click()
    expect(page.get_by_test_id("calendar-agenda")).to_be_visible()
    shot(page, f"calendar-agenda-{name}")
    page.goto("/calendar/")
    page.get_by_test_id("feed-revoke").click()
    expect(page.get_by_test_id("feed-rotate")).to_be_visible()
    assert care.calendar_token_user("nonexistent-token-000000000000") is None
