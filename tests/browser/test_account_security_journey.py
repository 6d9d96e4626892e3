"""Login abuse and tokens in a real browser (issue 16), on a phone (375 px) and a PC: the throttled
login page says so; the token pages list, create and revoke (confirmations without inline script);
an administrator deactivates a user; and no page breaks the Content-Security-Policy (no violation on
the console), the ECharts workbench and a nonced inline script included. Screenshots go to
KEHU_SCREENSHOTS (default var/screenshots/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import override_settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("KEHU_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"))


def _watch(page, problems):
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: d.accept())  # data-confirm / data-question: say yes


def _login(page, username, password):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form:has(input[name=password]) button[type=submit]")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_throttled_login_page_on_a_phone(org, new_page):
    """After the per-IP limit the login page answers with a clear message (429) and no login."""
    from django.conf import settings

    page, problems = new_page(width=375, height=740), []
    _watch(page, problems)
    with override_settings(KEHU_LOGIN_THROTTLE={**settings.KEHU_LOGIN_THROTTLE, "ip_attempts": 2}):
        for name in ("guess1", "guess2"):
            _login(page, name, "wrong-password")
            assert page.locator(".alert-danger, .invalid-feedback, [role=alert]").count() >= 1
        _shot(page, "login-wrong-phone")
        _login(page, "rep", org.password)
        assert "/login/" in page.url
        alert = page.locator("[role=alert], .alert").first
        assert alert.is_visible()
        _shot(page, "login-throttled-phone")
    assert [p for p in problems if "429" not in p and "400" not in p] == []


def test_tokens_and_deactivation_in_the_browser_without_csp_violations(org, new_page):
    """A user creates and revokes a token on a phone; an administrator sees it on the user's token
    page and deactivates the user; the workbench (ECharts) and a form with a nonced script run."""
    page, problems = new_page(width=375, height=740), []
    _watch(page, problems)
    _login(page, "rep", org.password)
    page.wait_for_url("**/workbench/")
    page.goto("/account/tokens/")
    page.fill("input[name=name]", "ERP 同步")
    page.click("[data-testid=token-form] button[type=submit]")
    assert page.locator("[data-testid=new-token]").is_visible()
    _shot(page, "tokens-created-phone")
    page.click("[data-testid=token-table] form button[type=submit]")  # revoke, confirmed
    page.wait_for_load_state()
    assert page.locator("[data-testid=token-table] .bg-red-lt").count() == 1
    _shot(page, "tokens-revoked-phone")
    from kehu.access.services import token_create

    token_create(actor=org.rep, name="报表脚本")

    admin = new_page(width=1366, height=800)
    _watch(admin, problems)
    _login(admin, "admin", org.password)
    admin.wait_for_url("**/workbench/")
    admin.wait_for_load_state("networkidle")
    admin.goto("/grading/policies/new/")  # its inline script carries the nonce
    admin.goto("/users/?q=rep")
    admin.locator("tr:has(td.text-secondary:text-is('rep'))").locator("[data-testid=user-tokens]").click()
    assert admin.locator("[data-testid=token-table] tr[data-token]").count() == 2
    _shot(admin, "user-tokens-pc")
    phone_admin = new_page(width=375, height=740)
    _watch(phone_admin, problems)
    _login(phone_admin, "admin", org.password)
    phone_admin.goto(admin.url)
    _shot(phone_admin, "user-tokens-phone")
    admin.goto("/users/?q=rep")
    admin.locator("tr:has(td.text-secondary:text-is('rep'))").locator("[data-testid=user-deactivate]").click()
    admin.wait_for_load_state()
    _shot(admin, "users-after-deactivate-pc")
    org.rep.refresh_from_db()
    assert not org.rep.is_active
    page.goto("/account/tokens/")
    assert "/login/" in page.url  # the rep's session ended at once
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []
