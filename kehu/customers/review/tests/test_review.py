"""Periodic review (定期复核): reasons detected, items assigned to owners, resolve flows, progress per
department, scope of every endpoint."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.access import protection
from kehu.audit.models import AuditEntry
from kehu.customers.models import ChangeRecord, Customer
from kehu.customers.review import rules, services
from kehu.customers.review.models import CustomerReview, ItemState, ReviewItem, ReviewRun, RunState
from kehu.customers.tests.factories import MOBILE_LI, org_customer, person_customer

pytestmark = pytest.mark.django_db

FULL = {"industry": "石化", "city": "杭州市", "address": "杭州市西湖区文三路 90 号"}


def _age(customer, months: int) -> None:
    Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now() - dt.timedelta(days=31 * months))


@pytest.fixture
def world(org):
    """华东区: rep owns a stale complete org, an incomplete org, an org with a bad USCC and a person
    with a bad mobile; rep2 owns a complete fresh org (no item); 华北区: north_rep owns an incomplete org."""
    w = {}
    w["stale"] = org_customer(org.rep, "浙江华星石化有限公司", serial=1, **FULL)
    _age(w["stale"], 13)
    w["incomplete"] = org_customer(org.rep, "杭州东方贸易有限公司", serial=2, industry="", address="")
    w["bad_uscc"] = org_customer(org.rep, "宁波海天塑机有限公司", serial=3, **FULL)
    Customer.objects.filter(pk=w["bad_uscc"].pk).update(uscc=w["bad_uscc"].uscc[:17] + (
        "0" if w["bad_uscc"].uscc[17] != "0" else "1"))
    w["bad_mobile"] = person_customer(org.rep, "李雷", mobile=MOBILE_LI)
    Customer.objects.filter(pk=w["bad_mobile"].pk).update(mobile_enc=protection.encrypt("12000000000"))
    w["fine"] = org_customer(org.rep2, "温州正泰电器有限公司", serial=4, **FULL)
    w["north"] = org_customer(org.north_rep, "北京燕山化工有限公司", serial=5, city="北京市")
    return w


def _start(api_client, user, capture, **params):
    with capture(execute=True):
        r = api_client.as_user(user).post("/review-runs", params)
    assert r.status_code == 201, r.content
    return r.json()


def test_run_detects_stale_incomplete_and_invalid_records_and_assigns_owners(
        org, api_client, world, django_capture_on_commit_callbacks):
    """An admin's run lists stale (13 months untouched), incomplete (industry/address missing), and
    invalid (bad USCC check digit, bad mobile) records, each assigned to its owner with the due date."""
    body = _start(api_client, org.admin, django_capture_on_commit_callbacks)
    run = ReviewRun.objects.get(pk=body["id"])
    assert run.state == RunState.DONE and run.scanned == run.total == 6
    items = {i.customer_id: i for i in ReviewItem.objects.filter(run=run)}
    assert set(items) == {world[k].pk for k in ("stale", "incomplete", "bad_uscc", "bad_mobile", "north")}
    assert items[world["stale"].pk].reasons == ["stale"]
    assert items[world["incomplete"].pk].reasons == ["incomplete"]
    assert items[world["incomplete"].pk].details == {"missing": ["industry", "address"]}
    assert items[world["bad_uscc"].pk].details == {"invalid": ["uscc"]}
    assert items[world["bad_mobile"].pk].details == {"invalid": ["mobile"]}
    assert items[world["north"].pk].details == {"missing": ["address"]}
    assert {i.assignee_id for k, i in items.items() if k != world["north"].pk} == {org.rep.pk}
    assert items[world["north"].pk].assignee == org.north_rep
    assert {i.due_date for i in items.values()} == {run.due_date}
    assert run.due_date > timezone.localdate() + dt.timedelta(days=14)  # 14 working days: weekends skipped
    assert AuditEntry.objects.filter(action="review_run.start", object_id=str(run.pk)).count() == 1


def test_manager_run_covers_own_subtree_only(org, api_client, world, django_capture_on_commit_callbacks):
    """A manager's run scans the manager's department subtree, not 华北区."""
    body = _start(api_client, org.manager, django_capture_on_commit_callbacks)
    customers = set(ReviewItem.objects.filter(run_id=body["id"]).values_list("customer_id", flat=True))
    assert world["north"].pk not in customers and world["stale"].pk in customers


def test_confirmed_record_is_not_stale_in_the_next_run(org, api_client, world, django_capture_on_commit_callbacks):
    """Confirming a stale record stamps its last-reviewed time: the next run does not list it as stale."""
    run = _start(api_client, org.admin, django_capture_on_commit_callbacks)
    item = ReviewItem.objects.get(run_id=run["id"], customer=world["stale"])
    r = api_client.as_user(org.rep).post(f"/review-items/{item.pk}/resolve", {"state": "confirmed", "note": "电话核实"})
    assert r.status_code == 200 and r.json()["state"] == "confirmed" and r.json()["resolved_by"] == "张伟"
    assert CustomerReview.objects.get(customer=world["stale"]).reviewed_by == org.rep
    assert ChangeRecord.objects.filter(customer=world["stale"], action="review").count() == 1
    assert AuditEntry.objects.filter(action="review_item.resolve", object_id=str(item.pk)).count() == 1
    run2 = _start(api_client, org.admin, django_capture_on_commit_callbacks)
    assert not ReviewItem.objects.filter(run_id=run2["id"], customer=world["stale"]).exists()


def test_fixed_is_refused_until_the_record_is_complete(org, api_client, world):
    """已修正 is refused (409) while a required field is still missing; after the edit it is accepted."""
    run = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=run.pk)
    item = ReviewItem.objects.get(run=run, customer=world["incomplete"])
    api = api_client.as_user(org.rep)
    r = api.post(f"/review-items/{item.pk}/resolve", {"state": "fixed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "still_incomplete"
    assert ReviewItem.objects.get(pk=item.pk).state == ItemState.OPEN
    assert api.patch_current(f"/customers/{world['incomplete'].pk}", {"industry": "贸易", "address": "杭州市上城区"}).status_code == 200
    assert api.post(f"/review-items/{item.pk}/resolve", {"state": "fixed"}).json()["state"] == "fixed"
    r = api.post(f"/review-items/{item.pk}/resolve", {"state": "not_applicable"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_resolved"


def test_resolve_rejects_unknown_state_and_other_users(org, api_client, world):
    """A bad state is 422; a colleague outside the item's scope gets 404; nothing changes."""
    run = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=run.pk)
    item = ReviewItem.objects.get(run=run, customer=world["stale"])
    assert api_client.as_user(org.rep).post(f"/review-items/{item.pk}/resolve", {"state": "open"}).status_code == 422
    assert api_client.as_user(org.rep2).post(f"/review-items/{item.pk}/resolve",
                                             {"state": "confirmed"}).status_code == 404
    assert api_client.as_user(org.north_manager).get(f"/review-items/{item.pk}").status_code == 404
    assert api_client.as_user(None).post(f"/review-items/{item.pk}/resolve", {"state": "confirmed"}).status_code == 401
    # The analyst has the all scope but not the review permission: someone else's item is not theirs to
    # see (as the review pages refuse them), let alone to work.
    assert api_client.as_user(org.analyst).get(f"/review-items/{item.pk}").status_code == 404
    assert api_client.as_user(org.analyst).post(f"/review-items/{item.pk}/resolve",
                                                {"state": "confirmed"}).status_code in (403, 404)
    assert ReviewItem.objects.get(pk=item.pk).state == ItemState.OPEN
    # The department's manager may resolve on the rep's behalf.
    r = api_client.as_user(org.manager).post(f"/review-items/{item.pk}/resolve", {"state": "not_applicable"})
    assert r.status_code == 200


