"""Follow-ups on a phone (375 px) in a real browser (issue 12): quick entry in a few taps (find the customer,
channel, one line, a photo, save — the steps are counted), check-in with the browser's location only when
asked, and a follow-up written offline kept on the phone and sent once when the connection returns, the
server answering a replay with the same row. Screenshots in /tmp/shots/followups/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/followups")


def png(width=48, height=32) -> bytes:
    """A real photo-like PNG (a blue gradient), so the thumbnail shows in the screenshots."""
    import struct
    import zlib

    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (30, 100 + x * 2, 200)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


MAX_STEPS = 6


@pytest.fixture
def phone(chromium, live_server, audit_triggers_lifted_at_teardown):
    contexts = []

    def make(*, width=375, height=812, geolocation=None):
        options = {"viewport": {"width": width, "height": height}, "locale": "zh-CN", "base_url": live_server.url}
        if geolocation:
            options.update(geolocation=geolocation, permissions=["geolocation"])
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context, context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_load_state("networkidle")


@pytest.fixture
def customers(org, transactional_db):
    from kehu.customers.tests.factories import contact, org_customer

    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    contact(org.rep, hx, "王建国", title="采购部经理")
    org_customer(org.rep, "宁波港联物流有限公司", serial=2)
    return hx


def test_quick_entry_on_a_phone_in_six_steps_with_photo(phone, org, customers, tmp_path, settings):
    from playwright.sync_api import expect

    from kehu.engagement.models import Interaction

    settings.VAR_DIR = tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "现场.png"
    photo.write_bytes(png())
    _, page = phone()
    log_in(page, org, "rep")
    page.goto("/followups/new/")
    steps = []

    def step(what, action):
        steps.append(what)
        action()

    step("search", lambda: page.get_by_test_id("customer-search").fill("华星"))
    choice = page.get_by_test_id("customer-choice").filter(has_text="浙江华星石化")
    expect(choice).to_be_visible()
    page.screenshot(path=str(SHOTS / "quick-entry-search-375.png"), full_page=True)
    step("pick customer", lambda: choice.click())
    expect(page.get_by_test_id("customer-chosen")).to_have_text("浙江华星石化有限公司")
    step("channel", lambda: page.get_by_test_id("channel-visit").click())
    step("one line", lambda: page.fill("textarea[name=summary]", "拜访采购部王经理，确认下月提货计划"))
    step("photo", lambda: page.set_input_files("[data-testid=photo]", str(photo)))
    page.screenshot(path=str(SHOTS / "quick-entry-filled-375.png"), full_page=True)
    step("save", lambda: page.get_by_test_id("followup-save").click())
    page.wait_for_url(re.compile(r"/followups/\d+/$"))
    assert len(steps) <= MAX_STEPS, steps
    expect(page.get_by_test_id("attachment")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "detail-375.png"), full_page=True)
    it = Interaction.objects.get()
    assert it.channel == "visit" and it.attachments.count() == 1 and it.latitude is None  # never tracked unasked
    # the customer 360 page shows the last contact and the thread
    page.goto(f"/customers/{customers.pk}/")
    expect(page.get_by_test_id("last-contact")).to_contain_text(it.occurred_at.astimezone().strftime("%Y-"))
    expect(page.get_by_test_id("thread-item")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "customer-360-375.png"), full_page=True)


def test_check_in_asks_the_browser_only_when_clicked(phone, org, customers):
    from playwright.sync_api import expect

    from kehu.engagement.models import Interaction

    _, page = phone(geolocation={"latitude": 30.274084, "longitude": 120.15507, "accuracy": 20})
    log_in(page, org, "rep")
    page.goto(f"/followups/new/?customer={customers.pk}")
    page.get_by_test_id("channel-visit").click()
    page.fill("textarea[name=summary]", "到厂拜访，查看库存")
    assert page.input_value("input[name=latitude]") == ""
    page.get_by_test_id("check-in").click()
    expect(page.get_by_test_id("check-in-status")).not_to_be_empty()
    page.get_by_test_id("followup-save").click()
    page.wait_for_url(re.compile(r"/followups/\d+/$"))
    expect(page.get_by_test_id("check-in-location")).to_contain_text("30.274084")
    assert Interaction.objects.get().location_accuracy_m == 20


def test_offline_follow_up_is_kept_on_the_phone_and_sent_once(phone, org, customers):
    from playwright.sync_api import expect

    from kehu.engagement.models import Interaction

    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = phone()
    log_in(page, org, "rep")
    page.goto("/followups/new/")
    page.get_by_test_id("customer-search").fill("华星")
    page.get_by_test_id("customer-choice").first.click()
    page.get_by_test_id("channel-phone").click()
    page.fill("textarea[name=summary]", "仓库无信号：电话沟通提货计划，客户预计200吨")
    context.set_offline(True)
    page.get_by_test_id("followup-save").click()
    expect(page.get_by_test_id("offline-status")).to_be_visible()
    page.screenshot(path=str(SHOTS / "offline-queued-375.png"), full_page=True)
    assert Interaction.objects.count() == 0
    assert page.evaluate("window.kehuOffline.pending()") == 1
    context.set_offline(False)
    expect(page.get_by_test_id("offline-sent")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "offline-sent-375.png"), full_page=True)
    assert page.evaluate("window.kehuOffline.pending()") == 0
    it = Interaction.objects.get()
    assert it.client_key is not None and it.summary.startswith("仓库无信号")
    # a second flush, and the same key sent again, make no second row
    page.evaluate("window.kehuOffline.flush()")
    status = page.evaluate("""([key, customer]) => fetch('/api/v1/engagement/interactions', {method: 'POST',
        credentials: 'same-origin', headers: {'Content-Type': 'application/json',
        'X-CSRFToken': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']},
        body: JSON.stringify({client_key: key, customer: customer, channel: 'phone', summary: 'replay'})})
        .then(r => r.status)""", [str(it.client_key), customers.pk])
    assert status == 200
    assert Interaction.objects.count() == 1


def test_desktop_list_and_team_overdue_screenshots(phone, org, customers):
    import datetime as dt

    from django.utils import timezone
    from playwright.sync_api import expect

    from kehu.engagement.services import interaction_create

    SHOTS.mkdir(parents=True, exist_ok=True)
    late = str(timezone.localdate() - dt.timedelta(days=3))
    interaction_create(actor=org.rep, data={"customer": customers.pk, "channel": "wechat", "summary": "微信发送报价单",
                                            "next_step": "确认报价意向", "next_step_due": late})
    _, page = phone(width=1280, height=800)
    log_in(page, org, "manager")
    page.screenshot(path=str(SHOTS / "workbench-manager-desktop.png"), full_page=True)
    page.goto("/followups/")
    expect(page.get_by_test_id("followup-row")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "list-desktop.png"), full_page=True)
    page.goto("/followups/team-overdue/")
    expect(page.get_by_test_id("team-overdue-row")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "team-overdue-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/followups/")
    page.screenshot(path=str(SHOTS / "list-375.png"), full_page=True)
