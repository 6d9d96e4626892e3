"""Complaint reports: SLA compliance by severity / department / person / month, the Pareto of
categories, repeat complainers and handling time in working days — scoped, through the selectors, the
API and the page."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kehu.errors import BadRequest, Forbidden, Invalid
from kehu.service_desk import reports, services
from kehu.service_desk.models import Complaint

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=SH)
SPRING = {"date_from": dt.date(2025, 3, 1), "date_to": dt.date(2025, 5, 31)}
SPRING_Q = {"from": "2025-03-01", "to": "2025-05-31"}


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def make(actor, received: dt.datetime, *, severity="general", category="", due=None, answered=None, closed=None,
         customer=None, name="王先生", phone="13800138000") -> Complaint:
    """A complaint recorded through the service, then given the known timestamps of the scenario."""
    c = services.complaint_record(actor=actor, data={
        "complainant_name": name, "complainant_phone": phone, "channel": "phone", "subject": "发货延迟",
        "description": "订单已延迟五天未发货。", "received_at": received, "customer": customer})
    Complaint.objects.filter(pk=c.pk).update(
        severity=severity, category=category, due_at=due or c.due_at, answered_at=answered, closed_at=closed,
        state="closed" if closed else ("answered" if answered else "judged"))
    return c


@pytest.fixture
def spring(org):
    """Six complaints received in March–April 2025 with known outcomes (as of 1 June 2025)."""
    return {
        # agent (客服部): general in time, general late, serious still open but not yet due
        "a": make(org.agent, at(2025, 3, 3, 10), due=at(2025, 3, 5), answered=at(2025, 3, 4, 15)),
        "b": make(org.agent, at(2025, 3, 3, 11), due=at(2025, 3, 5), answered=at(2025, 3, 6, 9)),
        "e": make(org.agent, at(2025, 4, 1, 9), severity="serious", due=at(2025, 12, 31)),
        # closed without a recorded answer, before the deadline: in time. Received 00:30 on 1 April in
        # Shanghai (still 31 March in UTC): an April complaint.
        "f": make(org.agent, at(2025, 4, 1, 0, 30), due=at(2025, 4, 3), closed=at(2025, 4, 2, 12)),
        # rep (华东区): major open past its deadline, major answered in time
        "c": make(org.rep, at(2025, 3, 10, 9), severity="major", due=at(2025, 3, 14)),
        "d": make(org.rep, at(2025, 3, 10, 10), severity="major", due=at(2025, 3, 14), answered=at(2025, 3, 12)),
    }


def counts(report) -> dict:
    return {r["key"]: (r["total"], r["answered_in_time"], r["answered_late"], r["open_overdue"], r["pending"],
                       r["compliance_pct"]) for r in report["rows"]}


# ---------------------------------------------------------------- SLA compliance

def test_sla_compliance_by_severity_counts_in_time_late_and_open_overdue(org, spring):
    """In time = answered (or closed) by the deadline; open past it is overdue; open before it is
    pending and left out of the percentage."""
    report = reports.complaint_report_sla(actor=org.admin, group_by="severity", now=NOW, **SPRING)
    assert [r["key"] for r in report["rows"]] == ["general", "major", "serious"]
    assert counts(report) == {
        "general": (3, 2, 1, 0, 0, 66.7),
        "major": (2, 1, 0, 1, 0, 50.0),
        "serious": (1, 0, 0, 0, 1, None),
    }
    overall = report["overall"]
    assert (overall["total"], overall["answered_in_time"], overall["compliance_pct"]) == (6, 3, 60.0)


def test_sla_compliance_by_month_buckets_in_shanghai_time_and_lists_empty_months(org, spring):
    report = reports.complaint_report_sla(actor=org.admin, group_by="month", now=NOW, **SPRING)
    assert counts(report) == {
        "2025-03": (4, 2, 1, 1, 0, 50.0),
        "2025-04": (2, 1, 0, 0, 1, 100.0),
        "2025-05": (0, 0, 0, 0, 0, None),
    }


def test_sla_compliance_by_person_and_by_department_of_the_accountable_person(org, spring):
    by_person = reports.complaint_report_sla(actor=org.admin, group_by="person", now=NOW, **SPRING)
    assert counts(by_person) == {str(org.agent.pk): (4, 2, 1, 0, 1, 66.7), str(org.rep.pk): (2, 1, 0, 1, 0, 50.0)}
    assert [r["label"] for r in by_person["rows"]] == ["周敏", "张伟"]  # most complaints first
    by_dept = reports.complaint_report_sla(actor=org.admin, group_by="department", now=NOW, **SPRING)
    assert {r["label"]: r["total"] for r in by_dept["rows"]} == {"客服部": 4, "华东区": 2}


def test_sla_compliance_is_one_query(org, spring, django_assert_num_queries):
    with django_assert_num_queries(1):
        reports.complaint_report_sla(actor=org.admin, group_by="department", now=NOW, **SPRING)


def test_an_account_managers_report_counts_only_their_own_complaints(org, spring):
    """Same scope as the complaint list: the rep sees the two complaints they are accountable for."""
    report = reports.complaint_report_sla(actor=org.rep, group_by="severity", now=NOW, **SPRING)
    assert counts(report) == {"major": (2, 1, 0, 1, 0, 50.0)}
    assert reports.complaint_report_sla(actor=org.rep2, now=NOW, **SPRING)["overall"]["total"] == 0
    # the east manager sees the east department's complaints, not the service department's
    assert reports.complaint_report_sla(actor=org.manager, now=NOW, **SPRING)["overall"]["total"] == 2


def test_the_date_range_filters_on_receipt_and_a_reversed_range_is_refused(org, spring):
    march = reports.complaint_report_sla(actor=org.admin, now=NOW, date_from=dt.date(2025, 3, 1),
                                         date_to=dt.date(2025, 3, 31))
    assert march["overall"]["total"] == 4  # f (1 April 00:30 local) is outside although 31 March in UTC
    with pytest.raises(BadRequest):
        reports.complaint_report_sla(actor=org.admin, date_from=dt.date(2025, 4, 1), date_to=dt.date(2025, 3, 1))
    with pytest.raises(Invalid):
        reports.complaint_report_sla(actor=org.admin, group_by="colour", **SPRING)


def test_default_range_is_the_last_twelve_calendar_months():
    assert reports.report_range(today=dt.date(2025, 6, 15)) == (dt.date(2024, 7, 1), dt.date(2025, 6, 15))
    assert reports.report_range(today=dt.date(2025, 12, 1)) == (dt.date(2025, 1, 1), dt.date(2025, 12, 1))
    with pytest.raises(BadRequest):  # the end of time is bad input, not a 500
        reports.report_range(date_to=dt.date(9999, 12, 31))


def test_finance_and_the_auditor_may_not_read_complaint_reports(org):
    for user in (org.finance, org.auditor):
        with pytest.raises(Forbidden):
            reports.complaint_report_causes(actor=user)
    assert reports.complaint_report_causes(actor=org.analyst)["total"] == 0


# ---------------------------------------------------------------- Pareto of categories

def test_categories_are_sorted_by_count_with_the_cumulative_share_and_the_80_percent_line(org):
    for category, n in (("物流", 5), ("质量", 3), ("态度", 1), ("", 1)):
        for _ in range(n):
            make(org.agent, at(2025, 3, 3, 10), category=category)
    report = reports.complaint_report_causes(actor=org.agent, **SPRING)
    assert report["total"] == 10
    assert [(r["key"], r["count"], r["pct"], r["cumulative_pct"], r["vital_few"]) for r in report["rows"]] == [
        ("物流", 5, 50.0, 50.0, True),
        ("质量", 3, 30.0, 80.0, True),
        ("", 1, 10.0, 90.0, False),  # not categorised
        ("态度", 1, 10.0, 100.0, False),
    ]


# ---------------------------------------------------------------- repeat complainers

def test_repeat_complainers_by_customer_or_by_phone_with_the_masked_number(org):
    from kehu.customers.services import customer_create

    huaxing = customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"}).pk
    once = customer_create(actor=org.rep, data={"name": "江苏恒远纺织有限公司"}).pk
    for day in (3, 4, 5):
        make(org.agent, at(2025, 3, day, 10), customer=huaxing)
    make(org.agent, at(2025, 3, 6, 10), customer=once)
    make(org.agent, at(2025, 3, 7, 10), name="李女士", phone="13900139000")
    last = make(org.agent, at(2025, 3, 8, 10), name="李女士", phone="13900139000")
    make(org.agent, at(2025, 3, 9, 10), name="王先生", phone="13800138000")
    make(org.agent, at(2025, 3, 9, 11), name="匿名", phone="")  # nothing to recognise them by

    rows = reports.complaint_report_repeat(actor=org.agent, **SPRING)["rows"]
    assert [(r["customer"], r["name"], r["phone"], r["count"]) for r in rows] == [
        (huaxing, "浙江华星石化有限公司", "", 3),
        (None, "李女士", "139****9000", 2),
    ]
    assert rows[0]["last_received_at"] == at(2025, 3, 5, 10)
    assert rows[1]["last_complaint"] == last.pk and rows[1]["last_tracking_no"] == last.tracking_no
    assert all("hash" not in key for r in rows for key in r)
    assert len(reports.complaint_report_repeat(actor=org.agent, min_count=1, **SPRING)["rows"]) == 4


# ---------------------------------------------------------------- handling time

def test_handling_time_counts_working_days_across_national_day_and_the_make_up_saturday(org):
    """Received 30 Sep, answered 9 Oct 2025: 1 working day (1–8 Oct are holidays). Received 9 Oct,
    answered Monday 13 Oct: 3 (Saturday 11 Oct is a make-up working day)."""
    make(org.agent, at(2025, 9, 30, 10), answered=at(2025, 10, 9, 16))
    make(org.agent, at(2025, 9, 29, 9), answered=at(2025, 9, 30, 9))
    make(org.agent, at(2025, 10, 9, 9), severity="major", answered=at(2025, 10, 13, 9))
    make(org.agent, at(2025, 10, 9, 10), severity="major", answered=at(2025, 10, 9, 17))
    make(org.agent, at(2025, 10, 9, 11), severity="serious")  # not answered: not counted
    report = reports.complaint_report_handling_time(actor=org.agent, date_from=dt.date(2025, 9, 1),
                                                    date_to=dt.date(2025, 10, 31))
    assert [(r["key"], r["answered"], r["avg_working_days"], r["median_working_days"]) for r in report["rows"]] == [
        ("general", 2, 1.0, 1.0),
        ("major", 2, 1.5, 1.5),
    ]
    assert (report["overall"]["answered"], report["overall"]["avg_working_days"],
            report["overall"]["median_working_days"], report["truncated"]) == (4, 1.25, 1.0, False)


# ---------------------------------------------------------------- API

def test_report_endpoints_answer_in_scope(org, spring, api_client):
    api = api_client.as_user(org.rep)
    r = api.get("/complaints/reports/sla", {"group_by": "severity", **SPRING_Q})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["date_from"] == "2025-03-01" and [row["key"] for row in body["rows"]] == ["major"]
    assert body["rows"][0]["total"] == 2
    for path in ("causes", "repeat", "handling-time"):
        r = api.get(f"/complaints/reports/{path}", SPRING_Q)
        assert r.status_code == 200, (path, r.content)
    assert api.get("/complaints/reports/handling-time", {"from": "2025-03-01"}).json()["overall"]["answered"] == 1
    assert api_client.as_user(org.analyst).get("/complaints/reports/causes", SPRING_Q).json()["total"] == 6


def test_report_endpoints_refuse_anonymous_roles_without_the_permission_and_bad_input(org, api_client):
    for path in ("sla", "causes", "repeat", "handling-time"):
        assert api_client.as_user(None).get(f"/complaints/reports/{path}").status_code == 401
        r = api_client.as_user(org.finance).get(f"/complaints/reports/{path}")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    api = api_client.as_user(org.agent)
    r = api.get("/complaints/reports/sla", {"group_by": "colour"})
    assert r.status_code == 422 and "group_by" in r.json()["error"]["fields"]
    r = api.get("/complaints/reports/causes", {"from": "2025-05-01", "to": "2025-04-01"})
    assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["to"]
    assert api.get("/complaints/reports/repeat", {"from": "yesterday"}).status_code == 422
    assert api.get("/complaints/reports/repeat", {"min_count": 0}).status_code == 422


# ---------------------------------------------------------------- page

def test_reports_page_shows_the_four_tables_and_is_linked_from_the_board(org, spring, client):
    client.force_login(org.agent)
    assert 'href="/complaints/reports/"' in client.get("/complaints/").content.decode()
    r = client.get("/complaints/reports/", {"date_from": "2025-03-01", "date_to": "2025-05-31", "group_by": "month"})
    assert r.status_code == 200
    html = r.content.decode()
    for testid in ("report-sla", "report-causes", "report-handling", "report-repeat"):
        assert f'data-testid="{testid}"' in html
    assert 'data-key="2025-03"' in html and 'data-key="2025-05"' in html
    assert 'style="width: 50.0%"' in html  # the compliance bar of March


def test_reports_page_defaults_refusals_and_reversed_range(org, client, django_assert_max_num_queries):
    client.force_login(org.analyst)
    with django_assert_max_num_queries(20):
        assert client.get("/complaints/reports/").status_code == 200
    r = client.get("/complaints/reports/", {"date_from": "2025-05-01", "date_to": "2025-04-01"})
    assert r.status_code == 400
    client.force_login(org.finance)
    assert client.get("/complaints/reports/").status_code == 403
    client.logout()
    assert client.get("/complaints/reports/").status_code == 302
