"""Tests here that need committed data seen by several threads run in a transactional database; its
flush at teardown would be refused by the append-only audit log, so — as for the browser tests — the
triggers are lifted just for that teardown (see tests/browser/conftest.py)."""

from __future__ import annotations

import importlib

import pytest

_append_only = importlib.import_module("kehu.audit.migrations.0002_append_only")


def _set_audit_triggers(enabled: bool) -> None:
    from django.db import connection

    with connection.schema_editor() as editor:
        (_append_only.forward if enabled else _append_only.backward)(None, editor)


@pytest.fixture
def audit_triggers_lifted_at_teardown(request, django_db_blocker):
    request.node.kehu_db_blocker = django_db_blocker


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    blocker = getattr(item, "kehu_db_blocker", None)
    if blocker is None:
        return (yield)
    from django.db import connection

    with blocker.unblock():
        test_database = str(connection.settings_dict["NAME"])
        _set_audit_triggers(False)
    try:
        return (yield)
    finally:
        with blocker.unblock():
            if str(connection.settings_dict["NAME"]) == test_database:
                _set_audit_triggers(True)
