"""Care and calendar pages: upcoming care reminders (done / skip, the withheld ones with the reason), new-
product notices and the manual run for those who manage care, a contact's care profile, the personal
calendar (month grid and agenda) with its secret feed URL, and the feed itself (.ics, no login: the
secret in the URL is the credential). Parse → call a service/selector → render."""

from __future__ import annotations

import calendar as pycal
import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.engagement.calendar import calendar_providers
from kehu.engagement.care import agenda, selectors, services
from kehu.engagement.care.models import ReminderKind, ReminderState
from kehu.errors import DomainError
from kehu.web import page

PAGE_SIZE = 50


@page
@require_http_methods(["GET"])
def reminders(request):
    selectors.require_read(request.user)
    today = timezone.localdate()
    kind = request.GET.get("kind") if request.GET.get("kind") in ReminderKind.values else None
    mine = request.GET.get("all") != "1"
    upcoming = selectors.reminder_list(actor=request.user, state=ReminderState.PENDING, kind=kind, mine=mine,
                                       date_from=today - dt.timedelta(days=int(selectors.config()["grace_days"])),
                                       limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None)
    withheld = selectors.reminder_list(actor=request.user, state=ReminderState.WITHHELD, kind=kind, mine=mine,
                                       date_from=today, limit=20)
    settled = selectors.reminder_list(actor=request.user, kind=kind, mine=mine, date_from=today - dt.timedelta(days=30),
                                      date_to=today + dt.timedelta(days=60), ordering="-occasion_date", limit=20)
    return render(request, "care/reminders.html", {
        "upcoming": upcoming.items, "next": upcoming.next, "today": today,
        "withheld": withheld.items, "settled": [r for r in settled.items if r.state in ("done", "skipped")],
        "kinds": ReminderKind.choices, "kind": kind, "mine": mine, "can_manage": selectors.can_manage(request.user),
        "notices": selectors.notice_list(actor=request.user, limit=5), "lead": selectors.config()["lead_days"]})


@page
@require_POST
def reminder_settle(request, reminder_id: int, action: str):
    fn = {"done": services.reminder_done, "skip": services.reminder_skip}.get(action)
    if fn is None:
        raise Http404
    try:
        fn(actor=request.user, reminder_id=reminder_id, note=request.POST.get("note", ""))
        messages.success(request, _("Reminder updated."))
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    return redirect(reverse("care:reminders") + (f"?{request.GET.urlencode()}" if request.GET else ""))


@page
@require_POST
def run(request):
    result = services.care_reminders_generate(actor=request.user)
    messages.success(request, _("%(created)d reminders made, %(withheld)d withheld for lack of consent.") % result)
    return redirect("care:reminders")


@page
@require_POST
def notice_create(request):
    try:
        _notice, result = services.product_notice_create(actor=request.user, data={
            "title": request.POST.get("title", ""), "product_line": request.POST.get("product_line", ""),
            "summary": request.POST.get("summary", ""), "launch_date": request.POST.get("launch_date", "")})
        msg = _("Notice sent: %(created)d reminders for the account managers, %(withheld)d withheld for lack of consent.")  # noqa: E501
        messages.success(request, msg % result)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("care:reminders")


@page
@require_http_methods(["GET", "POST"])
def profile(request, contact_id: int):
    contact, care = selectors.care_profile_get(actor=request.user, contact_id=contact_id)
    status = 200
    if request.method == "POST":
        data = {"preferences": request.POST.get("preferences", ""), "opt_out": request.POST.get("opt_out") == "on"}
        if request.POST.get("birthday", "").strip():
            data["birthday"] = request.POST["birthday"].strip()
        try:
            services.care_profile_set(actor=request.user, contact_id=contact.pk, data=data)
            messages.success(request, _("Care profile saved."))
            return redirect("care:profile", contact.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            messages.error(request, exc.message)
            status = exc.status
    return render(request, "care/profile.html", {"contact": contact, "care": care}, status=status)


def _month(value: str | None, today: dt.date) -> dt.date:
    try:
        y, m = (int(x) for x in (value or "").split("-"))
        return dt.date(y, m, 1)
    except (ValueError, TypeError):
        return today.replace(day=1)


@page
@require_http_methods(["GET"])
def calendar(request):
    today = timezone.localdate()
    month = _month(request.GET.get("month"), today)
    view = request.GET.get("view") if request.GET.get("view") in ("month", "agenda") else "month"
    weeks = pycal.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    start, end = weeks[0][0], weeks[-1][-1] + dt.timedelta(days=1)
    if view == "agenda":
        start, end = today, today + dt.timedelta(days=30)
    events = agenda.events_for(request.user, start=start, end=end)
    by_day: dict[dt.date, list] = {}
    for e in events:
        by_day.setdefault(agenda.event_day(e), []).append(e)
    grid = [[{"day": d, "events": by_day.get(d, []), "other": d.month != month.month, "today": d == today}
             for d in week] for week in weeks]
    prev_month = (month - dt.timedelta(days=1)).replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    token = selectors.calendar_token_live(actor=request.user)
    new_secret = request.session.pop("calendar_feed_secret", None)
    feed_url = request.build_absolute_uri(reverse("care:feed", args=[new_secret])) if new_secret else None
    return render(request, "care/calendar.html", {
        "view": view, "month": month, "grid": grid, "today": today,
        "agenda": [(day, [(e, e.start if isinstance(e.start, dt.datetime) else None) for e in evs])
                   for day, evs in sorted(by_day.items())],
        "prev": prev_month.strftime("%Y-%m"), "next": next_month.strftime("%Y-%m"),
        "kinds": [(p.key, p.label) for p in calendar_providers()], "token": token, "feed_url": feed_url,
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]})


@page
@require_POST
def token(request):
    if request.POST.get("action") == "revoke":
        services.calendar_token_revoke(actor=request.user)
        messages.success(request, _("The calendar feed URL is revoked: calendars using it stop updating."))
    else:
        # Shown once on the next page (only the hash is kept), never put in a URL or a log.
        request.session["calendar_feed_secret"] = services.calendar_token_rotate(actor=request.user)
        messages.success(request, _("A new calendar feed URL is ready; the previous one no longer works."))
    return redirect(reverse("care:calendar") + "#feed")


@require_http_methods(["GET", "HEAD"])
def feed(request, secret: str):
    """The .ics of the token's owner: their own scoped events from 30 days back to 180 days ahead."""
    user = services.calendar_token_user(secret)
    if user is None:
        raise Http404
    start, end = agenda.feed_window(timezone.localdate())
    body = agenda.to_ical(agenda.events_for(user, start=start, end=end), name=_("Kehu · %(u)s") % {"u": user},
                          base_url=request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="kehu.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["Referrer-Policy"] = "no-referrer"
    return response
