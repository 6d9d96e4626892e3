"""A run's write path at scale: the grade rows and the history rows come from one staging table, and on
PostgreSQL a large run checks its foreign keys once, set-based, instead of row by row at COMMIT. The grades,
history and explanations are the same either way; a referenced row that is gone is refused like the
constraint would; the session's trigger setting is restored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from kehu import bulk_fk
from kehu.grading import services
from kehu.grading.models import CustomerGrade, GradeHistory
from kehu.grading.tests.test_runs import active_policy, customer, order

AS_OF = dt.date(2026, 6, 30)

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's foreign-key triggers")


def book(org):
    people = [customer(org, f"批量客户{i}", owner=org.rep if i % 2 else org.rep2) for i in range(12)]
    for i, c in enumerate(people):
        if i % 4:
            order(c, AS_OF - dt.timedelta(days=3), 400 * i)
    return people


def snapshot():
    grades = sorted(CustomerGrade.objects.values_list("customer_id", "grade", "previous_grade", "computed_grade",
                                                      "explanation", "override_reason", "overridden_until_run"))
    history = list(GradeHistory.objects.order_by("id").values_list(
        "customer_id", "grade", "previous_grade", "movement", "department_id", "explanation", "actor_id", "as_of"))
    return grades, history


def run(org, as_of=AS_OF):
    return services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy_id(), as_of=as_of).pk)


def policy_id():
    from kehu.grading.models import GradingPolicy

    return GradingPolicy.objects.get(state="active").pk


@postgres_only
@pytest.mark.parametrize("lock_table_after", [1, 10**9], ids=["table-lock", "row-locks"])
def test_bulk_checked_run_writes_what_the_row_by_row_checked_run_writes(org, monkeypatch, lock_table_after):
    monkeypatch.setattr(bulk_fk, "LOCK_TABLE_AFTER", lock_table_after)
    book(org)
    active_policy(org)
    with transaction.atomic():
        run(org)
        expected = snapshot()
        transaction.set_rollback(True)
    monkeypatch.setattr(services, "BULK_FK_CHECK_AFTER", 1)
    used = []
    real = bulk_fk._may_set_replication_role
    monkeypatch.setattr(bulk_fk, "_may_set_replication_role", lambda cur: used.append(1) or real(cur))
    first = run(org)
    assert used and snapshot() == expected
    assert first.changed == 12 and GradeHistory.objects.filter(run=first).count() == 12
    with connection.cursor() as cur:
        cur.execute("SHOW session_replication_role")
        assert cur.fetchone()[0] == "origin"


@postgres_only
@pytest.mark.parametrize("lock_table_after", [1, 10**9], ids=["table-lock", "row-locks"])
def test_bulk_check_refuses_a_customer_that_is_gone(org, monkeypatch, lock_table_after):
    """Like the foreign key: a staged grade of a customer id that does not exist is never written."""
    monkeypatch.setattr(bulk_fk, "LOCK_TABLE_AFTER", lock_table_after)
    people = book(org)
    active_policy(org)
    first = run(org)
    monkeypatch.setattr(services, "BULK_FK_CHECK_AFTER", 1)
    before = snapshot()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {services.STAGE} (customer_id bigint, department_id bigint) ON COMMIT DROP")
        cur.execute(f"INSERT INTO {services.STAGE} VALUES (%s, %s), (%s, %s)",
                    [people[0].pk, people[0].department_id, people[-1].pk + 1000, people[0].department_id])
        with services._foreign_keys_checked_in_bulk(cur, first, [(0,)] * 2):
            pass
    assert snapshot() == before
    with connection.cursor() as cur:
        cur.execute("SHOW session_replication_role")
        assert cur.fetchone()[0] == "origin"


def test_a_first_run_writes_one_grade_and_one_history_row_per_customer_with_the_same_explanation(org):
    people = book(org)
    active_policy(org)
    first = run(org)
    grades = {cid: (grade, explanation) for cid, grade, explanation in CustomerGrade.objects.values_list(
        "customer_id", "grade", "explanation")}
    history = {cid: (grade, explanation) for cid, grade, explanation in GradeHistory.objects.filter(
        run=first).values_list("customer_id", "grade", "explanation")}
    assert grades == history and set(grades) == {c.pk for c in people}
    assert list(GradeHistory.objects.filter(run=first).order_by("id").values_list("customer_id", flat=True)) == \
        sorted(grades)
    assert set(GradeHistory.objects.filter(run=first).values_list("movement", "previous_grade", "actor_id",
                                                                   "as_of")) == {("new", "", org.admin.pk, AS_OF)}
