"""Customer care: reminders only where consent to contact exists (withheld with the reason otherwise), once
per occasion however often the daily task runs, holidays from the working calendar, new-product notices to
key accounts; the calendar from the providers, the .ics feed that validates and revocable tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.customers import services as customer_services
from kehu.customers.tests.factories import contact, org_customer
from kehu.engagement.care import services
from kehu.engagement.care.models import CalendarToken, CareReminder
from kehu.notifications.models import Notification
from kehu.workbench.registry import todo_providers
from kehu.workdays.models import CalendarDay

TODAY = dt.date(2027, 1, 20)


@pytest.fixture
def people(org):
    hz = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    wang = contact(org.rep, hz, "王强", role="decision_maker", birthday="1978-01-24")
    li = contact(org.rep, hz, "李娜", birthday="1985-01-25")  # no consent of her own
    customer_services.consent_create(actor=org.rep, customer_id=hz.pk, data={
        "contact": wang.pk, "purpose": "客户关怀与业务联系", "channel": "纸质同意书", "evidence": "签字扫描件"})
    north = org_customer(org.north_rep, "北京燕山机械有限公司", serial=3)
    zhao = contact(org.north_rep, north, "赵磊", birthday="1980-01-22")
    return {"hz": hz, "wang": wang, "li": li, "north": north, "zhao": zhao}


def test_birthday_reminders_only_with_consent_and_the_reason_shown_otherwise(org, people,
                                                                         django_capture_on_commit_callbacks):
    """Care contact needs the person's consent (PIPL): no consent → no reminder, withheld as no_consent."""
    with django_capture_on_commit_callbacks(execute=True):
        services.care_reminders_generate(today=TODAY)
    wang = CareReminder.objects.get(contact=people["wang"])
    assert (wang.kind, wang.state, wang.occasion_date, wang.owner_id) == ("birthday", "pending", dt.date(2027, 1, 24), org.rep.pk)
    assert wang.remind_on == TODAY  # 7 days ahead, not before today
    li = CareReminder.objects.get(contact=people["li"])
    assert (li.state, li.reason) == ("withheld", "no_consent")
    assert CareReminder.objects.get(contact=people["zhao"]).reason == "no_consent"
    # the account manager is notified of the pending ones only, and has them as to-dos
    assert Notification.objects.filter(user=org.rep).count() == 1
    provider = next(p for p in todo_providers() if p.key == "care")
    todos = provider.fn(org.rep, today=TODAY, now=timezone.now(), limit=10)
    assert [t.title for t in todos] == [wang.title]


def test_a_contract_basis_or_a_withdrawn_consent_is_no_consent_to_care_contact(org, people):
    customer_services.consent_create(actor=org.rep, customer_id=people["hz"].pk, data={
        "contact": people["li"].pk, "purpose": "合同履行与业务联系", "channel": "合同", "basis": "contract"})
    services.care_reminders_generate(today=TODAY)
    assert CareReminder.objects.get(contact=people["li"]).state == "withheld"
    consent = people["wang"].consents.get(purpose="客户关怀与业务联系")
    customer_services.consent_withdraw(actor=org.rep, consent_id=consent.pk)
    services.care_reminders_generate(today=TODAY)
    assert CareReminder.objects.get(contact=people["wang"]).reason == "no_consent"


def test_rerunning_the_daily_task_makes_no_duplicates(org, people, django_capture_on_commit_callbacks):
    """Once per occasion: the unique key (kind, customer, subject, date) and the run agree."""
    from kehu.engagement.care.tasks import care_reminders_daily

    with django_capture_on_commit_callbacks(execute=True):
        first = services.care_reminders_generate(today=TODAY)
        again = services.care_reminders_generate(today=TODAY)
        later = services.care_reminders_generate(today=TODAY + dt.timedelta(days=2))
        care_reminders_daily.call_local()  # the periodic task itself (today's date: other occasions, if any)
    assert first["created"] == 1 and again == {"created": 0, "withheld": 0, "updated": 0}
    assert later["created"] == 0
    assert CareReminder.objects.filter(occasion_date__lt=dt.date(2027, 2, 1)).count() == 3
    assert Notification.objects.filter(user=org.rep).count() == 1


