"""/settings/calendar/ and the missing-schedule banner."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from kehu.audit.models import AuditEntry
from kehu.workdays import statutory
from kehu.workdays.models import CalendarDay

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_banner_cache():
    cache.clear()
    yield
    cache.clear()


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


def test_everyone_reads_the_year_in_chinese(client, org):
    login(client, org, org.rep)
    r = client.get(reverse("workdays:calendar"), {"year": 2025})
    body = r.content.decode()
    assert r.status_code == 200
    assert "工作日历" in body and "国庆节" in body and "调休上班" in body
    assert 'data-date="2025-10-11"' in body
    assert 'data-testid="day-form"' not in body and 'data-testid="day-delete"' not in body


def test_page_warns_about_a_year_without_statutory_schedule(client, org):
    login(client, org, org.rep)
    year = statutory.statutory_years()[-1] + 1
    body = client.get(reverse("workdays:calendar"), {"year": year}).content.decode()
    assert 'data-testid="calendar-year-missing"' in body


def test_admin_adds_a_company_closure_through_the_form(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("workdays:day_set"), {"date": "2025-10-09", "kind": "closure", "name": "公司年会",
                                                   "source": "company", "note": ""})
    assert r.status_code == 302 and r["Location"].endswith("?year=2025")
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 9)).kind == "closure"
    assert AuditEntry.objects.filter(action="workdays.day_create", actor=org.admin).exists()
    body = client.get(r["Location"]).content.decode()
    assert "公司年会" in body and 'data-testid="day-delete"' in body


def test_form_errors_are_shown_on_the_form(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("workdays:day_set"), {"date": "2025-10-09", "kind": "closure", "name": "",
                                                   "source": "company"})
    assert r.status_code == 400
    assert r.context["form"].errors["name"]


def test_admin_deletes_a_day(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("workdays:day_delete", args=["2025-10-11"]))
    assert r.status_code == 302
    assert not CalendarDay.objects.filter(date=dt.date(2025, 10, 11)).exists()
    assert client.post(reverse("workdays:day_delete", args=["not-a-date"])).status_code == 400
    assert client.post(reverse("workdays:day_delete", args=["2025-03-12"])).status_code == 404


def test_admin_loads_the_statutory_schedule_from_the_page(client, org):
    CalendarDay.objects.filter(date__year=2024).delete()
    login(client, org, org.admin)
    r = client.post(reverse("workdays:seed"), {"year": 2024})
    assert r.status_code == 302
    assert CalendarDay.objects.filter(date__year=2024).count() == len(statutory.statutory_days([2024]))


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "agent", "auditor"])
def test_only_an_admin_edits_through_the_page(client, org, role):
    login(client, org, org.users[role])
    assert client.post(reverse("workdays:day_set"), {"date": "2025-10-09", "kind": "closure",
                                                      "name": "公司年会", "source": "company"}).status_code == 403
    assert client.post(reverse("workdays:day_delete", args=["2025-10-01"])).status_code == 403
    assert client.post(reverse("workdays:seed")).status_code == 403
    assert CalendarDay.objects.filter(date=dt.date(2025, 10, 1)).exists()


def test_anonymous_is_sent_to_login(client, db):
    r = client.get(reverse("workdays:calendar"))
    assert r.status_code == 302 and reverse("access:login") in r["Location"]


def _banner(client) -> bool:
    return 'data-testid="calendar-warning"' in client.get(reverse("workdays:calendar")).content.decode()


def test_banner_warns_admins_when_the_coming_year_has_no_statutory_schedule(client, org, settings):
    settings.KEHU_WORKDAY_WARN_DAYS_AHEAD = 366  # next year is always "coming", whatever today is
    this_year = dt.date.today().year
    CalendarDay.objects.filter(date__year__gt=this_year).delete()
    login(client, org, org.admin)
    body = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="calendar-warning"' in body
    assert f"尚未载入 {this_year + 1} 年的法定节假日安排" in body


def test_banner_is_not_shown_to_other_roles(client, org, settings):
    settings.KEHU_WORKDAY_WARN_DAYS_AHEAD = 366
    CalendarDay.objects.filter(date__year__gt=dt.date.today().year).delete()
    login(client, org, org.manager)
    assert not _banner(client)


def test_banner_disappears_once_the_coming_year_is_loaded(client, org, settings):
    settings.KEHU_WORKDAY_WARN_DAYS_AHEAD = 366
    this_year = dt.date.today().year
    CalendarDay.objects.filter(date__year__gt=this_year).delete()
    login(client, org, org.admin)
    assert _banner(client)
    r = client.post(reverse("workdays:day_set"), {"date": f"{this_year + 1}-01-01", "kind": "holiday",
                                                   "name": "元旦", "source": "statutory"})
    assert r.status_code == 302
    assert not _banner(client)


def test_banner_costs_no_query_once_cached(client, org, settings, django_assert_max_num_queries):
    login(client, org, org.admin)
    from kehu.workdays import selectors

    today = dt.date.today()
    selectors.calendar_warning(today)
    with django_assert_max_num_queries(0):
        selectors.calendar_warning(today)


def test_day_form_date_is_iso_in_the_chinese_page(client, org):
    """<input type=date> needs yyyy-MM-dd; the zh-Hans input format 2025/01/01 rendered it blank."""
    login(client, org, org.admin)
    html = client.get(reverse("workdays:calendar"), {"year": 2025}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'type="date"' in html and 'value="2025-01-01"' in html and "2025/01/01" not in html
