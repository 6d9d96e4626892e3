"""Every read of reception. Reading needs Perm.SALES_WRITE or Perm.SALES_MANAGE. Register entries are
scoped like customers by their receiving rep and department (own / department subtree / all): outside
the scope an entry does not exist (404). A duty roster is seen by the reps of its department and by
managers over it. The statistics count the scoped entries; conversion reads sales.Deal counts of the
same customers (a read, never a write)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.access.scopes import scope_q
from kehu.errors import BadRequest, Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.sales.reception.models import (
    COUNTED,
    DutyDay,
    DutyShift,
    EntryKind,
    Refusal,
    RegisterEntry,
    SourceChannel,
)

MAX_ID = 2**63
PERIODS = ("day", "week", "month")


def can_read(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.is_active
                and (actor.has_kehu_perm(Perm.SALES_WRITE) or actor.has_kehu_perm(Perm.SALES_MANAGE)))


def can_write(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.is_active and actor.has_kehu_perm(Perm.SALES_WRITE))


def can_manage(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.is_active and actor.has_kehu_perm(Perm.SALES_MANAGE))


def require_read(actor) -> None:
    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see the reception register."))


def _valid_id(pk) -> bool:
    return isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < MAX_ID


def department_in_reach(actor, department_id, *, desk: bool = False) -> bool:
    """Whether the actor works with this department's roster and desk: every department for a
    company-wide role, the subtree for a manager, one's own department for a rep. ``desk``: a record
    without a department (a customer not yet filed) is at every desk."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if department_id is None:
        return desk or actor.role_spec.scope == Scope.ALL
    scope = actor.role_spec.scope
    if scope == Scope.ALL or department_id == actor.department_id:
        return True
    return scope == Scope.SUBTREE and department_id in actor.department_subtree_ids()


# ---------------------------------------------------------------- sources and roster

def source_list(*, actor, include_inactive: bool = False) -> list[SourceChannel]:
    require_read(actor)
    qs = SourceChannel.objects.all()
    if not include_inactive:
        qs = qs.filter(active=True)
    return list(qs.order_by("position", "id")[:200])


def roster_get(*, actor, day: dt.date, department_id: int | None = None) -> DutyDay | None:
    """The day's roster of a department in reach (the actor's own by default), or None when not set."""
    require_read(actor)
    dept = department_id or actor.department_id
    if not _valid_id(dept) or not department_in_reach(actor, dept):
        raise NotFound(_("Department not found."))
    return (DutyDay.objects.filter(department_id=dept, day=day).select_related("department", "last_rep")
            .prefetch_related("shifts__rep").first())


def duty_days(*, actor, date_from: dt.date, date_to: dt.date, department_id: int | None = None) -> list[DutyDay]:
    """Rosters of a department over a date range (at most 62 days), with their shifts."""
    require_read(actor)
    if (date_to - date_from).days > 62 or date_to < date_from:
        raise BadRequest(_("Choose at most 62 days."), fields={"date_to": [_("Choose at most 62 days.")]})
    dept = department_id or actor.department_id
    if not _valid_id(dept) or not department_in_reach(actor, dept):
        raise NotFound(_("Department not found."))
    return list(DutyDay.objects.filter(department_id=dept, day__gte=date_from, day__lte=date_to)
                .prefetch_related("shifts__rep").order_by("day"))


def my_duty(*, actor, day: dt.date) -> dict | None:
    """The actor's duty today: the department, their status, their position in line (1 = next walk-in)
    and the make-up turns they are owed. None when not on duty."""
    from kehu.sales.reception import rotation
    from kehu.sales.reception.services import queue_of

    if not can_write(actor):
        return None
    mine = DutyShift.objects.filter(rep=actor, duty_day__day=day).select_related("duty_day__department").first()
    if mine is None:
        return None
    duty = mine.duty_day
    queue = queue_of(duty)
    return {"duty_day": duty, "department": duty.department, "status": queue.status_of(actor.pk),
            "position": rotation.position_of(queue, actor.pk), "makeups": queue.makeups.count(actor.pk),
            "on_duty": len(queue.order)}


# ---------------------------------------------------------------- the register

def entry_base(*, actor) -> QuerySet[RegisterEntry]:
    require_read(actor)
    return RegisterEntry.objects.filter(scope_q(actor, owner_field="rep"))


def entry_list(*, actor, date_from: dt.date | None = None, date_to: dt.date | None = None, kind: str | None = None,
               rep: int | None = None, source: int | None = None, refusal: str | None = None,
               ordering: str = "-id", limit: int | None = None, cursor: str | None = None) -> Page:
    """Register entries in scope, newest first (one query per page)."""
    qs = entry_base(actor=actor).select_related("source", "rep", "customer", "first_receiver")
    if date_from:
        qs = qs.filter(day__gte=date_from)
    if date_to:
        qs = qs.filter(day__lte=date_to)
    if kind:
        if kind not in EntryKind.values:
            raise BadRequest(_("Unknown kind."), fields={"kind": [_("Unknown kind.")]})
        qs = qs.filter(kind=kind)
    for name, value in (("rep", rep), ("source", source)):
        if value is not None and not _valid_id(value):
            raise BadRequest(_("Unknown id."), fields={name: [_("Unknown id.")]})
    if rep:
        qs = qs.filter(rep_id=rep)
    if source:
        qs = qs.filter(source_id=source)
    if refusal:
        if refusal not in Refusal.values:
            raise BadRequest(_("Unknown refusal state."), fields={"refusal": [_("Unknown refusal state.")]})
        qs = qs.filter(refusal=refusal)
    return paginate(qs, ordering=ordering, allowed={"id": int}, limit=limit, cursor=cursor)