def test_holiday_greetings_come_from_the_working_calendar(org, people, settings):
    """春节 as the holiday table has it (an admin's edit included), reminded 14 days before its first day."""
    CalendarDay.objects.filter(date__gte=dt.date(2027, 1, 1), date__lte=dt.date(2027, 3, 1)).delete()
    for i in range(8):
        CalendarDay.objects.create(date=dt.date(2027, 2, 6) + dt.timedelta(days=i), kind="holiday", name="春节",
                                   source="company")
    services.care_reminders_generate(today=dt.date(2027, 1, 20))
    assert not CareReminder.objects.filter(kind="holiday").exists()  # 17 days ahead: not yet
    services.care_reminders_generate(today=dt.date(2027, 1, 24))
    rows = CareReminder.objects.filter(kind="holiday")
    # no grades recorded: every customer counts as key; one reminder per customer for the first day only
    assert {(r.customer_id, r.occasion_date, r.subject, r.state) for r in rows} == {
        (people["hz"].pk, dt.date(2027, 2, 6), "holiday:春节", "pending"),
        (people["north"].pk, dt.date(2027, 2, 6), "holiday:春节", "withheld")}
    settings.KEHU_CARE = {"holidays": ["中秋"]}
    CareReminder.objects.all().delete()
    services.care_reminders_generate(today=dt.date(2027, 1, 24))
    assert not CareReminder.objects.filter(kind="holiday").exists()


def test_new_product_notice_reaches_key_accounts_in_scope_with_consent(org, people):
    notice, result = services.product_notice_create(actor=org.manager, data={
        "title": "高熔指聚丙烯 PP-H1800", "product_line": "聚丙烯", "launch_date": (timezone.localdate() + dt.timedelta(days=5)).isoformat()})
    assert result == {"created": 1, "withheld": 0, "updated": 0}  # 华北区 is outside the manager's scope
    assert CareReminder.objects.get(notice=notice).customer_id == people["hz"].pk
    from kehu.errors import Forbidden, Invalid
    with pytest.raises(Forbidden):
        services.product_notice_create(actor=org.rep, data={"title": "x", "launch_date": "2030-01-01"})
    n = CareReminder.objects.count()
    with pytest.raises(Invalid):
        services.product_notice_create(actor=org.manager, data={"title": "", "launch_date": "昨天"})
    assert CareReminder.objects.count() == n


def test_done_and_skip_by_the_owner_in_scope(org, people, api_client):
    services.care_reminders_generate(today=TODAY)
    r = CareReminder.objects.get(contact=people["wang"])
    assert api_client.as_user(None).post(f"/care/reminders/{r.pk}/done").status_code == 401
    assert api_client.as_user(org.north_rep).post(f"/care/reminders/{r.pk}/done").status_code == 404
    assert api_client.as_user(org.finance).get("/care/reminders").status_code == 403
    assert api_client.as_user(org.rep2).post(f"/care/reminders/{r.pk}/done").status_code == 404
    assert api_client.as_user(org.rep).post(f"/care/reminders/{r.pk}/done", {"note": "已送生日蛋糕"}).json()["state"] == "done"
    assert api_client.as_user(org.rep).post(f"/care/reminders/{r.pk}/skip").status_code == 409
    withheld = CareReminder.objects.get(contact=people["li"])
    assert api_client.as_user(org.rep).post(f"/care/reminders/{withheld.pk}/done").status_code == 409
    items = api_client.as_user(org.manager).get("/care/reminders").json()["items"]
    assert {i["contact"] for i in items} == {people["wang"].pk, people["li"].pk}


def test_care_profile_opt_out_withholds_pending_reminders(org, people, client):
    services.care_reminders_generate(today=TODAY)
    client.force_login(org.rep)
    r = client.post(reverse("care:profile", args=[people["wang"].pk]), {"preferences": "喜欢龙井茶", "opt_out": "on"})
    assert r.status_code == 302
    assert CareReminder.objects.get(contact=people["wang"]).reason == "opted_out"
    client.force_login(org.north_rep)
    assert client.get(reverse("care:profile", args=[people["wang"].pk])).status_code == 404
    client.force_login(org.rep)


