"""Every read of visit plans, scheduled visits, reports, suggestions and executive visits. Reading needs
Perm.INTERACTION_WRITE or Perm.VISIT_PLAN_MANAGE; rows are scoped like customers (own / department
subtree / all) by the account manager and department they belong to. Outside the scope a row does not
exist (404). A suggestion is also visible to its addressee and to the departments it was routed to."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.access.scopes import scope_q
from kehu.engagement.visits import rules
from kehu.engagement.visits.models import (
    ExecutiveVisit,
    PlanState,
    ScaleItem,
    ScheduledVisit,
    Suggestion,
    SuggestionState,
    VisitPlan,
    VisitReport,
    VisitState,
)
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate

READ_PERMS = (Perm.INTERACTION_WRITE, Perm.VISIT_PLAN_MANAGE)
MAX_ID = 2**63


def can_read(actor) -> bool:
    return bool(actor and actor.is_authenticated and any(actor.has_kehu_perm(p) for p in READ_PERMS))


def can_manage(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.has_kehu_perm(Perm.VISIT_PLAN_MANAGE))


def require_read(actor) -> None:
    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see visit plans."))


def _valid_id(pk) -> bool:
    return isinstance(pk, int) and 0 < pk < MAX_ID


# ---------------------------------------------------------------- plans

def plan_base(*, actor) -> QuerySet[VisitPlan]:
    require_read(actor)
    return VisitPlan.objects.filter(scope_q(actor))


def plan_list(*, actor, year: int | None = None, owner: int | None = None, state: str | None = None,
              ordering: str = "-year", limit: int | None = None, cursor: str | None = None) -> Page:
    """Plans in scope with their visit counts (one query)."""
    qs = plan_base(actor=actor).select_related("owner", "department", "approved_by").annotate(
        n_visits=Count("visits", filter=~Q(visits__state=VisitState.CANCELLED)),
        n_done=Count("visits", filter=Q(visits__state=VisitState.DONE)))
    if year:
        qs = qs.filter(year=year)
    if owner:
        qs = qs.filter(owner_id=owner)
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering=ordering, allowed={"id": int, "year": int}, limit=limit, cursor=cursor)


def plan_get(*, actor, plan_id: int) -> VisitPlan:
    plan = (plan_base(actor=actor).select_related("owner", "department", "approved_by").filter(pk=plan_id).first()
            if _valid_id(plan_id) else None)
    if plan is None:
        raise NotFound(_("Visit plan not found."))
    return plan


def plan_events(*, plan: VisitPlan, limit: int = 100):
    return list(plan.events.select_related("actor").order_by("-at", "-id")[:limit])


# ---------------------------------------------------------------- scheduled visits

def overdue_cutoff(today: dt.date) -> dt.date:
    """A scheduled visit planned before this day is overdue (its date plus the grace in working days has
    passed)."""
    grace = int(rules.config()["overdue_grace_working_days"])
    if grace <= 0:
        return today
    from kehu.workdays.selectors import calendar_get

    return calendar_get().add_working_days(today, -grace)


def overdue_q(today: dt.date) -> Q:
    return Q(state=VisitState.SCHEDULED, planned_on__lt=overdue_cutoff(today))


def year_q(year: int) -> Q:
    """The visits of the plans of ``year``: a plan's visits are all on days of its year (visit_add and visit_move
    refuse another), so the days say it without joining the plans — one range of ``planned_on`` that the
    owner / department / plan indexes (…, planned_on) can use, instead of a nested loop over the company's
    plans."""
    return Q(planned_on__gte=dt.date(year, 1, 1), planned_on__lte=dt.date(year, 12, 31))


def visit_base(*, actor) -> QuerySet[ScheduledVisit]:
    require_read(actor)
    return ScheduledVisit.objects.filter(scope_q(actor))


def visit_list(*, actor, plan: int | None = None, state: str | None = None, overdue: bool = False,
               customer: int | None = None, owner: int | None = None, date_from: dt.date | None = None,
               date_to: dt.date | None = None, today: dt.date | None = None, awaiting_authorisation: bool = False,
               ordering: str = "planned_on", limit: int | None = None, cursor: str | None = None) -> Page:
    # The customer, owner and report by three look-ups of the page's keys, not joined: joined, PostgreSQL sorts
    # the join of every matching visit for the page (an administrator's overdue list at 4M scheduled visits:
    # 1.7M rows joined, 5.6 s); alone, the visits' top-N (0.7 s), or an index read in order.
    qs = visit_base(actor=actor).prefetch_related("customer", "owner", "report")
    if plan:
        qs = qs.filter(plan_id=plan)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        from django.utils import timezone

        qs = qs.filter(overdue_q(today or timezone.localdate()))
    if awaiting_authorisation:
        qs = qs.filter(needs_authorisation=True, authorised_at__isnull=True).exclude(state=VisitState.CANCELLED)
    if customer:
        qs = qs.filter(customer_id=customer)
    if owner:
        qs = qs.filter(owner_id=owner)
    if date_from:
        qs = qs.filter(planned_on__gte=date_from)
    if date_to:
        qs = qs.filter(planned_on__lte=date_to)
    return paginate(qs, ordering=ordering, allowed={"id": int, "planned_on": dt.date}, limit=limit, cursor=cursor)


def visit_get(*, actor, visit_id: int, for_update: bool = False) -> ScheduledVisit:
    qs = visit_base(actor=actor).select_related("customer", "owner", "plan", "authorised_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    visit = qs.filter(pk=visit_id).first() if _valid_id(visit_id) else None
    if visit is None:
        raise NotFound(_("Scheduled visit not found."))
    return visit


def completion(*, actor, year: int, today: dt.date, by: str = "owner") -> list[dict]:
    """Completion per account manager (by="owner") or department (by="department") over the year's visits
    due by today: done / due (cancelled visits do not count), with the overdue ones. One query."""
    require_read(actor)
    key = {"owner": ("owner_id", "owner__display_name", "owner__username"),
           "department": ("department_id", "department__name", "department__name")}[by]
    cutoff = overdue_cutoff(today)
    rows = (visit_base(actor=actor).filter(year_q(year)).exclude(state=VisitState.CANCELLED)
            .values(*key).annotate(
                planned=Count("id"),
                due=Count("id", filter=Q(planned_on__lte=today) | Q(state=VisitState.DONE)),
                done=Count("id", filter=Q(state=VisitState.DONE)),
                overdue=Count("id", filter=Q(state=VisitState.SCHEDULED, planned_on__lt=cutoff)))
            .order_by(key[1]))
    out = []
    for row in rows:
        due = row["due"]
        out.append({"id": row[key[0]], "name": row[key[1]] or row[key[2]] or "—", "planned": row["planned"],
                    "due": due, "done": row["done"], "overdue": row["overdue"],
                    "rate": round(100.0 * row["done"] / due, 1) if due else None})
    return out


def completion_total(rows: list[dict]) -> dict:
    due = sum(r["due"] for r in rows)
    done = sum(r["done"] for r in rows)
    return {"planned": sum(r["planned"] for r in rows), "due": due, "done": done,
            "overdue": sum(r["overdue"] for r in rows), "rate": round(100.0 * done / due, 1) if due else None}


# ---------------------------------------------------------------- scales

def scale_items(*, version: int | None = None) -> dict[str, list[ScaleItem]]:
    """The report form's scales, {scale: [choices in the form's order]}: the current version, or the one given."""
    qs = ScaleItem.objects.all()
    qs = qs.filter(version=version) if version else qs.filter(active=True)
    out: dict[str, list[ScaleItem]] = {}
    for item in qs.order_by("scale", "position"):
        out.setdefault(item.scale, []).append(item)
    return out


# ---------------------------------------------------------------- reports

def report_base(*, actor) -> QuerySet[VisitReport]:
    require_read(actor)
    return VisitReport.objects.filter(scope_q(actor))


def report_list(*, actor, customer: int | None = None, owner: int | None = None, date_from: dt.date | None = None,
                date_to: dt.date | None = None, ordering: str = "-visited_on", limit: int | None = None,
                cursor: str | None = None) -> Page:
    qs = report_base(actor=actor).select_related("owner", "quality", "service", "reputation")
    if customer:
        qs = qs.filter(customer_id=customer)
    if owner:
        qs = qs.filter(owner_id=owner)
    if date_from:
        qs = qs.filter(visited_on__gte=date_from)
    if date_to:
        qs = qs.filter(visited_on__lte=date_to)
    return paginate(qs, ordering=ordering, allowed={"id": int, "visited_on": dt.date}, limit=limit,
                    cursor=cursor)


def report_get(*, actor, report_id: int) -> VisitReport:
    report = (report_base(actor=actor).select_related("owner", "quality", "service", "reputation", "visit",
                                                       "customer", "department").filter(pk=report_id).first()
              if _valid_id(report_id) else None)
    if report is None:
        raise NotFound(_("Visit report not found."))
    return report


def report_suggestions(*, report: VisitReport) -> list[Suggestion]:
    return list(report.suggestions.select_related("addressee", "answered_by").prefetch_related("departments")
                .order_by("id"))


# ---------------------------------------------------------------- suggestions

def _suggestion_visible_q(actor) -> Q:
    q = scope_q(actor, owner_field="report__owner", department_field="report__department") | Q(addressee_id=actor.pk)
    if actor.department_id:
        q |= Q(departments__id=actor.department_id)
    return q


def suggestion_base(*, actor) -> QuerySet[Suggestion]:
    require_read(actor)
    ids = Suggestion.objects.filter(_suggestion_visible_q(actor)).values("id")
    return Suggestion.objects.filter(id__in=ids)


def can_answer(actor, suggestion: Suggestion) -> bool:
    """The addressee, a leader (VISIT_PLAN_MANAGE) of a department it was routed to, or a company-wide leader."""
    if actor.pk == suggestion.addressee_id:
        return True
    if not can_manage(actor):
        return False
    if actor.role_spec.scope == Scope.ALL:
        return True
    return bool(actor.department_id) and suggestion.departments.filter(pk=actor.department_id).exists()


def suggestion_list(*, actor, state: str | None = None, mine: bool = False, overdue: bool = False,
                    today: dt.date | None = None, ordering: str = "due_on", limit: int | None = None,
                    cursor: str | None = None) -> Page:
    qs = suggestion_base(actor=actor).select_related("report", "addressee", "answered_by").prefetch_related(
        "departments")
    if state:
        qs = qs.filter(state=state)
    if mine:
        qs = qs.filter(Q(addressee_id=actor.pk) | Q(departments__id=actor.department_id or 0)).distinct()
    if overdue:
        from django.utils import timezone

        qs = qs.filter(state=SuggestionState.OPEN, due_on__lt=today or timezone.localdate())
    return paginate(qs, ordering=ordering, allowed={"id": int, "due_on": dt.date}, limit=limit, cursor=cursor)


def suggestion_get(*, actor, suggestion_id: int) -> Suggestion:
    s = (suggestion_base(actor=actor).select_related("report", "addressee", "answered_by", "closed_by")
         .filter(pk=suggestion_id).first() if _valid_id(suggestion_id) else None)
    if s is None:
        raise NotFound(_("Suggestion not found."))
    return s


# ---------------------------------------------------------------- executive visits

def executive_base(*, actor) -> QuerySet[ExecutiveVisit]:
    require_read(actor)
    return ExecutiveVisit.objects.filter(scope_q(actor))


def executive_list(*, actor, state: str | None = None, customer: int | None = None, ordering: str = "-starts_at",
                   limit: int | None = None, cursor: str | None = None) -> Page:
    qs = executive_base(actor=actor).select_related("customer").prefetch_related("our_participants",
                                                                                 "customer_participants")
    if state:
        qs = qs.filter(state=state)
    if customer:
        qs = qs.filter(customer_id=customer)
    return paginate(qs, ordering=ordering, allowed={"id": int, "starts_at": dt.datetime}, limit=limit, cursor=cursor)


def executive_get(*, actor, visit_id: int) -> ExecutiveVisit:
    v = (executive_base(actor=actor).select_related("customer", "owner").prefetch_related(
        "our_participants", "customer_participants").filter(pk=visit_id).first() if _valid_id(visit_id) else None)
    if v is None:
        raise NotFound(_("Executive visit not found."))
    return v


def plan_states() -> dict:
    return dict(PlanState.choices)
