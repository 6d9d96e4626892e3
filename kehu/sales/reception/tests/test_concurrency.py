"""Two receptionists registering walk-ins at the same moment never hand out the same turn: each walk-in
locks the day's queue row (DutyDay, select_for_update). PostgreSQL runs the desks truly in parallel;
SQLite serialises writers, so the test needs PostgreSQL."""

import os

import pytest

from .conftest import build_office, walk_in

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("KEHU_TEST_DATABASE_URL"),
                       reason="concurrent desks need PostgreSQL (KEHU_TEST_DATABASE_URL); SQLite serialises them"),
]


def test_two_receptionists_at_the_same_moment_never_give_the_same_turn(org, audit_triggers_lifted_at_teardown):
    """Nine walk-ins registered at once by three desks: three full rounds, each rep exactly three times."""
    import threading

    from kehu.sales.reception.models import RegisterEntry

    org = build_office(org)
    n = 9
    errors = []
    barrier = threading.Barrier(n)

    def desk(i):
        from django.db import connection as conn

        try:
            barrier.wait(timeout=10)
            walk_in(org, actor=[org.rep, org.rep2, org.rep3][i % 3], minute=i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    got = sorted(RegisterEntry.objects.values_list("rep__username", flat=True))
    assert got == sorted(["rep", "rep2", "rep3"] * (n // 3))
