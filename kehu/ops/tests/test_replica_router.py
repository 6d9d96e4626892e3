"""Which database answers: reporting reads may go to the replica, nothing else ever does."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connections

from kehu.ops import replica
from kehu.ops.replica import ReplicaRouter, reporting_reads


@pytest.fixture
def healthy_replica(monkeypatch):
    monkeypatch.setattr(replica, "replica_usable", lambda: True)


def test_without_a_replica_everything_reads_the_primary(settings):
    """No KEHU_REPLICA_DATABASE_URL: reporting reads too go to the primary, without probing anything."""
    assert "replica" not in settings.DATABASES
    with reporting_reads():
        assert ReplicaRouter().db_for_read(ContentType) == "default"
        assert replica.replica_usable() is False


def test_reporting_reads_go_to_a_healthy_replica_outside_transactions(healthy_replica):
    """Reports read from the replica; ordinary reads, writes and reads inside a transaction (read your
    own writes) stay on the primary; migrations never run on the replica."""
    router = ReplicaRouter()
    primary = connections["default"]
    assert router.db_for_read(ContentType) == "default"
    with reporting_reads():
        assert router.db_for_read(ContentType) == "replica"
        assert router.db_for_write(ContentType) == "default"
        primary.in_atomic_block = True  # as inside transaction.atomic(), without touching a database
        try:
            assert router.db_for_read(ContentType) == "default"
        finally:
            primary.in_atomic_block = False
    assert router.db_for_read(ContentType) == "default"
    assert router.allow_migrate("replica", "customers") is False
    assert router.allow_migrate("default", "customers") is True


def test_a_down_replica_is_not_used(monkeypatch):
    """A replica that does not answer (or lags) sends reporting reads back to the primary."""
    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica, "_probe", lambda: False)
    replica.forget_state()
    with reporting_reads():
        assert ReplicaRouter().db_for_read(ContentType) == "default"
    monkeypatch.setattr(replica, "_probe", lambda: True)
    replica.forget_state()
    with reporting_reads():
        assert ReplicaRouter().db_for_read(ContentType) == "replica"
    replica.forget_state()


@pytest.mark.django_db
def test_listed_views_read_in_reporting_mode(client, settings, monkeypatch):
    """The middleware puts GETs of the views in KEHU_REPLICA_VIEWS (reports, exports) in reporting mode."""
    from kehu.access.services import user_create

    seen = []
    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica, "replica_usable", lambda: False)  # no second database in this test
    original = ReplicaRouter.db_for_read

    def spy(self, model, **hints):
        seen.append(replica._reporting.get())
        return original(self, model, **hints)

    monkeypatch.setattr(ReplicaRouter, "db_for_read", spy)
    settings.DATABASE_ROUTERS = ["kehu.ops.replica.ReplicaRouter"]
    user = user_create(actor=None, username="boss", password="Kehu#Test2026", role="executive",
                       department_path="总部", display_name="王总")
    client.force_login(user)
    assert client.get("/complaints/reports/").status_code == 200
    assert seen and all(seen[-3:])  # the report's queries ran in reporting mode
    seen.clear()
    assert client.get("/").status_code in (200, 302)
    assert seen and not any(seen)  # the customer list did not
