"""The periodic review (定期复核) and a reassignment in a real browser: the east manager starts a review
run that finds a stale and two incomplete records; the owning rep, on a phone, confirms one, marks
another not applicable and sees both leave the open list; the manager then previews and confirms
moving the rep's customers evenly to two other reps, and every customer (with its open item) moves."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS")  # a folder: save what the pages showed

FULL = {"industry": "石化", "city": "杭州市", "address": "杭州市西湖区文三路 90 号"}
STALE = "浙江华星石化有限公司"
INCOMPLETE = "杭州东方贸易有限公司"
NO_ADDRESS = "温州正泰电器有限公司"
FINE = "绍兴天马纺织有限公司"
REP2_OWN = "宁波海天塑机有限公司"


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    # the workbench fetches its badges and charts after load: let them finish (the in-memory test
    # database locks a table while another request writes the session)
    page.wait_for_load_state("networkidle")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_review_run_resolve_on_a_phone_then_reassign_evenly(org, new_page):
    from django.utils import timezone
    from playwright.sync_api import expect

    from kehu.access.services import user_create
    from kehu.customers.models import Customer
    from kehu.customers.review.models import ItemState, ReviewItem, ReviewRun, RunState
    from kehu.customers.tests.factories import org_customer

    # 华东区: the rep owns a stale complete record, two incomplete ones and a fresh complete one;
    # rep2 owns one fresh complete record (no item); 王芳 is a third east rep with no customers yet.
    stale = org_customer(org.rep, STALE, serial=11, **FULL)
    Customer.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - dt.timedelta(days=31 * 13))
    incomplete = org_customer(org.rep, INCOMPLETE, serial=12, industry="", address="")
    no_address = org_customer(org.rep, NO_ADDRESS, serial=13, industry="电气", city="温州市")
    org_customer(org.rep, FINE, serial=14, **FULL)
    org_customer(org.rep2, REP2_OWN, serial=15, **FULL)
    rep3 = user_create(actor=None, username="rep3", password=org.password, role="account_manager",
                       department=org.depts["east"], display_name="王芳")
    rep_customers = set(Customer.objects.filter(owner=org.rep).values_list("pk", flat=True))
    assert len(rep_customers) == 4

    # 1. The east manager starts a review run on /review/ and waits for it to finish.
    manager = new_page()
    log_in(manager, org, "manager")
    manager.goto("/review/")
    expect(manager.locator("h1, .page-title").first).to_contain_text("定期复核")
    manager.get_by_label("陈旧期限（月）").fill("12")
    manager.get_by_label("备注").fill("年度复核")
    manager.get_by_test_id("start-run").click()
    expect(manager).to_have_url(re.compile(r"/review/runs/\d+/$"))
    expect(manager.get_by_role("alert").first).to_contain_text("复核已发起")
    # The Huey task runs inline; the page would poll every 3 s until the run is done. 已完成 is also
    # the label of the done-items card, so read the run state under 已扫描 only.
    scanned = manager.locator("#run-progress .card-body").filter(has_text="已扫描")
    expect(scanned.locator("div.small:not(.text-secondary)")).to_have_text("已完成")
    expect(scanned).to_contain_text("5 / 5")
    expect(manager.get_by_test_id("progress-total")).to_have_text("3")
    expect(manager.get_by_test_id("progress-departments")).to_contain_text("华东区")
    expect(manager.get_by_test_id("progress-people")).to_contain_text("张伟")
    shot(manager, "review-run-done")
    run = ReviewRun.objects.get()
    assert (run.state, run.started_by, run.scanned, run.items_count) == (RunState.DONE, org.manager, 5, 3)
    manager.goto("/review/")
    runs = manager.get_by_test_id("review-runs")
    expect(runs).to_contain_text(f"#{run.pk}")
    expect(runs).to_contain_text("年度复核")
    expect(runs.locator("tbody tr").first).to_contain_text("已完成")

    # 2. The rep, on a phone, works down the items: each card shows its reasons.
    phone = new_page(width=390, height=844)
    log_in(phone, org, "rep")
    phone.goto("/review/mine/")
    expect(phone.locator("body")).to_contain_text("我的复核任务")
    cards = phone.get_by_test_id("review-item")
    expect(cards).to_have_count(3)
    stale_card = cards.filter(has_text=STALE)
    incomplete_card = cards.filter(has_text=INCOMPLETE)
    no_address_card = cards.filter(has_text=NO_ADDRESS)
    expect(stale_card).to_contain_text("长期未更新")
    expect(stale_card).not_to_contain_text("缺少")
    expect(incomplete_card).to_contain_text("缺少: 行业、地址")
    expect(incomplete_card).not_to_contain_text("长期未更新")
    expect(no_address_card).to_contain_text("缺少: 地址")
    for card in (stale_card, incomplete_card, no_address_card):
        expect(card).to_have_attribute("data-state", "open")
        expect(card).to_contain_text("截止时间")
        expect(card.get_by_test_id("resolve-confirmed")).to_have_text("确认无误")
        expect(card.get_by_test_id("resolve-na")).to_have_text("不适用")
    shot(phone, "review-mine-open")

    # 确认无误 on the stale record, 不适用 (with a note) on the incomplete one: htmx swaps each card.
    stale_card.get_by_test_id("resolve-confirmed").click()
    expect(stale_card).to_have_attribute("data-state", "confirmed")
    expect(stale_card.get_by_role("button")).to_have_count(0)
    expect(stale_card).to_contain_text("张伟")
    incomplete_card.get_by_role("textbox").fill("已停业")
    incomplete_card.get_by_test_id("resolve-na").click()
    expect(incomplete_card).to_have_attribute("data-state", "not_applicable")
    expect(incomplete_card).to_contain_text("已停业")
    expect(incomplete_card.get_by_role("button")).to_have_count(0)
    expect(phone).to_have_url(re.compile(r"/review/mine/$"))  # swapped in place, no navigation
    shot(phone, "review-mine-resolved")

    # Reloaded, the open list (待处理) keeps only the third item; the resolved ones are under their tabs.
    phone.reload()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(NO_ADDRESS)
    tabs = phone.get_by_test_id("review-states")
    tabs.get_by_role("link", name="确认无误").click()
    expect(phone).to_have_url(re.compile(r"state=confirmed"))
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(STALE)
    tabs.get_by_role("link", name="不适用").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(INCOMPLETE)
    items = {i.customer_id: i for i in ReviewItem.objects.filter(run=run)}
    assert items[stale.pk].state == ItemState.CONFIRMED and items[stale.pk].resolved_by == org.rep
    assert items[incomplete.pk].state == ItemState.NOT_APPLICABLE and items[incomplete.pk].note == "已停业"
    assert items[no_address.pk].state == ItemState.OPEN

    # 3. The manager moves the rep's customers evenly to rep2 and 王芳: preview first, then confirm.
    manager.goto("/review/reassign/")
    expect(manager.get_by_test_id("reassign-plan")).to_have_count(0)
    expect(manager.locator("body")).to_contain_text("尚未预览")
    manager.get_by_label("移交以下人员的客户").select_option(label="张伟 · 华东区")
    manager.get_by_label("转给").select_option(label=["刘洋 · 华东区", "王芳 · 华东区"])
    manager.get_by_label("分配方式").select_option("even")
    manager.get_by_test_id("reassign-preview").click()
    plan = manager.get_by_test_id("reassign-plan")
    expect(plan).to_contain_text("张伟 的 4 个客户将被转移")
    rows = plan.locator("tbody tr")
    expect(rows).to_have_count(2)
    # 刘洋 already has one customer: the even split levels the totals (1+2 = 0+2 + 1 at most).
    counts = {}
    for i in range(2):
        cells = rows.nth(i).locator("td")
        name = cells.nth(0).inner_text()
        counts["刘洋" if "刘洋" in name else "王芳"] = [int(cells.nth(j).inner_text()) for j in (1, 2, 3)]
    assert counts == {"刘洋": [1, 2, 3], "王芳": [0, 2, 2]}, counts
    assert Customer.objects.filter(owner=org.rep).count() == 4  # the preview wrote nothing
    shot(manager, "reassign-preview")
    manager.get_by_test_id("reassign-confirm").click()
    expect(manager.get_by_role("alert").first).to_contain_text("已转移 4 个客户")
    expect(manager).to_have_url(re.compile(r"/review/reassign/$"))
    shot(manager, "reassign-done")

    moved = dict(Customer.objects.filter(pk__in=rep_customers).values_list("pk", "owner_id"))
    assert set(moved.values()) == {org.rep2.pk, rep3.pk}
    assert not Customer.objects.filter(owner=org.rep, deleted_at__isnull=True).exists()
    added = [list(moved.values()).count(u.pk) for u in (org.rep2, rep3)]
    totals = [Customer.objects.filter(owner=u, deleted_at__isnull=True).count() for u in (org.rep2, rep3)]
    assert sum(added) == 4 and totals == [3, 2]
    assert abs(totals[0] - totals[1]) <= 1 and abs(added[0] - added[1]) <= 1
    # The open item followed its customer to the new owner; resolved ones kept their assignee.
    assert ReviewItem.objects.get(pk=items[no_address.pk].pk).assignee_id == moved[no_address.pk]
    assert ReviewItem.objects.get(pk=items[stale.pk].pk).assignee_id == org.rep.pk
