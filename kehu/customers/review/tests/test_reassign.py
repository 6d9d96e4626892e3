"""Reassignment of a leaving rep's customers (客户转移 / 随机抽数分配): preview, evenness, seeded random
draw, department following the owner, history, one audit entry per customer, notifications, scope."""

from __future__ import annotations

import pytest

from kehu.access.services import user_create
from kehu.audit.models import AuditEntry
from kehu.customers.models import ChangeRecord, Customer
from kehu.customers.review import reassign, services
from kehu.customers.review.models import ReviewItem
from kehu.customers.tests.factories import org_customer
from kehu.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(org):
    """rep owns 11 customers; rep2 owns 2; a new 华北区 rep (north_rep) owns none."""
    mine = [org_customer(org.rep, f"杭州客户{i:02d}贸易有限公司", city="杭州市" if i % 2 else "宁波市")
            for i in range(11)]
    org_customer(org.rep2, "温州正泰电器有限公司")
    org_customer(org.rep2, "台州吉利汽车有限公司")
    return mine


def _counts(user_ids) -> dict[int, int]:
    return {u: Customer.objects.filter(owner_id=u).count() for u in user_ids}


def test_preview_writes_nothing_and_shows_counts_and_sample(org, api_client, book):
    """The preview shows counts per target and sample rows; no customer, history, audit or notification changes."""
    api = api_client.as_user(org.manager)
    before = (AuditEntry.objects.count(), ChangeRecord.objects.count(), Notification.objects.count())
    r = api.post("/reassignments/preview",
                                             {"source": org.rep.pk, "targets": [org.rep2.pk, org.manager.pk]})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["total"] == 11 and len(body["sample"]) == 11
    assert {t["id"]: (t["current"], t["added"], t["after"]) for t in body["targets"]} == {
        org.rep2.pk: (2, 5, 7), org.manager.pk: (0, 6, 6)}
    assert _counts([org.rep.pk]) == {org.rep.pk: 11}
    assert (AuditEntry.objects.count(), ChangeRecord.objects.count(), Notification.objects.count()) == before


def test_even_strategy_balances_targets_by_their_current_counts(org, book, django_capture_on_commit_callbacks):
    """even: the targets' totals (current + received) end within 1 of each other; everyone moved."""
    t3 = user_create(actor=None, username="rep3", password=org.password, role="account_manager",
                     department=org.depts["east"], display_name="王芳")
    with django_capture_on_commit_callbacks(execute=True):
        out = reassign.reassignment_commit(actor=org.manager, source_id=org.rep.pk,
                                           target_ids=[org.rep2.pk, t3.pk, org.manager.pk])
    assert out["moved"] == 11
    totals = _counts([org.rep2.pk, t3.pk, org.manager.pk])
    assert sum(totals.values()) == 13 and max(totals.values()) - min(totals.values()) <= 1
    assert _counts([org.rep.pk]) == {org.rep.pk: 0}


def test_even_counts_differ_by_at_most_one_from_empty_targets(org, book):
    """With targets holding nothing yet, even hands out ⌊n/k⌋ or ⌈n/k⌉ each."""
    t = [user_create(actor=None, username=f"new{i}", password=org.password, role="account_manager",
                     department=org.depts["east"], display_name=f"新人{i}") for i in range(3)]
    out = reassign.reassignment_commit(actor=org.admin, source_id=org.rep.pk, target_ids=[u.pk for u in t])
    added = sorted(row["added"] for row in out["targets"])
    assert added == [3, 4, 4]


def test_random_draw_is_reproducible_with_a_seed_and_moves_everyone(org, book):
    """random (随机抽数分配): the same seed gives the same draw in preview and commit; every customer moves;
    counts are dealt evenly."""
    args = {"source_id": org.rep.pk, "target_ids": [org.rep2.pk, org.manager.pk], "strategy": "random"}
    p1 = reassign.reassignment_preview(actor=org.manager, seed=42, **args)
    p2 = reassign.reassignment_preview(actor=org.manager, seed=42, **args)
    assert p1 == p2
    free = reassign.reassignment_preview(actor=org.manager, **args)
    assert free["seed"] is not None
    out = reassign.reassignment_commit(actor=org.manager, seed=42, **args)
    assert out["sample"] == p1["sample"] and out["moved"] == 11
    assert sorted(r["added"] for r in out["targets"]) == [5, 6]
    plan = {s["customer"]: s["target"] for s in p1["sample"]}
    assert {c.pk: c.owner_id for c in Customer.objects.filter(pk__in=plan)} == plan


def test_commit_moves_department_with_owner_history_audit_and_notifies(
        org, api_client, book, django_capture_on_commit_callbacks):
    """Moving to a 华北区 user: the department follows the owner; one history row and one audit entry per
    customer; each target notified once with the count; open review items follow."""
    run = services.review_run_start(actor=org.admin, stale_months=1)
    Customer.objects.filter(pk=book[0].pk).update(industry="")
    services.review_run_build(run_id=run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.as_user(org.admin).post("/reassignments", {"source": org.rep.pk, "targets": [org.north_rep.pk],
                                                                  "city": "宁波市"})
    assert r.status_code == 201, r.content
    moved = Customer.objects.filter(owner=org.north_rep)
    assert moved.count() == 6 == r.json()["moved"]
    assert set(moved.values_list("department_id", flat=True)) == {org.depts["north"].pk}
    assert Customer.objects.filter(owner=org.rep).count() == 5  # the 杭州 ones stay (filter)
    entries = AuditEntry.objects.filter(action="customer.reassign")
    assert entries.count() == 6
    assert entries.first().changes == {"owner": [org.rep.pk, org.north_rep.pk],
                                       "department": [org.depts["east"].pk, org.depts["north"].pk]}
    assert ChangeRecord.objects.filter(customer=book[0], action="update",
                                       changes__owner=[org.rep.pk, org.north_rep.pk]).count() == 1
    notes = Notification.objects.filter(user=org.north_rep)
    assert notes.count() == 1 and "6" in notes.get().title
    item = ReviewItem.objects.get(run=run, customer=book[0])
    assert (item.assignee_id, item.department_id) == (org.north_rep.pk, org.depts["north"].pk)


def test_reassignment_permissions_and_scope(org, api_client, book):
    """Anonymous 401; a rep 403; a source outside the manager's scope 404; a target outside it 422;
    the source as a target 422; nothing moved."""
    body = {"source": org.rep.pk, "targets": [org.rep2.pk]}
    for path in ("/reassignments/preview", "/reassignments"):
        assert api_client.as_user(None).post(path, body).status_code == 401
        assert api_client.as_user(org.rep).post(path, body).status_code == 403
        assert api_client.as_user(org.north_manager).post(path, body).status_code == 404
        assert api_client.as_user(org.manager).post(path, {"source": org.rep.pk,
                                                           "targets": [org.north_rep.pk]}).status_code == 422
        assert api_client.as_user(org.manager).post(path, {"source": org.rep.pk,
                                                           "targets": [org.rep.pk]}).status_code == 422
        assert api_client.as_user(org.manager).post(path, {**body, "strategy": "lottery"}).status_code == 422
    assert _counts([org.rep.pk]) == {org.rep.pk: 11}


def test_commit_query_count_does_not_grow_per_customer(org, book, django_assert_max_num_queries):
    """A commit costs a bounded number of queries (batched updates, bulk history and audit)."""
    with django_assert_max_num_queries(30):
        reassign.reassignment_commit(actor=org.admin, source_id=org.rep.pk, target_ids=[org.rep2.pk, org.manager.pk])
