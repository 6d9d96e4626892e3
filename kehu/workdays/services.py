"""Every write to the holiday table. Each takes the acting user first, runs in one transaction, bumps
the calendar version (so every process rebuilds its cached calendar) and writes one audit entry."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.errors import Forbidden, Invalid, NotFound, from_django_validation
from kehu.workdays import statutory
from kehu.workdays.models import CalendarDay, CalendarVersion, DaySource

WARNING_CACHE_KEY = "kehu:workdays:warning"
_OBJECT_TYPE = CalendarDay._meta.label_lower


def _require(actor) -> None:
    if actor is not None and not actor.has_kehu_perm(Perm.CALENDAR_MANAGE):
        raise Forbidden(_("Only an administrator may edit the working-day calendar."))


def calendar_version_bump() -> str:
    """A new version token, in the caller's transaction. This process's banner cache is dropped at
    once; other processes' expires within its short timeout."""
    token = uuid.uuid4().hex
    if not CalendarVersion.objects.filter(pk=1).update(token=token):
        CalendarVersion.objects.create(pk=1, token=token)
    # Now (this request's next page reads its own write) and after commit (a reader in between may
    # have cached the old answer).
    cache.delete(WARNING_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(WARNING_CACHE_KEY))
    return token


def seed_rows(model, days: list[statutory.StatutoryDay], *, overwrite_statutory: bool) -> tuple[int, int]:
    """Insert ``days`` into ``model`` (the live model or a migration's historical one); return
    (created, updated). A company row on the same date is the admin's decision and is kept."""
    existing = {row.date: row for row in model.objects.filter(date__in=[d.date for d in days])}
    new, changed = [], []
    for day in days:
        row = existing.get(day.date)
        if row is None:
            new.append(model(date=day.date, kind=day.kind, name=day.name, note=day.note,
                             source=DaySource.STATUTORY))
        elif overwrite_statutory and row.source == DaySource.STATUTORY and (
                row.kind, row.name, row.note) != (day.kind, day.name, day.note):
            row.kind, row.name, row.note = day.kind, day.name, day.note
            changed.append(row)
    model.objects.bulk_create(new, batch_size=500)
    if changed:
        model.objects.bulk_update(changed, ["kind", "name", "note"], batch_size=500)
    return len(new), len(changed)


@transaction.atomic
def calendar_seed(*, actor, years: list[int] | None = None) -> dict:
    """Load the statutory schedule of ``years`` (default: every year chinese-calendar knows). Idempotent;
    corrects statutory rows that changed, never touches the company's own rows."""
    _require(actor)
    known = statutory.statutory_years()
    if years is not None:
        unknown = sorted(set(years) - set(known))
        if unknown:
            raise Invalid(
                _("No statutory schedule is known for %(years)s (the installed chinese-calendar covers "
                  "%(first)d–%(last)d).") % {"years": "、".join(map(str, unknown)), "first": known[0],
                                             "last": known[-1]},
                fields={"years": [_("Unknown year.")]})
    years = sorted(set(known if years is None else years))
    created, updated = seed_rows(CalendarDay, statutory.statutory_days(years), overwrite_statutory=True)
    result = {"years": years, "created": created, "updated": updated}
    if created or updated:
        calendar_version_bump()
        audit_record(actor=actor, action="workdays.seed", object_type=_OBJECT_TYPE,
                     object_repr=_("Statutory schedule %(first)d–%(last)d") % {"first": years[0], "last": years[-1]}
                     if years else "", changes=result)
    return result


@transaction.atomic
def day_set(*, actor, date: dt.date, kind: str, name: str, note: str = "",
            source: str = DaySource.COMPANY) -> tuple[CalendarDay, bool]:
    """Add or replace the special day on ``date`` (a company closure, a holiday or a make-up working
    day); returns (day, created)."""
    _require(actor)
    name, note = (name or "").strip(), (note or "").strip()
    row = CalendarDay.objects.select_for_update().filter(date=date).first()
    before = {"kind": row.kind, "name": row.name, "note": row.note, "source": row.source} if row else {}
    created = row is None
    row = row or CalendarDay(date=date)
    row.kind, row.name, row.note, row.source = kind, name, note, source
    try:
        row.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise from_django_validation(exc) from exc
    after = {"kind": kind, "name": name, "note": note, "source": source}
    if before == after:
        return row, False
    row.save()
    calendar_version_bump()
    changes = {"date": date.isoformat(), **{k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}}
    audit_record(actor=actor, action="workdays.day_create" if created else "workdays.day_update", obj=row,
                 changes=changes)
    return row, created


@transaction.atomic
def day_delete(*, actor, date: dt.date) -> None:
    """Remove the special day on ``date``: it follows the weekend rule again."""
    _require(actor)
    row = CalendarDay.objects.select_for_update().filter(date=date).first()
    if row is None:
        raise NotFound(_("No special day on %(date)s.") % {"date": date.isoformat()})
    snapshot = {"date": date.isoformat(), "kind": row.kind, "name": row.name, "note": row.note,
                "source": row.source}
    audit_record(actor=actor, action="workdays.day_delete", obj=row, changes=snapshot)
    row.delete()
    calendar_version_bump()
