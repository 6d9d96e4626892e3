"""Every write of scheduled inspections (巡检). Each function takes the acting user first (None for the
worker), runs in one transaction and writes its audit entry in it; notifications go out on commit.

Dates are calendar days: a plan's next inspection falls one cycle after the last one was performed;
the visit's deadline is that date, moved back to the previous working day when it is not one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.audit.services import audit_record, audit_record_many
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.service_desk.inspections import cycles, selectors
from kehu.service_desk.inspections.models import (
    Answer,
    CycleSource,
    CycleUnit,
    Importance,
    InspectionChecklist,
    InspectionChecklistItem,
    InspectionPlan,
    InspectionReport,
    InspectionVisit,
    VisitState,
)
from kehu.workdays.selectors import calendar_get

MAX_ITEMS = 50
MAX_CYCLE = {CycleUnit.DAY: 3660, CycleUnit.WEEK: 520, CycleUnit.MONTH: 120}
NEXT_DUE_PAST_DAYS = 366  # how far back a plan's next date may be set (catching up a late plan)
NEXT_DUE_FUTURE_DAYS = 5 * 366


# ---------------------------------------------------------------- configuration (read at call time)

def cycle_days_table() -> dict:
    """settings.KEHU_INSPECTION_CYCLE_DAYS: default cycle in days per customer importance."""
    return getattr(settings, "KEHU_INSPECTION_CYCLE_DAYS", None) or cycles.DEFAULT_CYCLE_DAYS


def horizon_days() -> int:
    """settings.KEHU_INSPECTION_HORIZON_DAYS: how many days ahead visits are generated (default 14)."""
    return int(getattr(settings, "KEHU_INSPECTION_HORIZON_DAYS", cycles.DEFAULT_HORIZON_DAYS))


def default_cycle(importance: str) -> tuple[int, str]:
    """(length, unit) of the default cycle for a customer of ``importance``."""
    return cycles.default_cycle_days(importance, cycle_days_table()), CycleUnit.DAY


@dataclass(frozen=True)
class DefaultCycle:
    """A customer's default inspection cycle and where it comes from: the inspection cycle of the
    service policy of the customer's grade (客户分级, 000 2.2), else the plan's hand-set importance."""

    length: int
    unit: str
    source: str  # CycleSource.GRADE or CycleSource.IMPORTANCE
    policy_name: str = ""
    grade: str = ""

    @property
    def pair(self) -> tuple[int, str]:
        return self.length, self.unit


def default_cycle_for(customer_id: int, importance: str, *, levels: dict | None = None) -> DefaultCycle:
    """``levels``: {customer id: ServiceLevel} already read for a page of plans (service_levels_for)."""
    from kehu.service_desk.service_levels import service_level

    level = levels.get(customer_id) if levels is not None else service_level(customer_id)
    if level is not None and level.inspection_cycle_days:
        return DefaultCycle(int(level.inspection_cycle_days), CycleUnit.DAY, CycleSource.GRADE,
                            level.policy_name, level.grade)
    length, unit = default_cycle(importance)
    return DefaultCycle(length, unit, CycleSource.IMPORTANCE)


def with_default_cycles(plans) -> list:
    """Each plan with ``default_cycle`` (its customer's default now) and ``cycle_changes`` (True when the
    plan follows the default and will take a different cycle at its next inspection); two queries for
    the whole page."""
    from kehu.service_desk.service_levels import service_levels_for

    plans = list(plans)
    levels = service_levels_for(p.customer_id for p in plans)
    for p in plans:
        p.default_cycle = default_cycle_for(p.customer_id, p.importance, levels=levels)
        p.cycle_changes = (p.cycle_source != CycleSource.SET and p.active
                           and p.default_cycle.pair != (p.cycle_length, p.cycle_unit))
    return plans


def _follow_default(plan: InspectionPlan) -> tuple[str, str] | None:
    """A plan that follows the default takes the customer's current default cycle (its grade may have
    changed since the plan was made); a cycle set by hand stays. Returns (before, after) when it changed."""
    if plan.cycle_source == CycleSource.SET:
        return None
    default = default_cycle_for(plan.customer_id, plan.importance)
    if default.pair == (plan.cycle_length, plan.cycle_unit) and default.source == plan.cycle_source:
        return None
    before = f"{plan.cycle_length} {plan.cycle_unit}"
    plan.cycle_length, plan.cycle_unit, plan.cycle_source = default.length, default.unit, default.source
    return before, f"{plan.cycle_length} {plan.cycle_unit}"


def due_date_for(day: dt.date, calendar=None) -> dt.date:
    """The deadline of an inspection falling on ``day``: ``day``, or the working day before it."""
    return cycles.due_on_working_day(day, calendar or calendar_get())


# ---------------------------------------------------------------- helpers

def _text(data: dict, name: str, max_length: int) -> str:
    value = str(data.get(name) or "").strip()
    if len(value) > max_length:
        raise Invalid(_("“%(f)s” is too long (at most %(n)d characters).") % {"f": name, "n": max_length},
                      fields={name: [_("At most %(n)d characters.") % {"n": max_length}]})
    return value


def _required(value: str, name: str) -> str:
    if not value:
        raise Invalid(_("Some required fields are missing."), fields={name: [_("This field is required.")]})
    return value


def _items_from(raw) -> list[dict]:
    """Checklist items from the input: a list of labels or of {"label", "hint"}; ordered, unique."""
    if not isinstance(raw, list) or not raw:
        raise Invalid(_("A checklist needs at least one item."), fields={"items": [_("At least one item.")]})
    if len(raw) > MAX_ITEMS:
        raise Invalid(_("A checklist has at most %(n)d items.") % {"n": MAX_ITEMS},
                      fields={"items": [_("Too many items.")]})
    items, seen = [], set()
    for entry in raw:
        entry = {"label": entry} if isinstance(entry, str) else dict(entry or {})
        label = str(entry.get("label") or "").strip()
        hint = str(entry.get("hint") or "").strip()
        if not label:
            raise Invalid(_("Every item needs a label."), fields={"items": [_("An item has no label.")]})
        if len(label) > 100 or len(hint) > 300:
            raise Invalid(_("An item's label has at most 100 characters, its hint 300."),
                          fields={"items": [_("Too long: %(l)s") % {"l": label[:20]}]})
        if label in seen:
            raise Invalid(_("The item “%(l)s” appears twice.") % {"l": label},
                          fields={"items": [_("Duplicate item: %(l)s") % {"l": label}]})
        seen.add(label)
        items.append({"label": label, "hint": hint})
    return items


def _checklist_state(c: InspectionChecklist, items: list[dict]) -> dict:
    return {"name": c.name, "description": c.description, "active": c.active,
            "items": [i["label"] for i in items]}


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _clean(obj, exclude=()) -> None:
    from django.core.exceptions import ValidationError

    from kehu.errors import from_django_validation

    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise from_django_validation(exc) from exc


# ---------------------------------------------------------------- checklists

@transaction.atomic
def checklist_create(*, actor, data: dict) -> InspectionChecklist:
    """Define a checklist (named, with ordered items). Needs inspection management."""
    selectors.require_manage(actor)
    name = _required(_text(data, "name", 100), "name")
    items = _items_from(data.get("items"))
    if InspectionChecklist.objects.filter(name=name).exists():
        raise Conflict(_("A checklist named “%(n)s” exists already.") % {"n": name}, code="duplicate")
    checklist = InspectionChecklist(name=name, description=_text(data, "description", 2000),
                                    active=data.get("active", True) is not False)
    _clean(checklist)
    checklist.save()
    InspectionChecklistItem.objects.bulk_create([
        InspectionChecklistItem(checklist=checklist, position=i, label=item["label"], hint=item["hint"])
        for i, item in enumerate(items, start=1)])
    audit_record(actor=actor, action="inspection.checklist_create", obj=checklist,
                 changes=_diff({}, _checklist_state(checklist, items)))
    return checklist


@transaction.atomic
def checklist_update(*, actor, checklist_id: int, data: dict) -> InspectionChecklist:
    """Change a checklist's name, description, active flag or items. Items are matched by label: a
    kept item keeps its identity, new ones are added, missing ones removed. Filed reports keep the
    labels they were filed with."""
    selectors.require_manage(actor)
    checklist = InspectionChecklist.objects.select_for_update().filter(pk=checklist_id).first()
    if checklist is None:
        raise NotFound(_("Checklist not found."))
    current = list(checklist.items.order_by("position", "id"))
    before = _checklist_state(checklist, [{"label": i.label} for i in current])
    if "name" in data and data["name"] is not None:
        name = _required(_text(data, "name", 100), "name")
        if InspectionChecklist.objects.filter(name=name).exclude(pk=checklist.pk).exists():
            raise Conflict(_("A checklist named “%(n)s” exists already.") % {"n": name}, code="duplicate")
        checklist.name = name
    if "description" in data and data["description"] is not None:
        checklist.description = _text(data, "description", 2000)
    if data.get("active") is not None:
        checklist.active = bool(data["active"])
    items = [{"label": i.label, "hint": i.hint} for i in current]
    if data.get("items") is not None:
        items = _items_from(data["items"])
        by_label = {i.label: i for i in current}
        wanted = {i["label"] for i in items}
        InspectionChecklistItem.objects.filter(checklist=checklist).exclude(label__in=wanted).delete()
        # Move the kept items out of the way first: (checklist, position) is unique.
        InspectionChecklistItem.objects.filter(checklist=checklist).update(position=F("position") + 10000)
        new = []
        for position, item in enumerate(items, start=1):
            existing = by_label.get(item["label"])
            if existing is not None:
                InspectionChecklistItem.objects.filter(pk=existing.pk).update(position=position, hint=item["hint"])
            else:
                new.append(InspectionChecklistItem(checklist=checklist, position=position, label=item["label"],
                                                   hint=item["hint"]))
        InspectionChecklistItem.objects.bulk_create(new)
    _clean(checklist)
    checklist.save()
    changes = _diff(before, _checklist_state(checklist, items))
    audit_record(actor=actor, action="inspection.checklist_update", obj=checklist, changes=changes)
    return checklist


# ---------------------------------------------------------------- plans

def _inspector(user_id) -> User:
    inspector = selectors.inspector_choices(actor=None).filter(pk=user_id).first() if user_id else None
    if inspector is None:
        raise Invalid(_("Choose an inspector who handles service work."),
                      fields={"inspector": [_("Not an inspector.")]})
    return inspector


def _cycle(data: dict, importance: str, current: tuple[int, str] | None = None) -> tuple[int, str]:
    length, unit = data.get("cycle_length"), data.get("cycle_unit")
    if length in (None, "") and unit in (None, ""):
        return current or default_cycle(importance)
    unit = unit or (current[1] if current else CycleUnit.DAY)
    if unit not in CycleUnit.values:
        raise Invalid(_("Unknown cycle unit."), fields={"cycle_unit": [_("Choose days, weeks or months.")]})
    try:
        length = int(length if length not in (None, "") else (current[0] if current else 0))
    except (TypeError, ValueError):
        length = 0
    if not 1 <= length <= MAX_CYCLE[unit]:
        raise Invalid(_("The cycle must be between 1 and %(n)d %(u)s.") % {"n": MAX_CYCLE[unit],
                                                                          "u": CycleUnit(unit).label},
                      fields={"cycle_length": [_("Out of range.")]})
    return length, unit


def _next_due(value, today: dt.date) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        raise Invalid(_("Enter a valid date."), fields={"next_due": [_("Enter a valid date.")]})
    if isinstance(value, dt.datetime):
        value = value.date()
    if not (today - dt.timedelta(days=NEXT_DUE_PAST_DAYS) <= value <= today + dt.timedelta(days=NEXT_DUE_FUTURE_DAYS)):
        raise Invalid(_("The next inspection must be within a year back and five years ahead."),
                      fields={"next_due": [_("Out of range.")]})
    return value


def _explicit_cycle(data: dict) -> bool:
    return data.get("cycle_length") not in (None, "") or data.get("cycle_unit") not in (None, "")


def _plan_state(p: InspectionPlan) -> dict:
    return {"customer": p.customer_id, "checklist": p.checklist_id, "importance": p.importance,
            "cycle": f"{p.cycle_length} {p.cycle_unit}", "cycle_source": p.cycle_source, "inspector": p.inspector_id,
            "next_due": p.next_due.isoformat() if p.next_due else None, "active": p.active, "note": p.note}


@transaction.atomic
def plan_create(*, actor, data: dict) -> InspectionPlan:
    """Start inspecting a customer: a checklist, a cycle, an inspector and the first date (default: one
    cycle from today). Without an explicit cycle the plan follows the default: the inspection cycle of
    the service policy of the customer's grade, else the importance's (settings.KEHU_INSPECTION_CYCLE_DAYS),
    and keeps following it when the grade changes (at each next inspection)."""
    selectors.require_manage(actor)
    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, customer_id=data.get("customer") or 0)
    checklist = InspectionChecklist.objects.filter(pk=data.get("checklist") or 0, active=True).first()
    if checklist is None:
        raise Invalid(_("Choose an active checklist."), fields={"checklist": [_("Unknown or inactive checklist.")]})
    importance = data.get("importance") or Importance.NORMAL
    if importance not in Importance.values:
        raise Invalid(_("Unknown customer importance."), fields={"importance": [_("Choose key, important or normal.")]})
    if _explicit_cycle(data):
        (length, unit), source = _cycle(data, importance), CycleSource.SET
    else:
        default = default_cycle_for(customer.pk, importance)
        (length, unit), source = default.pair, default.source
    inspector = _inspector(data.get("inspector"))
    today = timezone.localdate()
    next_due = (_next_due(data["next_due"], today) if data.get("next_due")
                else cycles.advance(today, length, unit))
    if InspectionPlan.objects.filter(customer=customer, checklist=checklist, active=True).exists():
        raise Conflict(_("This customer already has an active plan with this checklist."), code="duplicate")
    plan = InspectionPlan(customer=customer, checklist=checklist, importance=importance, cycle_length=length,
                          cycle_unit=unit, cycle_source=source, inspector=inspector, next_due=next_due, note=_text(data, "note", 2000),
                          created_by=actor)
    _clean(plan, exclude=["customer", "checklist", "inspector", "created_by"])
    plan.save()
    audit_record(actor=actor, action="inspection.plan_create", obj=plan, changes=_diff({}, _plan_state(plan)))
    return plan


@transaction.atomic
def plan_update(*, actor, plan_id: int, data: dict) -> InspectionPlan:
    """Change a plan. An explicit cycle different from the plan's is set by hand from then on;
    ``cycle_default``, or a new importance without an explicit cycle (as before grading), makes the plan
    follow the default again: the grade's inspection cycle, else the importance's. A plan following the
    default takes the current one on any change. The open visit (if any) follows a new inspector or date."""
    selectors.require_manage(actor)
    plan = selectors.plan_get(actor=actor, plan_id=plan_id, for_update=True, manage=True)
    if not plan.active:
        raise Conflict(_("This plan is no longer active."), code="inactive")
    before = _plan_state(plan)
    if data.get("importance") is not None:
        if data["importance"] not in Importance.values:
            raise Invalid(_("Unknown customer importance."),
                          fields={"importance": [_("Choose key, important or normal.")]})
        changed = data["importance"] != plan.importance
        plan.importance = data["importance"]
        if changed and not _explicit_cycle(data) and plan.cycle_source != CycleSource.GRADE:
            plan.cycle_source = CycleSource.IMPORTANCE  # a new importance chooses the cycle again
    if data.get("cycle_default") and not _explicit_cycle(data):
        plan.cycle_source = CycleSource.IMPORTANCE
    if _explicit_cycle(data):
        current = (plan.cycle_length, plan.cycle_unit)
        plan.cycle_length, plan.cycle_unit = _cycle(data, plan.importance, current)
        if (plan.cycle_length, plan.cycle_unit) != current:
            plan.cycle_source = CycleSource.SET
    else:
        _follow_default(plan)
    if data.get("checklist") is not None and data["checklist"] != plan.checklist_id:
        checklist = InspectionChecklist.objects.filter(pk=data["checklist"], active=True).first()
        if checklist is None:
            raise Invalid(_("Choose an active checklist."), fields={"checklist": [_("Unknown or inactive checklist.")]})
        if InspectionPlan.objects.filter(customer_id=plan.customer_id, checklist=checklist, active=True).exists():
            raise Conflict(_("This customer already has an active plan with this checklist."), code="duplicate")
        plan.checklist = checklist
    if data.get("inspector") is not None:
        plan.inspector = _inspector(data["inspector"])
    if data.get("note") is not None:
        plan.note = _text(data, "note", 2000)
    open_visit = InspectionVisit.objects.select_for_update().filter(plan=plan, state=VisitState.SCHEDULED).first()
    if data.get("next_due"):
        next_due = _next_due(data["next_due"], timezone.localdate())
        if next_due != plan.next_due:
            clash = InspectionVisit.objects.filter(plan=plan, scheduled_date=next_due)
            if open_visit is not None:
                clash = clash.exclude(pk=open_visit.pk)
            if clash.exists():
                raise Invalid(_("This plan already had an inspection on that date."),
                              fields={"next_due": [_("Choose another date.")]})
            plan.next_due = next_due
    _clean(plan, exclude=["customer", "checklist", "inspector", "created_by"])
    plan.save()
    if open_visit is not None:
        open_visit.inspector = plan.inspector
        if open_visit.scheduled_date != plan.next_due:
            open_visit.scheduled_date = plan.next_due
            open_visit.due_date = due_date_for(plan.next_due)
            if open_visit.due_date >= timezone.localdate():
                open_visit.overdue_at = None  # not late any more: a new lateness is flagged (and told) again
        open_visit.save()
    audit_record(actor=actor, action="inspection.plan_update", obj=plan, changes=_diff(before, _plan_state(plan)))
    return plan


@transaction.atomic
def plan_deactivate(*, actor, plan_id: int, reason: str = "") -> InspectionPlan:
    """Stop inspecting under this plan; its open visit is cancelled."""
    selectors.require_manage(actor)
    plan = selectors.plan_get(actor=actor, plan_id=plan_id, for_update=True, manage=True)
    if not plan.active:
        raise Conflict(_("This plan is no longer active."), code="inactive")
    reason = (reason or "").strip()[:500]
    plan.active = False
    plan.save(update_fields=["active", "updated_at"])
    now = timezone.now()
    cancelled = InspectionVisit.objects.filter(plan=plan, state=VisitState.SCHEDULED).update(
        state=VisitState.CANCELLED, closed_at=now, closed_by=actor,
        closed_reason=reason or _("The inspection plan was stopped."))
    audit_record(actor=actor, action="inspection.plan_deactivate", obj=plan,
                 changes={"active": [True, False], "reason": reason, "visits_cancelled": cancelled})
    return plan


# ---------------------------------------------------------------- generating visits

def _visit_for(plan_id: int, customer_id: int, inspector_id: int, day: dt.date, calendar) -> InspectionVisit:
    return InspectionVisit(plan_id=plan_id, customer_id=customer_id, inspector_id=inspector_id,
                           scheduled_date=day, due_date=cycles.due_on_working_day(day, calendar))


def _bulk_insert(visits: list[InspectionVisit]) -> None:
    """One multi-row INSERT of prepared values, then the new ids read back by (plan, date): model
    bulk_create spends ~300 µs a row preparing values, which at 100,000 plans is most of the run."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = [(v.plan_id, v.customer_id, v.inspector_id, ops.adapt_datefield_value(v.scheduled_date),
             ops.adapt_datefield_value(v.due_date), VisitState.SCHEDULED, "", now) for v in visits]
    table = InspectionVisit._meta.db_table
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (plan_id, customer_id, inspector_id, scheduled_date, due_date, state,"
            " closed_reason, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    ids = dict(((p, d), pk) for pk, p, d in InspectionVisit.objects.filter(
        plan_id__in=[v.plan_id for v in visits], state=VisitState.SCHEDULED).values_list(
        "id", "plan_id", "scheduled_date"))
    for v in visits:
        v.pk = ids[(v.plan_id, v.scheduled_date)]
        v._state.adding = False