def _ics_events(body: bytes):
    from icalendar import Calendar

    cal = Calendar.from_ical(body)
    return cal, list(cal.walk("VEVENT"))


def test_ics_feed_validates_holds_only_the_owners_data_and_revoked_tokens_fail(org, people, client):
    from kehu.engagement.symposia import services as symposia

    today = timezone.localdate()
    contact(org.rep, people["hz"], "周杰", birthday=(today + dt.timedelta(days=3)).replace(year=1980).isoformat())
    customer_services.consent_create(actor=org.rep, customer_id=people["hz"].pk, data={
        "contact": people["hz"].contacts.get(name="周杰").pk, "purpose": "节日问候", "channel": "微信"})
    services.care_reminders_generate()
    s = symposia.symposium_create(actor=org.manager, data={
        "title": "华东区客户座谈会", "starts_at": (timezone.now() + dt.timedelta(days=10)).isoformat(),
        "place": "杭州", "topics": ["market"]})
    symposia.symposium_invite(actor=org.manager, symposium_id=s.pk, customers=[people["hz"].pk])
    secret = services.calendar_token_rotate(actor=org.rep)
    assert CalendarToken.objects.get(user=org.rep).token_hash != secret  # only the hash is stored
    r = client.get(reverse("care:feed", args=[secret]))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    cal, events = _ics_events(r.content)
    assert str(cal["VERSION"]) == "2.0"
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids)) and f"symposium-{s.pk}@kehu" in uids
    birthday = next(e for e in events if str(e["UID"]).startswith("care-"))
    assert type(birthday.decoded("DTSTART")) is dt.date  # all-day
    assert birthday.decoded("DTEND") == birthday.decoded("DTSTART") + dt.timedelta(days=1)
    meeting = next(e for e in events if str(e["UID"]) == f"symposium-{s.pk}@kehu")
    assert isinstance(meeting.decoded("DTSTART"), dt.datetime) and meeting.decoded("DTSTART").utcoffset() == dt.timedelta(0)
    # another user's feed has none of the rep's reminders
    other = services.calendar_token_rotate(actor=org.north_rep)
    _cal, theirs = _ics_events(client.get(reverse("care:feed", args=[other])).content)
    assert not any(str(e["UID"]).startswith("care-") or str(e["UID"]).startswith("symposium-") for e in theirs)
    # rotation revokes the old URL; revocation kills the new one
    newer = services.calendar_token_rotate(actor=org.rep)
    assert client.get(reverse("care:feed", args=[secret])).status_code == 404
    assert client.get(reverse("care:feed", args=[newer])).status_code == 200
    services.calendar_token_revoke(actor=org.rep)
    assert client.get(reverse("care:feed", args=[newer])).status_code == 404
    assert client.get(reverse("care:feed", args=["x" * 43])).status_code == 404


def test_calendar_api_and_page(org, people, api_client, client):
    services.care_reminders_generate(today=timezone.localdate())
    assert api_client.as_user(None).get("/calendar/events", {"start": "2027-01-01", "end": "2027-02-01"}).status_code == 401
    r = api_client.as_user(org.rep).get("/calendar/events", {"start": "2027-01-01", "end": "2027-02-01"})
    assert r.status_code == 200
    assert api_client.as_user(org.rep).get("/calendar/events", {"start": "2027-02-01", "end": "2027-01-01"}).status_code == 400
    assert api_client.as_user(org.auditor).get("/calendar/events", {"start": "2027-01-01", "end": "2027-02-01"}).json() == []
    assert api_client.as_user(org.rep).post("/calendar/token").status_code == 201
    assert api_client.as_user(org.rep).get("/calendar/token").json()["active"] is True
    assert api_client.as_user(org.rep).delete("/calendar/token").status_code == 204
    assert client.get(reverse("care:calendar")).status_code == 302
    client.force_login(org.rep)
    for view in ("month", "agenda"):
        assert client.get(reverse("care:calendar"), {"view": view}).status_code == 200
    assert client.get(reverse("care:reminders")).status_code == 200
    client.force_login(org.finance)
    assert client.get(reverse("care:reminders")).status_code == 403
    assert client.get(reverse("care:calendar")).status_code == 200  # everyone has a personal calendar
