"""Fixtures shared by every test: an organisation with one user per role."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def org(db):
    """总部 › 销售部 › 华东区 / 华北区, 客服部, 财务部 — with one user per role, and two account managers."""
    from kehu.access.services import department_ensure_path, user_create

    depts = {
        "hq": department_ensure_path(actor=None, path="总部"),
        "east": department_ensure_path(actor=None, path="总部/销售部/华东区"),
        "north": department_ensure_path(actor=None, path="总部/销售部/华北区"),
        "sales": department_ensure_path(actor=None, path="总部/销售部"),
        "service": department_ensure_path(actor=None, path="总部/客服部"),
        "finance": department_ensure_path(actor=None, path="总部/财务部"),
    }
    spec = {
        "admin": ("admin", "hq", "系统管理员"),
        "executive": ("executive", "hq", "王总"),
        "manager": ("manager", "east", "李经理"),
        "north_manager": ("manager", "north", "赵经理"),
        "rep": ("account_manager", "east", "张伟"),
        "rep2": ("account_manager", "east", "刘洋"),
        "north_rep": ("account_manager", "north", "陈静"),
        "agent": ("service_agent", "service", "周敏"),
        "finance": ("finance", "finance", "吴会计"),
        "analyst": ("analyst", "hq", "孙分析"),
        "auditor": ("auditor", "hq", "郑审计"),
    }
    users = {
        key: user_create(actor=None, username=key, password="Kehu#Test2026", role=role, department=depts[d],
                         display_name=name)
        for key, (role, d, name) in spec.items()
    }

    class Org:
        pass

    o = Org()
    o.depts = depts
    o.users = users
    o.password = "Kehu#Test2026"
    for key, user in users.items():
        setattr(o, key, user)
    return o


@pytest.fixture
def api_client(client):
    """A Django test client that speaks JSON to /api/v1 as a given user (via a real Bearer token)."""
    import json

    from kehu.access.services import token_create

    class ApiClient:
        def __init__(self):
            self._tokens = {}
            self.user = None

        def as_user(self, user):
            if user is None:
                self.user = None
                return self
            if user.pk not in self._tokens:
                self._tokens[user.pk] = token_create(actor=user, name="test")[1]
            self.user = user
            return self

        def _headers(self):
            return {"HTTP_AUTHORIZATION": f"Bearer {self._tokens[self.user.pk]}"} if self.user else {}

        def get(self, path, params=None):
            return client.get("/api/v1" + path, params or {}, **self._headers())

        def post(self, path, data=None, raw=None, headers=None):
            body = raw if raw is not None else json.dumps(data if data is not None else {})
            return client.post("/api/v1" + path, body, content_type="application/json", headers=headers,
                               **self._headers())

        def patch(self, path, data, headers=None):
            return client.patch("/api/v1" + path, json.dumps(data), content_type="application/json",
                                headers=headers, **self._headers())

        def patch_current(self, path, data):
            """PATCH with the If-Match of the record as it is now (a client that just read it)."""
            etag = self.get(path)["ETag"]
            return self.patch(path, data, headers={"If-Match": etag})

        def delete(self, path):
            return client.delete("/api/v1" + path, **self._headers())

    return ApiClient()


# Transactional tests (browser journeys, several threads on committed data) end with a flush of every
# table. The append-only audit log refuses that flush, so its triggers are lifted just for that
# teardown; and the flush empties what data migrations seeded (the policy's approval chains, the
# statutory holiday table), so those rows are put back for the tests that follow. The same teardown
# may also destroy the test database (pointing the connection back at the real one): then nothing
# is restored, and the real database is not touched.
_append_only = importlib.import_module("kehu.audit.migrations.0003_sealed_chain")
_SEEDING_MIGRATIONS = ("kehu.approvals.migrations.0002_seed_default_chains",
                       "kehu.approvals.migrations.0004_seed_meeting_and_line_chains",
                       "kehu.workdays.migrations.0002_seed_statutory_schedule",
                       "kehu.orders.migrations.0002_seed_order_terms_chain",
                       "kehu.grading.migrations.0003_seed_grade_override_chain",
                       "kehu.engagement.visits.migrations.0002_report_scales",
                       "kehu.surveys.migrations.0003_seed_questionnaire_chain",
                       "kehu.sales.commissions.migrations.0002_seed_rules_rates_chain",
                       "kehu.sales.migrations.0003_seed_pipeline",
                       "kehu.qualification.migrations.0002_seed_customer_types",
                       )


def _set_audit_triggers(enabled: bool) -> None:
    """Drop or recreate the append-only triggers. On SQLite's shared in-memory test database a schema change
    needs sqlite_master to itself: a request the live server thread is still answering when the browser test
    ends (a loaded machine is slow to finish it) holds it for a moment ("database table is locked"), so wait
    for it — a few seconds at most — instead of failing the teardown and every test after it."""
    import time

    from django.db import OperationalError, connection

    for attempt in range(100):
        try:
            with connection.schema_editor() as editor:
                (_append_only.forward if enabled else _append_only.backward)(None, editor)
            return
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.1)


def _restore_migration_seeds() -> None:
    from django.apps import apps

    for module in _SEEDING_MIGRATIONS:
        importlib.import_module(module).seed(apps, None)


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
                _restore_migration_seeds()