def _insert(visits: list[InspectionVisit]) -> int:
    """Insert a batch at once; if another run got some of them in first, fall back to one by one so
    each visit exists once (the unique constraints decide)."""
    if not visits:
        return 0
    changes = [{"scheduled_date": [None, v.scheduled_date.isoformat()], "due_date": [None, v.due_date.isoformat()]}
               for v in visits]
    try:
        with transaction.atomic():
            _bulk_insert(visits)
            audit_record_many(actor=None, action="inspection.visit_generate", objects=visits, changes=changes)
        return len(visits)
    except IntegrityError:
        created = 0
        for visit, change in zip(visits, changes, strict=True):
            visit.pk = None
            visit._state.adding = True
            try:
                with transaction.atomic():
                    visit.save(force_insert=True)
                    audit_record(actor=None, action="inspection.visit_generate", obj=visit, changes=change)
                created += 1
            except IntegrityError:
                continue
        return created


def _due_plans():
    open_visit = InspectionVisit.objects.filter(plan_id=OuterRef("pk"), state=VisitState.SCHEDULED)
    same_date = InspectionVisit.objects.filter(plan_id=OuterRef("pk"), scheduled_date=OuterRef("next_due"))
    return InspectionPlan.objects.filter(active=True, customer__deleted_at__isnull=True).exclude(
        Exists(open_visit)).exclude(Exists(same_date))


