"""/api/v1/workdays: any authenticated user reads and computes; only an administrator writes."""

from __future__ import annotations

import pytest

from kehu.audit.models import AuditEntry
from kehu.workdays import statutory
from kehu.workdays.models import CalendarDay

pytestmark = pytest.mark.django_db


def test_anyone_logged_in_lists_the_special_days_of_a_range(org, api_client):
    r = api_client.as_user(org.rep).get("/workdays", {"from": "2025-09-25", "to": "2025-10-15"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["from"] == "2025-09-25" and body["to"] == "2025-10-15"
    items = {d["date"]: d for d in body["items"]}
    assert items["2025-10-01"] == {"date": "2025-10-01", "kind": "holiday", "name": "国庆节",
                                   "source": "statutory", "note": "", "working": False}
    assert items["2025-10-11"]["working"] is True and items["2025-10-11"]["kind"] == "makeup_workday"
    assert body["years_loaded"] == statutory.statutory_years()


def test_list_defaults_to_a_whole_year_and_filters_by_kind(org, api_client):
    r = api_client.as_user(org.agent).get("/workdays", {"from": "2025-01-01", "kind": "makeup_workday"})
    assert r.status_code == 200
    assert [d["date"] for d in r.json()["items"]] == ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28",
                                                     "2025-10-11"]
    assert r.json()["to"] == "2025-12-31"


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
    ({"from": "2025-02-01", "to": "2025-01-01"}, "to"),
])
def test_list_range_is_bounded(org, api_client, params, field):
    r = api_client.as_user(org.rep).get("/workdays", params)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request" and field in r.json()["error"]["fields"]


def test_add_computes_the_nth_working_day(org, api_client):
    r = api_client.as_user(org.rep).get("/workdays/add", {"date": "2025-09-30", "days": 3})
    assert r.status_code == 200
    assert r.json() == {"date": "2025-09-30", "days": 3, "result": "2025-10-11", "years_not_loaded": []}


def test_add_reports_years_counted_by_the_weekend_rule_only(org, api_client):
    last = statutory.statutory_years()[-1]
    r = api_client.as_user(org.rep).get("/workdays/add", {"date": f"{last}-12-30", "days": 5})
    assert r.json()["years_not_loaded"] == [last + 1]


def test_due_computes_the_sla_deadline_under_the_default_rule(org, api_client):
    """General complaint (1 working day) received 2025-09-30 10:00 Shanghai: due 10-09 24:00."""
    r = api_client.as_user(org.agent).get("/workdays/due", {"received_at": "2025-09-30T10:00:00+08:00", "days": 1})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["due_at"].startswith("2025-10-09T16:00:00")
    assert body["due_at_local"] == "2025-10-10T00:00:00+08:00"
    assert body["rule"] == {"count_from": "next_working_day", "due_at": "end_of_day", "timezone": "Asia/Shanghai"}
    # without an offset the time is read in Asia/Shanghai
    naive = api_client.get("/workdays/due", {"received_at": "2025-09-30T10:00:00", "days": 3}).json()
    assert naive["due_at_local"] == "2025-10-12T00:00:00+08:00"


def test_due_follows_the_configured_rule(org, api_client, settings):
    settings.KEHU_WORKDAY_SLA = {"count_from": "receipt_day", "due_at": "time_of_receipt",
                                 "timezone": "Asia/Shanghai"}
    r = api_client.as_user(org.agent).get("/workdays/due", {"received_at": "2025-09-30T10:00:00+08:00", "days": 1})
    assert r.json()["due_at_local"] == "2025-10-09T10:00:00+08:00"


def test_between_counts_working_days(org, api_client):
    r = api_client.as_user(org.agent).get("/workdays/between", {"start": "2025-09-30T10:00:00+08:00",
                                                                "end": "2025-10-11T10:00:00+08:00"})
    assert r.status_code == 200 and r.json()["working_days"] == 3


@pytest.mark.parametrize(("path", "params"), [
    ("/workdays/add", {"date": "2025-13-01", "days": 1}),
    ("/workdays/add", {"date": "2025-09-30", "days": "x"}),
    ("/workdays/add", {"date": "2025-09-30", "days": 10 ** 9}),
    ("/workdays/due", {"received_at": "yesterday", "days": 1}),
    ("/workdays/due", {"received_at": "2025-09-30T10:00:00+08:00", "days": -1}),
    ("/workdays", {"from": "not-a-date"}),
])
def test_bad_input_is_a_422_in_the_project_format(org, api_client, path, params):
    r = api_client.as_user(org.rep).get(path, params)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid"


def test_results_beyond_year_9999_are_a_400(org, api_client):
    r = api_client.as_user(org.rep).get("/workdays/add", {"date": "9999-12-30", "days": 100})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


def test_admin_adds_replaces_and_deletes_a_day(org, api_client):
    api = api_client.as_user(org.admin)
    r = api.post("/workdays", {"date": "2025-10-09", "kind": "closure", "name": "公司年会"})
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "company" and r.json()["working"] is False
    assert api.get("/workdays/add", {"date": "2025-09-30", "days": 1}).json()["result"] == "2025-10-10"
    r = api.post("/workdays", {"date": "2025-10-09", "kind": "closure", "name": "公司年会", "note": "全员"})
    assert r.status_code == 200 and r.json()["note"] == "全员"
    assert api.delete("/workdays/2025-10-09").status_code == 204
    assert api.get("/workdays/add", {"date": "2025-09-30", "days": 1}).json()["result"] == "2025-10-09"
    assert api.delete("/workdays/2025-10-09").status_code == 404
    assert list(AuditEntry.objects.filter(action__startswith="workdays.").values_list("action", flat=True)
                .order_by("id")) == ["workdays.day_create", "workdays.day_update", "workdays.day_delete"]


def test_admin_loads_the_statutory_schedule(org, api_client):
    CalendarDay.objects.filter(date__year=2024).delete()
    r = api_client.as_user(org.admin).post("/workdays/seed", {"years": [2024]})
    assert r.status_code == 200 and r.json()["created"] == len(statutory.statutory_days([2024]))
    r = api_client.post("/workdays/seed", {"years": [1999]})
    assert r.status_code == 422 and "years" in r.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "agent", "auditor"])
def test_only_an_admin_writes_others_get_403(org, api_client, role):
    api = api_client.as_user(org.users[role])
    r = api.post("/workdays", {"date": "2025-10-09", "kind": "closure", "name": "公司年会"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert api.delete("/workdays/2025-10-01").status_code == 403
    assert api.post("/workdays/seed", {}).status_code == 403
    assert CalendarDay.objects.filter(date="2025-10-01").exists()
    assert not CalendarDay.objects.filter(date="2025-10-09").exists()


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/workdays"), ("get", "/workdays/add?date=2025-09-30&days=1"),
    ("get", "/workdays/due?received_at=2025-09-30T10:00:00%2B08:00&days=1"), ("post", "/workdays"),
    ("delete", "/workdays/2025-10-01"), ("post", "/workdays/seed"),
])
def test_anonymous_gets_401(db, client, method, path):
    r = getattr(client, method)("/api/v1" + path, content_type="application/json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_write_validation_errors_name_the_field(org, api_client):
    r = api_client.as_user(org.admin).post("/workdays", {"date": "2025-10-09", "kind": "party", "name": "x"})
    assert r.status_code == 422 and "kind" in r.json()["error"]["fields"]
    r = api_client.post("/workdays", {"date": "2025-10-09", "kind": "closure", "name": ""})
    assert r.status_code == 422 and "name" in r.json()["error"]["fields"]
