"""Every read of resource allocation, with Perm.ORDER_READ (plans and shares are commercial figures):
plans and shares of the customers in the actor's scope (outside it a plan does not exist: 404); rounds
are the company's — anyone who reads orders sees a round and their customers' shares in it, and only
those who manage allocation see its totals (available, planned, allocated, per class)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.errors import Forbidden, NotFound
from kehu.grading.allocation.models import AllocationRound, AllocationShare, SalesPlan
from kehu.pagination import Page, paginate

PLAN_ORDERINGS = {"id": int, "month": dt.date, "quantity_t": Decimal}
ROUND_ORDERINGS = {"id": int, "month": dt.date}
SHARE_LIMIT = 2_000


def _require_read(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.ORDER_READ):
        raise Forbidden(_("You are not allowed to do this."))


def can_manage(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.has_kehu_perm(Perm.ALLOCATION_MANAGE))


def _via_customer(actor) -> Q:
    return scope_q(actor, owner_field="customer__owner", department_field="customer__department") & Q(
        customer__deleted_at__isnull=True)


def plan_base(*, actor) -> QuerySet[SalesPlan]:
    _require_read(actor)
    return SalesPlan.objects.filter(_via_customer(actor))


def plan_list(*, actor, month: dt.date | None = None, product_line: str | None = None,
              participant_type: str | None = None, customer: int | None = None, ordering: str = "-month",
              limit: int | None = None, cursor: str | None = None) -> Page:
    """Plans of the customers in scope, filtered."""
    qs = plan_base(actor=actor).select_related("customer", "submitted_by")
    if month:
        qs = qs.filter(month=month.replace(day=1))
    if product_line:
        qs = qs.filter(product_line=product_line)
    if participant_type:
        qs = qs.filter(participant_type=participant_type)
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    return paginate(qs, ordering=ordering, allowed=PLAN_ORDERINGS, limit=limit, cursor=cursor)


def plan_get(*, actor, plan_id: int) -> SalesPlan:
    plan = plan_base(actor=actor).select_related("customer", "submitted_by").filter(pk=plan_id).first() \
        if 0 < plan_id < 2**63 else None
    if plan is None:
        raise NotFound(_("Plan not found."))
    return plan


def plan_month_totals(*, actor, month: dt.date) -> list[dict]:
    """Planned tonnes per product line and participant type in the month, over the plans in scope."""
    from django.db.models import Count, Sum

    return list(plan_base(actor=actor).filter(month=month).values("product_line", "participant_type")
                .annotate(n=Count("id"), t=Sum("quantity_t")).order_by("product_line", "participant_type"))


def product_lines(*, actor) -> list[str]:
    """Product lines planned before (for the forms' suggestions)."""
    return list(plan_base(actor=actor).values_list("product_line", flat=True).distinct().order_by(
        "product_line")[:50])


def recent_participants(*, actor, limit: int = 200) -> list[tuple[int, str]]:
    """Customers in scope that have plans (for the plan form's suggestions), by name."""
    rows = (plan_base(actor=actor).values_list("customer_id", "customer__name").distinct()
            .order_by("customer__name")[:limit])
    return list(rows)


def round_list(*, actor, month: dt.date | None = None, product_line: str | None = None, state: str | None = None,
               ordering: str = "-month", limit: int | None = None, cursor: str | None = None) -> Page:
    _require_read(actor)
    qs = AllocationRound.objects.select_related("created_by", "confirmed_by")
    if month:
        qs = qs.filter(month=month.replace(day=1))
    if product_line:
        qs = qs.filter(product_line=product_line)
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering=ordering, allowed=ROUND_ORDERINGS, limit=limit, cursor=cursor)


def round_get(*, actor, round_id: int) -> AllocationRound:
    _require_read(actor)
    rnd = AllocationRound.objects.select_related("created_by", "confirmed_by").filter(pk=round_id).first() \
        if 0 < round_id < 2**63 else None
    if rnd is None:
        raise NotFound(_("Allocation round not found."))
    return rnd