def visits_generate(*, today: dt.date | None = None, horizon: int | None = None, batch_size: int = 1000) -> int:
    """Create the next visit of every active plan whose next inspection falls within the horizon
    (settings.KEHU_INSPECTION_HORIZON_DAYS, default 14 days) and has no open visit yet. Set-based,
    in batches of ``batch_size`` plans (a handful of queries each); idempotent: a second run creates
    nothing. Returns how many visits were created."""
    today = today or timezone.localdate()
    until = today + dt.timedelta(days=horizon_days() if horizon is None else horizon)
    calendar = calendar_get()
    qs = _due_plans().filter(next_due__lte=until).order_by("id")
    created, last_id = 0, 0
    while True:
        rows = list(qs.filter(id__gt=last_id).values_list("id", "customer_id", "inspector_id", "next_due")[:batch_size])
        if not rows:
            return created
        last_id = rows[-1][0]
        created += _insert([_visit_for(p, c, i, day, calendar) for p, c, i, day in rows])


@transaction.atomic
def visit_schedule_next(*, actor, plan_id: int) -> InspectionVisit:
    """Open the plan's next visit now, whatever the horizon (or return the one already open)."""
    selectors.require_manage(actor)
    plan = selectors.plan_get(actor=actor, plan_id=plan_id, for_update=True, manage=True)
    if not plan.active:
        raise Conflict(_("This plan is no longer active."), code="inactive")
    existing = InspectionVisit.objects.filter(plan=plan, state=VisitState.SCHEDULED).first()
    if existing is not None:
        return existing
    if InspectionVisit.objects.filter(plan=plan, scheduled_date=plan.next_due).exists():
        raise Conflict(_("This plan already had an inspection on that date."), code="duplicate")
    visit = _visit_for(plan.pk, plan.customer_id, plan.inspector_id, plan.next_due, calendar_get())
    visit.save(force_insert=True)
    audit_record(actor=actor, action="inspection.visit_generate", obj=visit,
                 changes={"scheduled_date": [None, visit.scheduled_date.isoformat()],
                          "due_date": [None, visit.due_date.isoformat()]})
    return visit