def test_progress_per_department_and_person(org, api_client, world):
    """The run detail counts open / done / overdue per department and per person, in the viewer's scope."""
    run = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=run.pk)
    ReviewItem.objects.filter(run=run, customer=world["bad_mobile"]).update(due_date=timezone.localdate() - dt.timedelta(days=1))
    item = ReviewItem.objects.get(run=run, customer=world["stale"])
    services.review_item_resolve(actor=org.rep, item_id=item.pk, state="confirmed")
    body = api_client.as_user(org.admin).get(f"/review-runs/{run.pk}").json()
    depts = {d["name"]: d for d in body["progress"]["departments"]}
    assert depts["华东区"] | {} == {"id": org.depts["east"].pk, "name": "华东区", "total": 4, "open": 3, "done": 1,
                                    "overdue": 1}
    assert depts["华北区"]["total"] == 1 and depts["华北区"]["open"] == 1
    people = {p["name"]: p for p in body["progress"]["people"]}
    assert people["张伟"]["done"] == 1 and people["陈静"]["open"] == 1
    # The east manager sees the admin's run, counted over 华东区 only.
    body = api_client.as_user(org.manager).get(f"/review-runs/{run.pk}").json()
    assert [d["name"] for d in body["progress"]["departments"]] == ["华东区"]


