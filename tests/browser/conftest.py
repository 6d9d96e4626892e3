"""Browser tests: the system Chromium driven by Playwright's sync API against pytest-django's
live server (a real HTTP server on 127.0.0.1, sharing the test database)."""

from __future__ import annotations

import importlib
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


# ---------------------------------------------------------------- the append-only audit log vs. flush
# A live-server test runs in a transactional database that is emptied after the test by Django's
# flush (DELETE on SQLite, TRUNCATE on PostgreSQL), which the audit log's append-only triggers refuse.
# The triggers are dropped just before the teardown of such a test and put back right after it, so
# every other test still runs against the real, append-only table. After the last test of a session
# the same teardown also destroys the test database (and points the connection back at the real
# one): then there is nothing to put back, and the real database must not be touched.

_append_only = importlib.import_module("kehu.audit.migrations.0002_append_only")


def _set_audit_triggers(enabled: bool) -> None:
    from django.db import connection

    with connection.schema_editor() as editor:
        (_append_only.forward if enabled else _append_only.backward)(None, editor)


def _database_name() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"])


@pytest.fixture
def audit_triggers_lifted_at_teardown(request, django_db_blocker):
    request.node.kehu_db_blocker = django_db_blocker


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    blocker = getattr(item, "kehu_db_blocker", None)
    if blocker is None:
        return (yield)
    with blocker.unblock():
        test_database = _database_name()
        _set_audit_triggers(False)
    try:
        return (yield)
    finally:
        with blocker.unblock():
            if _database_name() == test_database:
                _set_audit_triggers(True)