# ---------------------------------------------------------------- report and cancel

def _results(raw, items: list[InspectionChecklistItem]) -> tuple[list[dict], dict[str, list[str]]]:
    """Validate the answers against the checklist: every item answered once with ok / issue / na, an
    issue described in its note, no unknown item. Returns (results, errors by field)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, list):
        return [], {"results": [_("Answer every checklist item.")]}
    by_id = {i.pk: i for i in items}
    answers: dict[int, dict] = {}
    for entry in raw:
        entry = entry if isinstance(entry, dict) else {}
        try:
            item_id = int(entry.get("item"))
        except (TypeError, ValueError):
            item_id = None
        if item_id not in by_id:
            errors.setdefault("results", []).append(
                _("“%(i)s” is not an item of this checklist.") % {"i": entry.get("item")})
            continue
        if item_id in answers:
            errors.setdefault(f"item_{item_id}", []).append(_("Answered twice."))
            continue
        answer = entry.get("answer")
        note = str(entry.get("note") or "").strip()
        if answer not in Answer.values:
            errors.setdefault(f"item_{item_id}", []).append(_("Choose OK, issue found or not applicable."))
        elif answer == Answer.ISSUE and not note:
            errors.setdefault(f"note_{item_id}", []).append(_("Describe the issue."))
        elif len(note) > 1000:
            errors.setdefault(f"note_{item_id}", []).append(_("At most %(n)d characters.") % {"n": 1000})
        answers[item_id] = {"answer": answer, "note": note}
    for item in items:
        if item.pk not in answers and f"item_{item.pk}" not in errors:
            errors.setdefault(f"item_{item.pk}", []).append(_("Answer this item."))
    results = [{"item": i.pk, "label": i.label, "answer": answers[i.pk]["answer"], "note": answers[i.pk]["note"]}
               for i in items if i.pk in answers]
    return results, errors


@transaction.atomic

def visit_report(*, actor, visit_id: int, data: dict) -> InspectionReport:
    """File the inspection report: the visit is done and the plan's next inspection moves to one
    cycle after the day it was performed. The inspector files it, or anyone in scope who handles
    service work."""
    visit = selectors.visit_get(actor=actor, visit_id=visit_id, for_update=True)
    if visit.inspector_id != actor.pk and not actor.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        raise Forbidden(_("Only the inspector, or someone who handles service work, may file this report."))
    if visit.state != VisitState.SCHEDULED:
        raise Conflict(_("This inspection is %(s)s; no report can be filed.") % {"s": visit.get_state_display()},
                       code="not_open")
    now = timezone.now()
    performed_at = data.get("performed_at") or now
    if isinstance(performed_at, str):
        try:
            performed_at = dt.datetime.fromisoformat(performed_at)
        except ValueError:
            raise Invalid(_("Enter a valid date and time."),
                          fields={"performed_at": [_("Enter a valid date and time.")]}) from None
    if timezone.is_naive(performed_at):
        performed_at = timezone.make_aware(performed_at)
    errors: dict[str, list[str]] = {}
    if performed_at > now + dt.timedelta(minutes=5):
        errors["performed_at"] = [_("In the future.")]
    elif performed_at < now - dt.timedelta(days=NEXT_DUE_PAST_DAYS):
        errors["performed_at"] = [_("More than a year ago.")]
    items = list(visit.plan.checklist.items.order_by("position", "id"))
    results, result_errors = _results(data.get("results"), items)
    errors.update(result_errors)
    findings = str(data.get("findings") or "").strip()
    suggestions = str(data.get("suggestions") or "").strip()
    signed_by = str(data.get("signed_by") or "").strip()
    if not findings and any(r["answer"] == Answer.ISSUE for r in results):
        # Findings describe what is wrong; a round where every item is normal (or not applicable) needs none.
        errors["findings"] = [_("Describe what was found: an item is marked “Issue found”.")]
    for name, value, limit in (("findings", findings, 5000), ("suggestions", suggestions, 5000),
                               ("signed_by", signed_by, 100)):
        if len(value) > limit:
            errors.setdefault(name, []).append(_("At most %(n)d characters.") % {"n": limit})
    if errors:
        raise Invalid(_("The report is not complete: check the marked fields."), fields=errors)
    report = InspectionReport(
        visit=visit, performed_at=performed_at, results=results,
        issue_count=sum(1 for r in results if r["answer"] == Answer.ISSUE), findings=findings,
        suggestions=suggestions, signed_by=signed_by, follow_up_needed=bool(data.get("follow_up_needed")),
        filed_by=actor)
    report.save()
    visit.state, visit.closed_at, visit.closed_by = VisitState.DONE, now, actor
    visit.save(update_fields=["state", "closed_at", "closed_by"])
    plan = InspectionPlan.objects.select_for_update().get(pk=visit.plan_id)
    before_due = plan.next_due
    recycled = _follow_default(plan) if plan.active else None
    if plan.active:
        performed_day = timezone.localdate(performed_at)
        # Never back onto this round's date or before it (the pair plan + date is unique).
        plan.next_due = max(cycles.advance(performed_day, plan.cycle_length, plan.cycle_unit),
                            visit.scheduled_date + dt.timedelta(days=1))
        plan.save(update_fields=["next_due", "cycle_length", "cycle_unit", "cycle_source", "updated_at"])
    changes = {"state": [VisitState.SCHEDULED, VisitState.DONE], "performed_at": performed_at.isoformat(),
               "issues": report.issue_count, "follow_up_needed": report.follow_up_needed,
               "plan_next_due": [before_due.isoformat(), plan.next_due.isoformat()]}
    if recycled:
        changes["plan_cycle"] = list(recycled)
    audit_record(actor=actor, action="inspection.visit_report", obj=visit, changes=changes)
    if report.follow_up_needed:
        _notify_follow_up(visit, report)
    return report


def _visit_link(visit: InspectionVisit) -> str:
    return reverse("inspections:visit_detail", kwargs={"visit_id": visit.pk})


def _notify_follow_up(visit: InspectionVisit, report: InspectionReport) -> None:
    from kehu.notifications.services import notify

    owner = visit.customer.owner
    if owner.pk == report.filed_by_id:
        return
    notify(user=owner, title=_("Inspection of %(c)s needs follow-up") % {"c": visit.customer.name},
           body=report.findings[:500], link=_visit_link(visit))


@transaction.atomic
def visit_cancel(*, actor, visit_id: int, reason: str, missed: bool = False) -> InspectionVisit:
    """Close an open visit without a report: cancelled (e.g. the customer postponed) or missed, with
    the reason. The plan moves on one cycle from the visit's date (or from today if that is later)."""
    selectors.require_manage(actor)
    visit = selectors.visit_get(actor=actor, visit_id=visit_id, for_update=True, manage=True)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Give the reason."), fields={"reason": [_("This field is required.")]})
    if len(reason) > 500:
        raise Invalid(_("At most %(n)d characters.") % {"n": 500}, fields={"reason": [_("Too long.")]})
    if visit.state != VisitState.SCHEDULED:
        raise Conflict(_("This inspection is %(s)s already.") % {"s": visit.get_state_display()}, code="not_open")
    to_state = VisitState.MISSED if missed else VisitState.CANCELLED
    visit.state, visit.closed_at, visit.closed_by, visit.closed_reason = to_state, timezone.now(), actor, reason
    visit.save(update_fields=["state", "closed_at", "closed_by", "closed_reason"])
    plan = InspectionPlan.objects.select_for_update().get(pk=visit.plan_id)
    before_due = plan.next_due
    recycled = None
    if plan.active and plan.next_due <= visit.scheduled_date:
        recycled = _follow_default(plan)
        base = max(visit.scheduled_date, timezone.localdate())
        plan.next_due = cycles.advance(base, plan.cycle_length, plan.cycle_unit)
        plan.save(update_fields=["next_due", "cycle_length", "cycle_unit", "cycle_source", "updated_at"])
    changes = {"state": [VisitState.SCHEDULED, to_state], "reason": reason,
               "plan_next_due": [before_due.isoformat(), plan.next_due.isoformat()]}
    if recycled:
        changes["plan_cycle"] = list(recycled)
    audit_record(actor=actor, action=f"inspection.visit_{to_state}", obj=visit, changes=changes)
    return visit