def entry_get(*, actor, entry_id, for_update: bool = False) -> RegisterEntry:
    qs = entry_base(actor=actor).select_related("source", "rep", "customer", "first_receiver", "handled_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    entry = qs.filter(pk=entry_id).first() if _valid_id(entry_id) else None
    if entry is None:
        raise NotFound(_("Register entry not found."))
    return entry


def pending_refusals(*, actor, limit: int = 20) -> list[RegisterEntry]:
    if not can_manage(actor):
        return []
    return list(entry_base(actor=actor).filter(refusal=Refusal.PENDING).select_related("rep")
                .order_by("at", "id")[:limit])


# ---------------------------------------------------------------- statistics (来人来电统计表)

def period_bounds(period: str, on: dt.date) -> tuple[dt.date, dt.date]:
    if period == "day":
        return on, on
    if period == "week":
        start = on - dt.timedelta(days=on.weekday())
        return start, start + dt.timedelta(days=6)
    if period == "month":
        start = on.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start, nxt - dt.timedelta(days=1)
    raise BadRequest(_("Choose day, week or month."), fields={"period": [_("Choose day, week or month.")]})


def _rate(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def statistics(*, actor, period: str = "month", on: dt.date) -> dict:
    """The visitor and call statistics of a period in the actor's scope: totals, per day, per source and
    per rep (walk-ins, calls, counted turns, customers), and conversion: of the customers who walked in
    during the period, how many have a deal (sales.Deal, not cancelled) — by source and by rep. A bounded
    number of grouped queries whatever the number of rows."""
    from kehu.sales.models import Deal, DealStage

    start, end = period_bounds(period, on)
    base = entry_base(actor=actor).filter(day__gte=start, day__lte=end)
    # two grouped passes over the period, each index-only on reception_entry_day_stats: per day, and per
    # source × rep (at most sources × reps × 4 groups, folded here into both tables)
    zero = {"walk_ins": 0, "calls": 0, "turns": 0}
    totals = dict(zero)
    by_day: dict = defaultdict(lambda: dict(zero))
    by_src: dict = defaultdict(lambda: dict(zero))
    by_rep_: dict = defaultdict(lambda: dict(zero))

    def add(rows_, kind, counted, n):
        key = "walk_ins" if kind == EntryKind.WALK_IN else "calls"
        for row in rows_:
            row[key] += n
            if counted:
                row["turns"] += n

    for day, kind, counted, n in base.values_list("day", "kind", "counted").annotate(n=Count("id")).order_by():
        add((by_day[day], totals), kind, counted, n)
    for source_id, rep_id, kind, counted, n in (base.values_list("source_id", "rep_id", "kind", "counted")
                                                .annotate(n=Count("id")).order_by()):
        add((by_src[source_id], by_rep_[rep_id]), kind, counted, n)
    days = []
    d = start
    while d <= end:
        days.append({"day": d, **by_day.get(d, zero)})
        d += dt.timedelta(days=1)
    sources = dict(SourceChannel.objects.filter(pk__in=list(by_src)).values_list("pk", "name"))
    from kehu.access.models import User

    reps = {pk: dn or un for pk, dn, un in
            User.objects.filter(pk__in=list(by_rep_)).values_list("pk", "display_name", "username")}
    # conversion: walk-in customers of the period (source and rep of their first walk-in) having a deal
    walked = (base.filter(kind=EntryKind.WALK_IN, customer_id__isnull=False)
              .values_list("customer_id", "source_id", "rep_id").order_by("customer_id", "id"))
    first: dict[int, tuple[int, int]] = {}
    for customer_id, source_id, rep_id in walked:
        first.setdefault(customer_id, (source_id, rep_id))
    dealt: set[int] = set()
    ids = list(first)
    for i in range(0, len(ids), 5000):
        dealt.update(Deal.objects.filter(customer_id__in=ids[i:i + 5000]).exclude(stage=DealStage.CANCELLED)
                     .values_list("customer_id", flat=True).distinct())
    src_conv: dict = defaultdict(lambda: [0, 0])
    rep_conv: dict = defaultdict(lambda: [0, 0])
    for customer_id, (source_id, rep_id) in first.items():
        won = customer_id in dealt
        for table, key in ((src_conv, source_id), (rep_conv, rep_id)):
            table[key][0] += 1
            table[key][1] += won

    def rows(table: dict, names: dict, conv: dict, id_key: str) -> list[dict]:
        out = []
        for pk, counts in table.items():
            c, w = conv.get(pk, (0, 0))
            out.append({id_key: pk, "name": names.get(pk, ""), **counts, "customers": c, "deals": w,
                        "conversion": _rate(w, c)})
        return sorted(out, key=lambda r: (r["name"], r[id_key]))

    all_c, all_w = len(first), len(dealt)
    totals.update(customers=all_c, deals=all_w, conversion=_rate(all_w, all_c))
    return {"period": period, "start": start, "end": end, "totals": totals, "days": days,
            "by_source": rows(by_src, sources, src_conv, "source_id"),
            "by_rep": rows(by_rep_, reps, rep_conv, "rep_id")}


def counted_kinds() -> tuple:
    return tuple(COUNTED)
