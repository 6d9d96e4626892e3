"""The working-day calendar page: everyone reads a year's special days; administrators add, replace
and delete days and load the statutory schedule. Parse → call a service/selector → render."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.roles import Perm
from kehu.errors import BadRequest, DomainError, Forbidden
from kehu.web import form_errors_from, page
from kehu.workdays import selectors, services
from kehu.workdays.forms import DayForm, YearForm


def _require_manage(request) -> None:
    if not request.user.has_kehu_perm(Perm.CALENDAR_MANAGE):
        raise Forbidden(_("Only an administrator may edit the working-day calendar."))


def _year(request) -> int:
    form = YearForm(request.GET or request.POST or None)
    if form.is_valid() and form.cleaned_data["year"]:
        return form.cleaned_data["year"]
    return timezone.localdate().year


def _page_url(year: int) -> str:
    return f"{reverse('workdays:calendar')}?year={year}"


@page
@require_http_methods(["GET"])
def calendar_page(request):
    return _render(request, _year(request))


def _render(request, year: int, *, form: DayForm | None = None, status: int = 200) -> HttpResponse:
    days = list(selectors.day_list(actor=request.user, date_from=dt.date(year, 1, 1),
                                   date_to=dt.date(year, 12, 31)))
    loaded = selectors.years_loaded()
    can_manage = request.user.has_kehu_perm(Perm.CALENDAR_MANAGE)
    context = {
        "year": year,
        "months": [(formats.date_format(dt.date(year, m, 1), "YEAR_MONTH_FORMAT"), list(group))
                   for m, group in groupby(days, key=lambda d: d.date.month)],
        "day_count": len(days),
        "year_loaded": year in loaded,
        "years_loaded": loaded,
        "loaded_span": f"{loaded[0]}–{loaded[-1]}" if loaded else "",
        "can_manage": can_manage,
        "form": form or (DayForm(initial={"date": dt.date(year, 1, 1)}) if can_manage else None),
        "prev_url": _page_url(year - 1),
        "next_url": _page_url(year + 1),
    }
    return render(request, "workdays/calendar.html", context, status=status)


@page
@require_POST
def day_set(request):
    _require_manage(request)
    form = DayForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            day, created = services.day_set(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            status = exc.status
            form_errors_from(form, exc)
        else:
            msg = _("%(date)s “%(name)s” added.") if created else _("%(date)s “%(name)s” saved.")
            messages.success(request, msg % {"date": day.date.isoformat(), "name": day.name})
            return redirect(_page_url(day.date.year))
    year = form.cleaned_data["date"].year if form.is_valid() else _year(request)
    return _render(request, year, form=form, status=status)


@page
@require_POST
def day_delete(request, date: str):
    _require_manage(request)
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as exc:
        raise BadRequest(_("“%(value)s” is not a date.") % {"value": date}) from exc
    services.day_delete(actor=request.user, date=day)
    messages.success(request, _("%(date)s removed: it follows the weekend rule again.") % {"date": day.isoformat()})
    return redirect(_page_url(day.year))


@page
@require_POST
def calendar_seed(request):
    _require_manage(request)
    result = services.calendar_seed(actor=request.user)
    messages.success(request, _("Statutory schedule loaded for %(span)s: %(created)d days added, %(updated)d "
                                "corrected.") % {"span": f"{result['years'][0]}–{result['years'][-1]}",
                                                 "created": result["created"], "updated": result["updated"]})
    return redirect(_page_url(_year(request)))
