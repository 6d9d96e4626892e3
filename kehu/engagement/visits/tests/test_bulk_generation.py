"""The company-wide generation's write paths (services._VisitWriter): from BULK_AFTER visits on, staged (COPY on
PostgreSQL, with the foreign keys checked once per statement by kehu.bulk_fk; executemany on SQLite) and
inserted by one INSERT … SELECT; below it written straight into the table. Both must write the same rows, and a missing
referenced row must fail the whole generation on either."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from kehu.engagement.visits import services
from kehu.engagement.visits.models import PlanEvent, ScheduledVisit, VisitPlan
from kehu.engagement.visits.tests.conftest import START, YEAR

FIELDS = [f.attname for f in ScheduledVisit._meta.concrete_fields if f.attname not in ("id", "created_at",
                                                                                         "updated_at")]


def _snapshot() -> list[tuple]:
    rows = list(ScheduledVisit.objects.values_list(*FIELDS, "created_at", "updated_at"))
    assert rows and all(r[-2] is not None and r[-2] == r[-1] for r in rows)
    plans = {p.pk: p.owner_id for p in VisitPlan.objects.all()}
    # plan ids differ between the runs: compare each row by its plan's owner
    i = FIELDS.index("plan_id")
    return sorted(tuple(plans[v] if n == i else v for n, v in enumerate(r[:-2])) for r in rows)


def test_bulk_path_writes_the_same_rows(org, book, monkeypatch):
    """The staged path (COPY into a temporary table, set-based foreign-key check, INSERT … SELECT with the
    plan's owner and department joined) writes exactly the generic path's rows — every column but the id and
    the timestamps, which are the generation's one ``now`` in both. Small CHUNKs cross batch boundaries."""
    owners = [org.rep.pk, org.rep2.pk, org.north_rep.pk]

    def run(bulk_after: int, chunk: int) -> list[tuple]:
        monkeypatch.setattr(services, "BULK_AFTER", bulk_after)
        monkeypatch.setattr(services, "CHUNK", chunk)
        with transaction.atomic():
            services.plans_generate_company(actor=org.admin, year=YEAR, start=START, owner_ids=owners)
            snap = _snapshot()
            steps = dict(services.STEPS)
            transaction.set_rollback(True)
        return snap, steps

    generic, steps = run(10**9, 1000)
    assert "insert" not in steps and "fk_check" not in steps
    assert len(generic) == 12 + 4 + 4 + 4 + 4  # 华星 (A: every 30 days), the others the default or C's 4
    bulk, steps = run(1, 2)
    assert "insert" in steps and ("fk_check" in steps) == (connection.vendor == "postgresql")
    assert bulk == generic
    assert run(1, 1000)[0] == generic


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bulk_after", [1, 10**9], ids=["bulk", "generic"])
def test_a_missing_customer_fails_the_generation_and_writes_nothing(org, book, monkeypatch, bulk_after,
                                                                  audit_triggers_lifted_at_teardown):
    """A visit of a customer that is gone (deleted meanwhile) is refused — by the bulk path's set-based check at
    once, by the constraint's own check at COMMIT on the generic path — and the whole generation rolls back:
    no plan, no visit, no event."""
    from kehu.customers.models import Customer

    missing = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    real = services._plan_customers
    monkeypatch.setattr(services, "_plan_customers", lambda owner_ids, chunk: [*real(owner_ids, chunk),
                                                                              (missing, org.rep.pk, None)])
    monkeypatch.setattr(services, "BULK_AFTER", bulk_after)
    with pytest.raises(IntegrityError):
        services.plans_generate_company(actor=org.admin, year=YEAR, start=START, owner_ids=[org.rep.pk])
    assert not ScheduledVisit.objects.exists()
    assert not VisitPlan.objects.exists() and not PlanEvent.objects.exists()


def test_the_one_pass_grade_look_up_gives_service_levels_for_levels(org, book):
    """_plan_customers reads the customers with their grades joined and keeps each one's best service level:
    the same levels as grading's service_levels_for, also for a customer graded under two policy names (the
    better response priority wins), a grade without a service policy, and none."""
    from kehu.grading.selectors import service_levels_for
    from kehu.service_desk.tests.grading import grade, service

    service("VIP", policy_name="大客户评级", visit_every_days=15, response_priority=1, resource_priority=1)
    service("B", policy_name="大客户评级", visit_every_days=60, response_priority=5)
    grade(book["huaxing"], "VIP", policy_name="大客户评级")  # also A (priority 1, resource 3): VIP wins
    grade(book["plain"], "B", policy_name="大客户评级")  # also C (priority 3): C wins
    grade(book["dongfang"], "Z", policy_name="大客户评级")  # a grade no service policy names
    owners = [org.rep.pk, org.rep2.pk, org.north_rep.pk]
    rows = list(services._plan_customers(owners, 2))
    ids = [cid for cid, _o, _l in rows]
    assert len(ids) == len(set(ids)) == 5
    expected = service_levels_for(ids)
    assert {cid: level for cid, _o, level in rows if level is not None} == expected
    assert expected[book["huaxing"].pk].grade == "VIP" and expected[book["plain"].pk].grade == "C"
