"""A walk-in at the sales office (排班轮流接待, seed 004 第12篇 3): the manager has put 张伟, 刘洋 and 王芳 on duty
in that order and 张伟 has just received the last visitor; the receptionist (刘洋, on a 390 px phone at the
desk) registers the walk-in — source, name, intention — and the rotation hands the visitor to the next
rep, 刘洋 being out on an assigned duty: 王芳. 王芳 opens the workbench and finds the walk-in waiting for her,
and 刘洋 is owed a make-up turn."""

from __future__ import annotations

import os
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS", "/tmp/shots/reception")


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


def test_walk_in_goes_to_the_next_rep_in_rotation_who_sees_it_on_the_workbench(org, new_page):
    from django.utils import timezone
    from playwright.sync_api import expect

    from kehu.access.services import user_create
    from kehu.sales.reception import services
    from kehu.sales.reception.models import DutyDay, RegisterEntry, SourceChannel

    if not SourceChannel.objects.filter(code="referral_friend").exists():  # flushed by a transactional test
        SourceChannel.objects.create(code="referral_friend", name="亲友介绍", position=10)
    wang = user_create(actor=None, username="rep3", password=org.password, role="account_manager",
                       department=org.depts["east"], display_name="王芳")
    today = timezone.localdate()
    services.roster_set(actor=org.manager, day=today, reps=[org.rep.pk, org.rep2.pk, wang.pk])
    services.entry_create(actor=org.rep2, data={"source": SourceChannel.objects.first().pk,
                                                "visitor_name": "钱先生"})  # 张伟 received the last one
    services.shift_status_set(actor=org.manager, day=today, rep=org.rep2.pk, status="out")

    page = new_page(width=390, height=844)
    log_in(page, org, "rep2")
    page.goto("/reception/")
    expect(page.get_by_test_id("next-in-line")).to_contain_text("王芳")
    page.get_by_test_id("register-visitor").click()
    page.wait_for_url(re.compile(r"/reception/new/$"))
    page.select_option("select[name=source]", label="亲友介绍")
    page.fill("input[name=visitor_name]", "孙女士")
    page.fill("input[name=visitor_phone]", "13912345678")
    page.fill("textarea[name=intention]", "两居室，首套刚需")
    # the desk's form fits the phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-entry")
    page.get_by_test_id("entry-save").click()
    page.wait_for_url(re.compile(r"/reception/new/\d+/$"))
    expect(page.get_by_test_id("assigned-rep")).to_have_text("王芳")
    shot(page, "phone-assigned")
    entry = RegisterEntry.objects.get(visitor_name="孙女士")
    assert (entry.rep_id, entry.assignment, entry.counted) == (wang.pk, "rotation", True)
    assert DutyDay.objects.get(day=today, department=org.depts["east"]).makeups == [org.rep2.pk]

    rep_page = new_page(width=1280, height=800)
    log_in(rep_page, org, "rep3")
    rep_page.goto("/workbench/")
    todo = rep_page.locator("[data-testid=todo][data-kind=reception_walk_in]").filter(has_text="孙女士")
    expect(todo).to_be_visible()
    expect(rep_page.locator("[data-testid=todo][data-kind=reception_duty]")).to_be_visible()
    shot(rep_page, "workbench")
    todo.click()
    rep_page.wait_for_url(re.compile(rf"/reception/register/{entry.pk}/$"))
    expect(rep_page.get_by_test_id("entry-rep")).to_contain_text("王芳")