# ---------------------------------------------------------------- overdue sweep (worker)

def visits_overdue_sweep(*, now: dt.datetime | None = None, batch_size: int = 500) -> dict[str, int]:
    """Flag open visits whose deadline has passed and tell their inspector and the inspector's
    managers — once: a visit is flagged by a conditional update, stamped with this sweep's time, and
    only the rows this sweep stamped are told about. Safe with several workers."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    pending = InspectionVisit.objects.filter(state=VisitState.SCHEDULED, overdue_at__isnull=True,
                                             due_date__lt=today).order_by("id")
    flagged, managers_cache = 0, {}
    while True:
        with transaction.atomic():
            ids = list(pending.select_for_update(skip_locked=True).values_list("id", flat=True)[:batch_size])
            if not ids:
                return {"flagged": flagged}
            InspectionVisit.objects.filter(pk__in=ids, overdue_at__isnull=True).update(overdue_at=now)
            # Only the columns the audit entry and the messages use: whole customer rows cost ~0.5 ms a visit.
            visits = list(InspectionVisit.objects.filter(pk__in=ids, overdue_at=now).only(
                "id", "customer_id", "inspector_id", "scheduled_date", "due_date").order_by("id"))
            audit_record_many(actor=None, action="inspection.visit_overdue", objects=visits,
                              changes=[{"due_date": v.due_date.isoformat()} for v in visits])
            _notify_overdue(visits, managers_cache)
            flagged += len(visits)


def _notify_overdue(visits: list[InspectionVisit], managers_cache: dict) -> None:
    """Tell each inspector and manager once per batch: the visit itself when there is one, else how
    many and which (a catch-up after downtime must not flood anyone's inbox)."""
    from kehu.customers.models import Customer
    from kehu.notifications.services import notify

    inspectors = User.objects.select_related("department").in_bulk({v.inspector_id for v in visits})
    per_user: dict[int, tuple[User, list[InspectionVisit]]] = {}
    for visit in visits:
        inspector = inspectors[visit.inspector_id]
        for user in (inspector, *selectors.managers_of(inspector, managers_cache)):
            per_user.setdefault(user.pk, (user, []))[1].append(visit)
    shown = {v.customer_id for _user, mine in per_user.values() for v in mine[:20]}
    names = dict(Customer.objects.filter(pk__in=shown).values_list("id", "name"))
    for user, mine in per_user.values():
        if len(mine) == 1:
            visit = mine[0]
            notify(user=user, title=_("Inspection of %(c)s is overdue (due %(d)s)")
                   % {"c": names[visit.customer_id], "d": visit.due_date.isoformat()},
                   body=_("Inspector: %(u)s") % {"u": inspectors[visit.inspector_id]}, link=_visit_link(visit))
        else:
            lines = [f"{names[v.customer_id]} · {v.due_date.isoformat()} · {inspectors[v.inspector_id]}"
                     for v in mine[:20]]
            if len(mine) > 20:
                lines.append("…")
            notify(user=user, title=_("%(n)d inspections are overdue") % {"n": len(mine)}, body="\n".join(lines),
                   link=reverse("inspections:visits") + "?show=overdue")
