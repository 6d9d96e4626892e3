"""The holiday table: seeded by the migration, edited by an administrator (audited), read through a
cached calendar that every edit invalidates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from kehu.audit.models import AuditEntry
from kehu.errors import Forbidden, Invalid, NotFound
from kehu.workdays import selectors, services, statutory
from kehu.workdays.models import CalendarDay, CalendarVersion, DayKind, DaySource

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def due(received: dt.datetime, days: int) -> dt.datetime:
    return selectors.calendar_get().sla_due(received, days, selectors.sla_rule()).astimezone(SH)


def test_migration_loads_every_statutory_year_chinese_calendar_knows(db):
    assert selectors.years_loaded() == statutory.statutory_years()
    national_day = CalendarDay.objects.get(date=dt.date(2025, 10, 1))
    assert (national_day.kind, national_day.name, national_day.source) == ("holiday", "国庆节", "statutory")
    makeup = CalendarDay.objects.get(date=dt.date(2025, 10, 11))
    assert makeup.kind == DayKind.MAKEUP_WORKDAY and makeup.name == "国庆节"


def test_issue_example_holds_on_the_seeded_table(db):
    """General (1 working day) due 2025-10-09 24:00, major (3) due 2025-10-11 24:00, from 09-30 10:00."""
    received = dt.datetime(2025, 9, 30, 10, tzinfo=SH)
    assert due(received, 1) == dt.datetime(2025, 10, 10, 0, tzinfo=SH)
    assert due(received, 3) == dt.datetime(2025, 10, 12, 0, tzinfo=SH)


def test_seed_is_idempotent_and_audited_only_when_it_changes_something(org):
    assert services.calendar_seed(actor=org.admin) == {"years": statutory.statutory_years(), "created": 0,
                                                       "updated": 0}
    assert not AuditEntry.objects.filter(action="workdays.seed").exists()
    CalendarDay.objects.filter(date__year=2024).delete()
    CalendarDay.objects.filter(date=dt.date(2025, 10, 1)).update(name="改错的名字")
    result = services.calendar_seed(actor=org.admin)
    assert result["created"] == len(statutory.statutory_days([2024])) and result["updated"] == 1
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 1)).name == "国庆节"
    entry = AuditEntry.objects.get(action="workdays.seed")
    assert entry.actor == org.admin and entry.changes["created"] == result["created"]


def test_seed_keeps_the_companys_own_days(org):
    services.day_set(actor=org.admin, date=dt.date(2025, 10, 11), kind=DayKind.CLOSURE, name="公司团建")
    services.calendar_seed(actor=org.admin)
    day = CalendarDay.objects.get(date=dt.date(2025, 10, 11))
    assert (day.kind, day.source) == (DayKind.CLOSURE, DaySource.COMPANY)


def test_seed_refuses_a_year_chinese_calendar_does_not_know(org):
    with pytest.raises(Invalid) as exc:
        services.calendar_seed(actor=org.admin, years=[statutory.statutory_years()[-1] + 1])
    assert "years" in exc.value.fields


def test_workdays_seed_command_loads_missing_years(db, capsys):
    CalendarDay.objects.filter(date__year=2026).delete()
    call_command("workdays_seed")
    assert "added" in capsys.readouterr().out
    assert 2026 in selectors.years_loaded()


def test_company_closure_moves_the_deadline_and_is_audited(org):
    """Closing on 2025-10-09 (company-wide) pushes a general complaint from 10-09 24:00 to 10-10 24:00."""
    received = dt.datetime(2025, 9, 30, 10, tzinfo=SH)
    assert due(received, 1).date() == dt.date(2025, 10, 10)
    day, created = services.day_set(actor=org.admin, date=dt.date(2025, 10, 9), kind=DayKind.CLOSURE,
                                    name="公司年会", note="全员停工一天")
    assert created and day.source == DaySource.COMPANY
    assert due(received, 1) == dt.datetime(2025, 10, 11, 0, tzinfo=SH)
    entry = AuditEntry.objects.get(action="workdays.day_create")
    assert entry.actor == org.admin and entry.object_id == str(day.pk)
    assert entry.changes["kind"] == [None, "closure"] and entry.changes["date"] == "2025-10-09"


def test_replacing_a_day_is_audited_with_the_difference(org):
    services.day_set(actor=org.admin, date=dt.date(2025, 10, 11), kind=DayKind.CLOSURE, name="公司团建")
    entry = AuditEntry.objects.get(action="workdays.day_update")
    assert entry.changes["kind"] == ["makeup_workday", "closure"]
    assert entry.changes["source"] == ["statutory", "company"]
    # the same values again: nothing to record
    services.day_set(actor=org.admin, date=dt.date(2025, 10, 11), kind=DayKind.CLOSURE, name="公司团建")
    assert AuditEntry.objects.filter(action="workdays.day_update").count() == 1


def test_deleting_a_makeup_day_makes_it_a_plain_saturday_again(org):
    """Without the 10-11 make-up day a major complaint from 09-30 is due Monday 10-13 24:00."""
    received = dt.datetime(2025, 9, 30, 10, tzinfo=SH)
    services.day_delete(actor=org.admin, date=dt.date(2025, 10, 11))
    assert due(received, 3) == dt.datetime(2025, 10, 14, 0, tzinfo=SH)
    entry = AuditEntry.objects.get(action="workdays.day_delete")
    assert entry.changes["kind"] == "makeup_workday" and entry.changes["date"] == "2025-10-11"


def test_deleting_a_day_that_is_not_there_is_not_found(org):
    with pytest.raises(NotFound):
        services.day_delete(actor=org.admin, date=dt.date(2025, 3, 12))


@pytest.mark.parametrize("role", ["executive", "manager", "rep", "agent", "auditor"])
def test_only_an_administrator_edits_the_calendar(org, role):
    user = org.users[role]
    with pytest.raises(Forbidden):
        services.day_set(actor=user, date=dt.date(2025, 3, 12), kind=DayKind.CLOSURE, name="停电")
    with pytest.raises(Forbidden):
        services.day_delete(actor=user, date=dt.date(2025, 10, 1))
    with pytest.raises(Forbidden):
        services.calendar_seed(actor=user)
    assert not CalendarDay.objects.filter(date=dt.date(2025, 3, 12)).exists()


def test_a_day_needs_a_name_and_a_known_kind(org):
    with pytest.raises(Invalid) as exc:
        services.day_set(actor=org.admin, date=dt.date(2025, 3, 12), kind=DayKind.CLOSURE, name="  ")
    assert "name" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        services.day_set(actor=org.admin, date=dt.date(2025, 3, 12), kind="party", name="聚餐")
    assert "kind" in exc.value.fields


def test_database_refuses_unknown_kind_and_duplicate_date(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarDay.objects.create(date=dt.date(2025, 3, 12), kind="party", name="聚餐")
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarDay.objects.create(date=dt.date(2025, 10, 1), kind="closure", name="重复")


def test_an_edit_in_another_process_invalidates_the_cached_calendar(org, django_assert_num_queries):
    """Another process writes the table and bumps the version row: our next read rebuilds."""
    first = selectors.calendar_get()
    with django_assert_num_queries(1):  # only the version check
        assert selectors.calendar_get() is first
    CalendarDay.objects.create(date=dt.date(2025, 3, 12), kind=DayKind.CLOSURE, name="停电")
    assert selectors.calendar_get() is first  # no bump yet: the change is not announced
    CalendarVersion.objects.filter(pk=1).update(token="written-by-another-process")
    rebuilt = selectors.calendar_get()
    assert rebuilt is not first and not rebuilt.is_working_day(dt.date(2025, 3, 12))


def test_calendar_works_without_a_version_row(db):
    CalendarVersion.objects.all().delete()
    assert selectors.calendar_get().add_working_days(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)


@pytest.mark.parametrize(("today", "warn_days", "missing"), [
    (dt.date(2026, 11, 25), 92, 2027),  # the coming year is close and not loaded
    (dt.date(2026, 6, 1), 92, None),  # too early to expect next year's schedule
    (dt.date(2026, 6, 1), 366, 2027),  # a deployment that wants the warning all year
    (dt.date(2027, 3, 1), 92, 2027),  # this year itself is missing
])
def test_coming_year_without_statutory_schedule_is_reported(db, settings, today, warn_days, missing):
    settings.KEHU_WORKDAY_WARN_DAYS_AHEAD = warn_days
    CalendarDay.objects.filter(date__year__gte=2027).delete()
    assert selectors.coming_year_missing(today) == missing


def test_a_statutory_day_entered_by_hand_marks_its_year_loaded(org):
    """Before chinese-calendar knows a year, an administrator can enter its schedule as statutory days."""
    year = statutory.statutory_years()[-1] + 1
    assert year not in selectors.years_loaded()
    assert selectors.coming_year_missing(dt.date(year - 1, 11, 25)) == year
    services.day_set(actor=org.admin, date=dt.date(year, 1, 1), kind=DayKind.HOLIDAY, name="元旦",
                     source=DaySource.STATUTORY)
    assert year in selectors.years_loaded()
    assert selectors.coming_year_missing(dt.date(year - 1, 11, 25)) is None
