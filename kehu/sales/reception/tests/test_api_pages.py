"""Reception through the API and the pages: the desk registers a walk-in and the rotation assigns it, the
roster is the manager's (403 for a rep), an entry outside the scope is a 404, the statistics export is
a real XLSX workbook, and the workbench shows the rep their walk-in and their place in line and the
manager the refusals to handle."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.utils import timezone

from kehu.sales.reception import services

from .conftest import walk_in


@pytest.fixture
def today_office(office):
    """The office with today's roster (the API and pages work on today)."""
    office.today = timezone.localdate()
    services.roster_set(actor=office.manager, day=office.today, reps=[office.rep.pk, office.rep2.pk, office.rep3.pk])
    return office


def test_api_walk_in_assigned_by_rotation_and_scoped(api_client, today_office):
    o = today_office
    r = api_client.as_user(o.rep3).post("/reception/entries", {
        "source": o.sources["referral_friend"].pk, "visitor_name": "孙女士", "visitor_phone": "13912345678",
        "intention": "看两居室"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["rep"], body["assignment"], body["counted"]) == (o.rep.pk, "rotation", True)
    assert body["visitor_phone"] != "13912345678" and body["visitor_phone"].endswith("5678")
    assert api_client.as_user(o.rep).get(f"/reception/entries/{body['id']}").status_code == 200
    assert api_client.as_user(o.rep2).get(f"/reception/entries/{body['id']}").status_code == 404
    assert api_client.as_user(o.north_manager).get(f"/reception/entries/{body['id']}").status_code == 404
    assert api_client.as_user(o.manager).get(f"/reception/entries/{body['id']}").status_code == 200
    roster = api_client.as_user(o.rep).get("/reception/roster").json()
    assert [s["rep"] for s in roster["shifts"]] == [o.rep.pk, o.rep2.pk, o.rep3.pk]
    assert roster["next_reps"][:2] == [o.rep2.pk, o.rep3.pk]
    mine = api_client.as_user(o.rep2).get("/reception/my-duty").json()
    assert (mine["on_duty"], mine["position"]) == (True, 1)


def test_api_roster_is_for_managers(api_client, today_office):
    o = today_office
    body = {"day": (o.today + dt.timedelta(days=1)).isoformat(), "reps": [o.rep2.pk, o.rep.pk]}
    r = api_client.as_user(o.rep).post("/reception/roster", body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = api_client.as_user(o.manager).post("/reception/roster", body)
    assert r.status_code == 200 and [s["rep"] for s in r.json()["shifts"]] == [o.rep2.pk, o.rep.pk]
    r = api_client.as_user(o.manager).post("/reception/roster", {**body, "reps": [o.north_rep.pk]})
    assert r.status_code == 422 and "reps" in r.json()["error"]["fields"]
    r = api_client.as_user(o.manager).post("/reception/roster/status", {
        "day": o.today.isoformat(), "rep": o.rep.pk, "status": "out"})
    assert r.status_code == 200 and r.json()["next_reps"][0] == o.rep2.pk


def test_api_refusal_and_its_handling(api_client, today_office):
    o = today_office
    entry = api_client.as_user(o.rep).post("/reception/entries", {
        "source": o.sources["passing_by"].pk, "visitor_name": "钱先生"}).json()
    r = api_client.as_user(o.rep).post(f"/reception/entries/{entry['id']}/refuse", {"reason": "客户不满意讲解"})
    assert r.status_code == 200 and r.json()["refusal"] == "pending"
    r = api_client.as_user(o.rep).post(f"/reception/entries/{entry['id']}/resolve", {"decision": "reassigned"})
    assert r.status_code == 403
    r = api_client.as_user(o.manager).post(f"/reception/entries/{entry['id']}/resolve", {"decision": "maybe"})
    assert r.status_code == 422
    r = api_client.as_user(o.manager).post(f"/reception/entries/{entry['id']}/resolve", {"decision": "reassigned"})
    assert r.status_code == 200 and (r.json()["rep"], r.json()["first_receiver"]) == (o.rep2.pk, o.rep.pk)


def test_api_bad_input_is_an_error_not_a_500(api_client, today_office):
    o = today_office
    rep = api_client.as_user(o.rep)
    assert rep.post("/reception/entries", {"source": 999999, "visitor_name": "x"}).status_code == 422
    assert rep.post("/reception/entries", {"source": o.sources["passing_by"].pk}).status_code == 422
    assert rep.post("/reception/entries", {"source": o.sources["passing_by"].pk, "visitor_name": "x",
                                           "kind": "fax"}).status_code == 422
    assert rep.get("/reception/statistics", {"period": "year"}).status_code == 400
    assert rep.get("/reception/entries", {"cursor": "!!"}).status_code == 400


def test_entry_list_query_count_is_bounded(api_client, today_office, django_assert_max_num_queries):
    o = today_office
    for i in range(15):
        walk_in(o, minute=i, day=o.today)
    client = api_client.as_user(o.manager)
    client.get("/reception/entries")
    with django_assert_max_num_queries(8):
        r = client.get("/reception/entries", {"limit": 50})
    assert len(r.json()["items"]) == 15


def test_pages_for_the_desk_and_the_manager(client, today_office):
    o = today_office
    client.force_login(o.rep2)
    r = client.get("/reception/new/")
    assert r.status_code == 200
    r = client.post("/reception/new/", {"kind": "walk_in", "source": o.sources["passing_by"].pk,
                                        "visitor_name": "周先生", "intention": "商铺"})
    assert r.status_code == 302
    r = client.get(r["Location"])
    assert r.status_code == 200 and "张伟" in r.content.decode()
    r = client.post("/reception/new/", {"kind": "walk_in", "source": ""})
    assert r.status_code == 400
    for url in ("/reception/", "/reception/register/", "/reception/statistics/?period=week"):
        assert client.get(url).status_code == 200, url
    client.force_login(o.manager)
    r = client.post("/reception/", {"action": "status", "day": o.today.isoformat(), "rep": o.rep.pk,
                                    "status": "absent"})
    assert r.status_code == 302
    assert client.get("/reception/").status_code == 200
    client.force_login(o.finance)
    assert client.get("/reception/").status_code == 403


def test_statistics_export_is_an_xlsx_workbook(client, today_office):
    from openpyxl import load_workbook

    o = today_office
    walk_in(o, day=o.today)
    walk_in(o, day=o.today, kind="call")
    client.force_login(o.manager)
    r = client.get("/reception/statistics/export/", {"period": "month", "on": o.today.isoformat()})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(BytesIO(r.content))
    assert len(wb.sheetnames) == 3
    total = list(wb.worksheets[0].iter_rows(values_only=True))[-1]
    assert total[1:] == (1, 1, 1)


def test_workbench_shows_the_rep_the_walk_in_and_the_manager_the_refusal(today_office):
    from kehu.sales.reception.workbench import reception_todos

    o = today_office
    now = timezone.now()
    e = walk_in(o, day=o.today)
    kinds = {t.kind for t in reception_todos(o.rep, today=o.today, now=now, limit=10)}
    assert kinds == {"reception_walk_in", "reception_duty"}
    assert reception_todos(o.agent, today=o.today, now=now, limit=10) == []
    services.entry_refuse(actor=o.rep, entry_id=e.pk, reason="客户要求换人")
    todos = reception_todos(o.manager, today=o.today, now=now, limit=10)
    assert [t.kind for t in todos if t.kind == "reception_refusal"] == ["reception_refusal"]
    assert not [t for t in reception_todos(o.north_manager, today=o.today, now=now, limit=10)
                if t.kind == "reception_refusal"]


def test_api_the_receiving_rep_registers_the_walk_in_others_are_refused(api_client, today_office):
    """POST /reception/entries/{id}/register: the receiving rep (201 → owner), another rep of the office 404 (not
    in their scope), a manager 403 (the registrant becomes the owner), finance 403, another office 404; bad
    input 422 with nothing written."""
    from kehu.customers.models import Customer

    o = today_office
    body = api_client.as_user(o.rep3).post("/reception/entries", {
        "source": o.sources["referral_friend"].pk, "visitor_name": "韩梅", "visitor_phone": "13900001111"}).json()
    path = f"/reception/entries/{body['id']}/register"
    assert body["rep"] == o.rep.pk
    assert api_client.as_user(o.rep2).post(path, {}).status_code == 404
    assert api_client.as_user(o.north_manager).post(path, {}).status_code == 404
    assert api_client.as_user(o.manager).post(path, {}).status_code == 403
    assert api_client.as_user(o.finance).post(path, {}).status_code == 403
    r = api_client.as_user(o.rep).post(path, {"kind": "alien"})
    assert r.status_code in (400, 422) and "kind" in r.json()["error"]["fields"]
    assert not Customer.objects.filter(name="韩梅").exists()
    r = api_client.as_user(o.rep).post(path, {"kind": "person", "phone_consent": True})
    assert r.status_code == 200, r.content
    customer = Customer.objects.get(pk=r.json()["customer"])
    assert (customer.name, customer.owner_id, r.json()["outcome"]) == ("韩梅", o.rep.pk, "registered")
    assert api_client.as_user(o.rep).post(path, {}).status_code == 409


@pytest.mark.parametrize("period, days", [("day", 1), ("week", 7), ("month", None)])
def test_daily_weekly_and_monthly_statistics_export_to_xlsx(client, office, period, days):
    """来人来电统计表 by day, week and month, each exportable: the workbook's rows are the period's days and its
    total counts only the period's walk-ins and calls (one the day before the week is left out)."""
    import calendar

    from openpyxl import load_workbook

    on = dt.date(2026, 3, 4)  # a Wednesday; DAY (Monday 2 March) is in its week and month
    services.roster_set(actor=office.manager, day=on, reps=[office.rep.pk, office.rep2.pk])
    walk_in(office, day=on)
    walk_in(office, day=on, kind="call", minute=5)
    walk_in(office, day=dt.date(2026, 3, 2))  # same week and month, another day
    services.roster_set(actor=office.manager, day=dt.date(2026, 3, 1), reps=[office.rep.pk])
    walk_in(office, day=dt.date(2026, 3, 1))  # Sunday: the month only
    client.force_login(office.manager)
    r = client.get("/reception/statistics/export/", {"period": period, "on": on.isoformat()})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) - 2 == (days or calendar.monthrange(2026, 3)[1])  # header + one row a day + total
    walk_ins, calls = {"day": (1, 1), "week": (2, 1), "month": (3, 1)}[period]
    assert rows[-1][1:3] == (walk_ins, calls)