def share_list(*, actor, rnd: AllocationRound) -> list[AllocationShare]:
    """The round's shares of the customers in the actor's scope: classes in the round's order, then the
    larger allocation first."""
    _require_read(actor)
    shares = list(AllocationShare.objects.filter(_via_customer(actor), round=rnd).select_related("customer")
                  .order_by("-allocated_t", "customer_id")[:SHARE_LIMIT])
    rank = {cls: i for i, cls in enumerate(rnd.class_order)}
    shares.sort(key=lambda s: rank.get(s.participant_type, len(rank)))
    return shares


def round_totals(*, actor, rnd: AllocationRound) -> dict | None:
    """The round's totals for those who manage allocation; None for the others."""
    if not can_manage(actor):
        return None
    return {"available_t": rnd.available_t, "total_plan_t": rnd.total_plan_t,
            "total_allocated_t": rnd.total_allocated_t, "summary": rnd.summary}


def customer_shares(*, actor, customer_id: int, limit: int = 24) -> list[AllocationShare]:
    """A customer's shares in confirmed rounds, newest month first (404 outside scope)."""
    from kehu.customers.selectors import customer_get

    _require_read(actor)
    customer_get(actor=actor, customer_id=customer_id)
    return list(AllocationShare.objects.filter(customer_id=customer_id, round__state="confirmed")
                .select_related("round", "customer").order_by("-round__month", "round__product_line")[:limit])


# ---------------------------------------------------------------- the workbench's to-dos (workbench.py)

def month_status(*, actor, months: list[dt.date]) -> list[dict]:
    """For those who manage allocation ([] for the others): each (month, product line) of ``months`` that has
    plans of customers in the actor's scope, or participants in scope who planned that line the month before
    and have no plan yet. Each row: ``plans`` (count), ``planned_t``, ``changed_at`` (the plans' last change),
    ``missing`` (participants yet to plan) and ``round``: the confirmed round of that month and line, else the
    newest draft, else None. At most three queries, whatever the number of plans."""
    from django.db.models import Case, Count, DateField, Exists, Max, OuterRef, Sum, Value, When

    from kehu.grading.allocation.inputs import month_add

    if not can_manage(actor) or not months:
        return []
    before = {month_add(m, -1): m for m in months}
    plans = plan_base(actor=actor)
    agg = list(plans.filter(month__in={*months, *before}).values("month", "product_line")
               .annotate(plans=Count("id"), planned_t=Sum("quantity_t"), changed_at=Max("updated_at"))
               .order_by("month", "product_line"))
    rows = {(r["month"], r["product_line"]): {**r, "missing": 0, "round": None} for r in agg if r["month"] in months}
    if any(r["month"] in before for r in agg):
        target = Case(*[When(month=prev, then=Value(m)) for prev, m in before.items()], output_field=DateField())
        later = SalesPlan.objects.filter(customer_id=OuterRef("customer_id"), product_line=OuterRef("product_line"),
                                         month=OuterRef("target"))
        for r in (plans.filter(month__in=list(before)).annotate(target=target).filter(~Exists(later))
                  .values("target", "product_line").annotate(n=Count("customer_id", distinct=True))
                  .order_by("target", "product_line")):
            key = (r["target"], r["product_line"])
            rows.setdefault(key, {"month": key[0], "product_line": key[1], "plans": 0, "planned_t": Decimal(0),
                                  "changed_at": None, "round": None})["missing"] = r["n"]
    if not rows:
        return []
    for rnd in (AllocationRound.objects.filter(month__in={m for m, _l in rows}, product_line__in={ln for _m, ln in rows})
                .only("id", "month", "product_line", "state", "computed_at").order_by("id")):
        row = rows.get((rnd.month, rnd.product_line))
        if row is not None and (row["round"] is None or row["round"].state != "confirmed"):
            row["round"] = rnd  # the confirmed one wins, else the newest
    return [rows[k] for k in sorted(rows)]
