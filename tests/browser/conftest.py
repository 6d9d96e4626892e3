"""Browser tests: the system Chromium driven by Playwright's sync API against pytest-django's
live server (a real HTTP server on 127.0.0.1, sharing the test database)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by the test
# itself (fixtures, assertions) would otherwise be refused as "async unsafe".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("KEHU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module; skipped (with the reason) where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need the system Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium, live_server, audit_triggers_lifted_at_teardown):
    """A factory of pages, one fresh browser context (cookies, language) per call."""
    contexts = []

    def make(*, width: int = 1280, height: int = 800):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                       base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# The audit-trigger lifting around the flush, and the re-seeding after it, are in the root conftest.py
# (fixture audit_triggers_lifted_at_teardown).