def test_item_list_filters_and_cursor(org, api_client, world):
    """GET /review-items: assignee=me, state, overdue filters; cursor pages visit each item once."""
    run = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=run.pk)
    api = api_client.as_user(org.rep)
    seen, cursor = [], None
    while True:
        body = api.get("/review-items", {"assignee": "me", "limit": 3} | ({"cursor": cursor} if cursor else {})).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 4
    assert api.get("/review-items", {"overdue": "true"}).json()["items"] == []
    assert len(api_client.as_user(org.admin).get("/review-items", {"run": run.pk}).json()["items"]) == 5
    assert api.get("/review-items", {"state": "bogus"}).status_code == 400


def test_run_endpoints_scope_and_permissions(org, api_client, world):
    """Runs: anonymous 401; a rep (no review.manage) 403; a run outside the manager's scope 404."""
    run = services.review_run_start(actor=org.manager)
    services.review_run_build(run_id=run.pk)
    assert api_client.as_user(None).get("/review-runs").status_code == 401
    assert api_client.as_user(None).post("/review-runs", {}).status_code == 401
    assert api_client.as_user(org.rep).get("/review-runs").status_code == 403
    assert api_client.as_user(org.rep).post("/review-runs", {}).status_code == 403
    assert api_client.as_user(org.rep).get(f"/review-runs/{run.pk}").status_code == 403
    assert api_client.as_user(org.north_manager).get(f"/review-runs/{run.pk}").status_code == 404
    assert api_client.as_user(org.executive).get(f"/review-runs/{run.pk}").status_code == 200
    assert [r["id"] for r in api_client.as_user(org.manager).get("/review-runs").json()["items"]] == [run.pk]
    assert api_client.as_user(None).get("/review-items").status_code == 401
    r = api_client.as_user(org.admin).post("/review-runs", {"stale_months": 0})
    assert r.status_code == 422 and ReviewRun.objects.count() == 1


def test_open_items_are_not_listed_again_by_a_new_run(org, world):
    """A customer with an open item in an earlier run is left to that run."""
    first = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=first.pk)
    second = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=second.pk)
    assert ReviewItem.objects.filter(run=second).count() == 0


def test_stale_months_setting_and_month_arithmetic(org, world, settings):
    """KEHU_REVIEW_STALE_MONTHS is read at call time; 31 March − 1 month is the end of February."""
    settings.KEHU_REVIEW_STALE_MONTHS = 24
    run = services.review_run_start(actor=org.admin)
    assert run.stale_months == 24
    services.review_run_build(run_id=run.pk)
    assert not ReviewItem.objects.filter(run=run, stale=True).exists()
    at = dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    assert rules.months_before(at, 1).date() == dt.date(2026, 2, 28)
    assert rules.months_before(at, 15).date() == dt.date(2024, 12, 31)


def test_scheduled_run_starts_when_none_recent(org, world, settings):
    """The periodic task starts a run as the first admin when none started within the schedule."""
    settings.KEHU_REVIEW_SCHEDULE_MONTHS = 12
    services.review_run_start(actor=org.manager)  # a department's own run does not count
    run = services.review_schedule_start()
    assert run is not None and run.started_by == org.admin
    assert services.review_schedule_start() is None
    settings.KEHU_REVIEW_SCHEDULE_MONTHS = 0
    assert services.review_schedule_due(starter=org.admin) is False


def test_item_list_query_count_is_bounded(org, api_client, world, django_assert_max_num_queries):
    """Listing items costs a fixed number of queries whatever the page size."""
    run = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=run.pk)
    api = api_client.as_user(org.admin)
    api.get("/review-items")
    with django_assert_max_num_queries(6):
        assert len(api.get("/review-items").json()["items"]) == 5
    with django_assert_max_num_queries(8):
        assert api.get(f"/review-runs/{run.pk}").status_code == 200


@pytest.mark.parametrize("role", ["agent", "finance", "analyst", "auditor"])
def test_review_items_are_not_read_by_all_scope_roles_without_the_review_permission(org, api_client, world, role):
    """The service desk, finance, analysts and the auditor see every customer, but not other people's
    review work (customer, reasons, assignee): the API answers as the review pages do (issue 8)."""
    run = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=run.pk)
    item = ReviewItem.objects.filter(run=run).first()
    api = api_client.as_user(getattr(org, role))
    assert api.get("/review-items").json()["items"] == []
    assert api.get(f"/review-items/{item.pk}").status_code == 404
    assert len(api_client.as_user(org.executive).get("/review-items").json()["items"]) == 5
