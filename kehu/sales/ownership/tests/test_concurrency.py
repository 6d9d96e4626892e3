"""First registration wins (先报备先得), decided by the database: 20 reps register the same customer at once,
each in its own thread, connection and transaction — exactly one succeeds and owns the customer, the 19
others get 409 already_registered, and there is one live claim and one registration. Runs on PostgreSQL
(the partial unique index decides between transactions running at once) and on SQLite — there on a file copy
of the test database, as a deployment runs (the in-memory test database's shared cache refuses a second
writer instead of queueing it): the write lock serialises the transactions, the constraint still decides."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kehu.customers.models import Customer
from kehu.errors import Conflict
from kehu.sales.ownership import services
from kehu.sales.ownership.models import Claim, Registration


def _use(path):
    """Point this thread's connection at the SQLite file (None: leave it as it is)."""
    if path is not None:
        connection.close()
        connection.settings_dict = {**connection.settings_dict, "NAME": str(path)}

pytestmark = [pytest.mark.django_db(transaction=True)]

REPS = 20


def test_twenty_concurrent_registrations_of_the_same_customer_end_with_exactly_one_owner(
        org, tmp_path, audit_triggers_lifted_at_teardown):
    from kehu.access.services import user_create
    from kehu.customers.tests.factories import org_customer

    reps = [user_create(actor=None, username=f"race{i:02d}", password=org.password, role="account_manager",
                        department=org.depts["east"], display_name=f"销售{i:02d}") for i in range(REPS)]
    customer = org_customer(org.manager, "杭州并发登记测试有限公司", serial=77)
    path = None
    if connection.vendor == "sqlite":
        import sqlite3

        path = tmp_path / "race.sqlite3"
        dest = sqlite3.connect(path)
        connection.ensure_connection()
        connection.connection.backup(dest)
        dest.close()
    start = threading.Barrier(REPS)
    won, refused, errors = [], [], []

    def register(rep):
        try:
            _use(path)
            start.wait(timeout=60)
            services.registration_create(actor=rep, customer_id=customer.pk, channel="visit")
            won.append(rep.pk)
        except Conflict as exc:
            refused.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(rep,)) for rep in reps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(won) == 1
    assert sorted(set(refused)) == ["already_registered"] and len(refused) == REPS - 1
    found = {}

    def read():
        try:
            _use(path)
            found["owner"] = Customer.objects.get(pk=customer.pk).owner_id
            found["live"] = list(Claim.objects.filter(customer=customer, ended_at__isnull=True)
                                 .values_list("rep_id", flat=True))
            found["registrations"] = Registration.objects.filter(customer=customer).count()
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=60)
    assert found == {"owner": won[0], "live": won, "registrations": 1}
