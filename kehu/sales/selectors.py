"""Every read of the pipeline: prospects (customers at stage prospect), development plans with their weekly and
monthly progress, opportunities and the forecast, deals with payments and instalments, dunning notices, breach
cases, the deal statistics (周/月成交分析) and the lost-customer analysis. Reading needs Perm.SALES_WRITE or
Perm.SALES_MANAGE (finance, Perm.DEPOSIT_WRITE, reads deals and their money); rows are scoped like customers
by their rep and department. Outside the scope a row does not exist (404)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.customers.models import Customer, Stage
from kehu.errors import BadRequest, Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.sales import rules
from kehu.sales.models import (
    BreachCase,
    BreachState,
    Competitor,
    Deal,
    DealStage,
    DevelopmentPlan,
    DunningNotice,
    Instalment,
    LostReason,
    Opportunity,
    OpportunityStage,
    Outcome,
    ProspectSource,
    SaleObject,
    SalesPolicy,
)

PIPELINE_PERMS = (Perm.SALES_WRITE, Perm.SALES_MANAGE)
DEAL_PERMS = (Perm.SALES_WRITE, Perm.SALES_MANAGE, Perm.DEPOSIT_WRITE)
MAX_ID = 2**63
ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))


def _money(value) -> Decimal:
    """A sum as money to the fen, the same on every database (SQLite's sums come back without the scale)."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _has(actor, perms) -> bool:
    return bool(actor and actor.is_authenticated and any(actor.has_kehu_perm(p) for p in perms))


def can_read_pipeline(actor) -> bool:
    return _has(actor, PIPELINE_PERMS)


def can_read_deals(actor) -> bool:
    return _has(actor, DEAL_PERMS)


def can_manage(actor) -> bool:
    return _has(actor, (Perm.SALES_MANAGE,))


def can_take_money(actor) -> bool:
    return _has(actor, (Perm.DEPOSIT_WRITE,))


def require_pipeline(actor) -> None:
    if not can_read_pipeline(actor):
        raise Forbidden(_("You are not allowed to see the sales pipeline."))


def require_deals(actor) -> None:
    if not can_read_deals(actor):
        raise Forbidden(_("You are not allowed to see deals."))


def _valid_id(pk) -> bool:
    return isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < MAX_ID


def _day(day: dt.date | None, name: str = "day") -> dt.date:
    """The day a report is about (today by default), refused outside 2000-2100 (a 400, not an overflow)."""
    day = day or timezone.localdate()
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise BadRequest(_("Enter a date between 2000 and 2100."), fields={name: [_("Out of range.")]})
    return day


def policy() -> SalesPolicy:
    """The one row of business figures (created with the policy's defaults when missing)."""
    row = SalesPolicy.objects.order_by("id").first()
    return row if row is not None else SalesPolicy.objects.create()


# ---------------------------------------------------------------- configurable rows

def sources(*, active_only: bool = True) -> list[ProspectSource]:
    qs = ProspectSource.objects.all()
    return list(qs.filter(active=True) if active_only else qs)


def stages(*, active_only: bool = True) -> list[OpportunityStage]:
    qs = OpportunityStage.objects.all()
    return list(qs.filter(active=True) if active_only else qs)


def lost_reasons() -> list[LostReason]:
    return list(LostReason.objects.filter(active=True))


def competitors() -> list[Competitor]:
    return list(Competitor.objects.filter(active=True))


# ---------------------------------------------------------------- prospects (潜在客户)

def _source_values(code: str) -> list[str]:
    row = ProspectSource.objects.filter(Q(code=code) | Q(name=code)).first()
    return [row.code, row.name] if row else [code]


def prospect_list(*, actor, source: str | None = None, q: str | None = None, ordering: str = "-updated_at",
                  limit: int | None = None, cursor: str | None = None) -> Page:
    """Customers at stage prospect in the actor's scope, by source."""
    require_pipeline(actor)
    qs = Customer.objects.filter(scope_q(actor), deleted_at__isnull=True, stage=Stage.PROSPECT).select_related("owner")
    if source:
        qs = qs.filter(source__in=_source_values(source))
    if q:
        qs = qs.filter(name__icontains=q.strip()[:100])
    return paginate(qs, ordering=ordering, allowed={"id": int, "updated_at": dt.datetime}, limit=limit, cursor=cursor)


def prospect_counts(*, actor) -> list[dict]:
    """Prospects in scope per source (one grouped query)."""
    require_pipeline(actor)
    rows = (Customer.objects.filter(scope_q(actor), deleted_at__isnull=True, stage=Stage.PROSPECT)
            .values("source").annotate(n=Count("id")).order_by("-n"))
    names = {s.code: s.name for s in sources(active_only=False)}
    return [{"source": r["source"], "name": names.get(r["source"], r["source"] or _("(none)")), "count": r["n"]}
            for r in rows]


# ---------------------------------------------------------------- development plans

def plan_base(*, actor) -> QuerySet[DevelopmentPlan]:
    require_pipeline(actor)
    return DevelopmentPlan.objects.filter(scope_q(actor))


def plan_list(*, actor, state: str | None = None, owner: int | None = None, ordering: str = "-id",
              limit: int | None = None, cursor: str | None = None) -> Page:
    qs = plan_base(actor=actor).select_related("owner", "department")
    if state:
        qs = qs.filter(state=state)
    if owner:
        qs = qs.filter(owner_id=owner)
    return paginate(qs, ordering=ordering, allowed={"id": int, "starts_on": dt.date}, limit=limit, cursor=cursor)


def plan_get(*, actor, plan_id: int, for_update: bool = False) -> DevelopmentPlan:
    qs = plan_base(actor=actor).select_related("owner", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    plan = qs.filter(pk=plan_id).first() if _valid_id(plan_id) else None
    if plan is None:
        raise NotFound(_("Development plan not found."))
    return plan


def _department_plan(plan: DevelopmentPlan) -> bool:
    """Whose work counts for a plan: its owner's (a rep's plan), or the whole department's when the owner manages
    it (a department head's plan)."""
    return bool(plan.owner.has_kehu_perm(Perm.SALES_MANAGE) and plan.department_id)


def progress_figures(plan: DevelopmentPlan, start: dt.date, end: dt.date) -> dict:
    """What the plan's people achieved from ``start`` to ``end`` (inclusive): new prospects, new opportunities,
    opportunities won and lost, deals signed and their amount — five grouped queries."""
    tz = timezone.get_current_timezone()
    lo = dt.datetime.combine(start, dt.time.min, tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tz)
    whole = _department_plan(plan)
    who = Q(department_id=plan.department_id) if whole else Q(owner_id=plan.owner_id)
    prospects = Customer.objects.filter(who, deleted_at__isnull=True, created_at__gte=lo, created_at__lt=hi).count()
    opps = Opportunity.objects.filter(who, created_at__gte=lo, created_at__lt=hi).count()
    closed = Opportunity.objects.filter(who, closed_on__gte=start, closed_on__lte=end).aggregate(
        won=Count("id", filter=Q(outcome=Outcome.WON)), lost=Count("id", filter=Q(outcome=Outcome.LOST)))
    deal_who = Q(department_id=plan.department_id) if whole else Q(rep_id=plan.owner_id)
    deals = Deal.objects.filter(deal_who, stage=DealStage.SIGNED, signed_on__gte=start, signed_on__lte=end).aggregate(
        n=Count("id"), amount=Coalesce(Sum("amount"), ZERO))
    return {"prospects": prospects, "opportunities": opps, "won": closed["won"], "lost": closed["lost"],
            "deals": deals["n"], "amount": _money(deals["amount"])}


def plan_progress(*, actor, plan_id: int, period: str = "week", day: dt.date | None = None) -> dict:
    """The weekly summary (周总结) or monthly report (月汇报) of a plan, computed from the data: the period's figures,
    the figures since the plan started, the targets and how much of each is reached."""
    if period not in ("week", "month"):
        raise BadRequest(_("The period is week or month."), fields={"period": [_("Unknown period.")]})
    plan = plan_get(actor=actor, plan_id=plan_id)
    day = _day(day)
    start, end = rules.period_bounds(period, day)
    current = progress_figures(plan, start, end)
    to_date = progress_figures(plan, plan.starts_on, min(end, plan.deadline))
    targets = {"prospects": plan.target_prospects, "opportunities": plan.target_opportunities,
               "deals": plan.target_deals, "amount": plan.target_amount}
    reached = {k: rules.rate(int(to_date[k]), int(v)) for k, v in targets.items()}
    today = timezone.localdate()
    elapsed = rules.rate(max(0, min((today - plan.starts_on).days + 1, (plan.deadline - plan.starts_on).days + 1)),
                         (plan.deadline - plan.starts_on).days + 1)
    return {"plan": plan, "period": period, "label": rules.period_key(period, start), "start": start, "end": end,
            "current": current, "to_date": to_date, "targets": targets, "reached": reached,
            "time_elapsed": elapsed}


# ---------------------------------------------------------------- opportunities

def opportunity_base(*, actor) -> QuerySet[Opportunity]:
    require_pipeline(actor)
    return Opportunity.objects.filter(scope_q(actor))


def opportunity_list(*, actor, outcome: str | None = None, stage: int | None = None, owner: int | None = None,
                     customer: int | None = None, source: str | None = None, ordering: str = "-id",
                     limit: int | None = None, cursor: str | None = None) -> Page:
    qs = opportunity_base(actor=actor).select_related("customer", "stage", "owner", "lost_reason", "competitor")
    if outcome:
        qs = qs.filter(outcome=outcome)
    if stage:
        qs = qs.filter(stage_id=stage)
    if owner:
        qs = qs.filter(owner_id=owner)
    if customer:
        qs = qs.filter(customer_id=customer)
    if source:
        qs = qs.filter(source__in=_source_values(source))
    return paginate(qs, ordering=ordering, allowed={"id": int, "expected_close": dt.date}, limit=limit, cursor=cursor)


def opportunity_get(*, actor, opportunity_id: int, for_update: bool = False) -> Opportunity:
    qs = opportunity_base(actor=actor).select_related("customer", "stage", "owner", "lost_reason", "competitor")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    opp = qs.filter(pk=opportunity_id).first() if _valid_id(opportunity_id) else None
    if opp is None:
        raise NotFound(_("Opportunity not found."))
    return opp


def opportunity_events(*, opportunity: Opportunity, limit: int = 50):
    return list(opportunity.events.select_related("actor").order_by("-at", "-id")[:limit])


def forecast(*, actor, months: int = 6, start: dt.date | None = None) -> list[dict]:
    """The forecast by expected close month (weighted by the stage's probability) of the open opportunities in
    scope, and what was won in each month — two grouped queries."""
    require_pipeline(actor)
    first = rules.month_start(_day(start, "start"))
    months = max(1, min(int(months), 24))
    last = rules.add_months(first, months)
    base = opportunity_base(actor=actor)
    open_rows = (base.filter(outcome=Outcome.OPEN, expected_close__gte=first, expected_close__lt=last)
                 .values("expected_close", "stage__probability")
                 .annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO)))
    won_rows = (base.filter(outcome=Outcome.WON, closed_on__gte=first, closed_on__lt=last)
                .values("closed_on__year", "closed_on__month").annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO)))
    out = {}
    for i in range(months):
        m = rules.add_months(first, i)
        out[f"{m:%Y-%m}"] = {"month": f"{m:%Y-%m}", "open": 0, "pipeline": Decimal("0.00"),
                             "weighted": Decimal("0.00"), "won": 0, "won_amount": Decimal("0.00")}
    for r in open_rows:
        row = out.get(f"{r['expected_close']:%Y-%m}")
        if row is not None:
            row["open"] += r["n"]
            row["pipeline"] += _money(r["amount"])
            row["weighted"] += rules.weighted(r["amount"], r["stage__probability"])
    for r in won_rows:
        row = out.get(f"{r['closed_on__year']:04d}-{r['closed_on__month']:02d}")
        if row is not None:
            row["won"] += r["n"]
            row["won_amount"] += _money(r["amount"])
    return list(out.values())


def lost_analysis(*, actor, date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Lost opportunities in scope by reason and by competitor (丢单/竞争对手分析), with the amounts lost."""
    require_pipeline(actor)
    qs = opportunity_base(actor=actor).filter(outcome=Outcome.LOST)
    if date_from:
        qs = qs.filter(closed_on__gte=date_from)
    if date_to:
        qs = qs.filter(closed_on__lte=date_to)
    by_reason = list(qs.values("lost_reason__name").annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO))
                     .order_by("-n", "lost_reason__name"))
    by_competitor = list(qs.values("competitor__name").annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO))
                         .order_by("-n", "competitor__name"))
    total = sum(r["n"] for r in by_reason)
    return {"total": total,
            "by_reason": [{"name": r["lost_reason__name"], "count": r["n"], "amount": _money(r["amount"]),
                           "share": rules.rate(r["n"], total)} for r in by_reason],
            "by_competitor": [{"name": r["competitor__name"] or _("(unknown)"), "count": r["n"],
                               "amount": _money(r["amount"]),
                               "share": rules.rate(r["n"], total)} for r in by_competitor]}


# ---------------------------------------------------------------- deals

def deal_base(*, actor) -> QuerySet[Deal]:
    require_deals(actor)
    return Deal.objects.filter(scope_q(actor, owner_field="rep"))


def deal_list(*, actor, stage: str | None = None, rep: int | None = None, customer: int | None = None,
              ordering: str = "-id", limit: int | None = None, cursor: str | None = None) -> Page:
    qs = deal_base(actor=actor).select_related("customer", "rep", "sale_object").annotate(
        paid=Coalesce(Sum("payments__amount"), ZERO))
    if stage:
        qs = qs.filter(stage=stage)
    if rep:
        qs = qs.filter(rep_id=rep)
    if customer:
        qs = qs.filter(customer_id=customer)
    return paginate(qs, ordering=ordering, allowed={"id": int}, limit=limit, cursor=cursor)


def deal_get(*, actor, deal_id: int, for_update: bool = False) -> Deal:
    qs = deal_base(actor=actor).select_related("customer", "rep", "sale_object", "opportunity")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    deal = qs.filter(pk=deal_id).first() if _valid_id(deal_id) else None
    if deal is None:
        raise NotFound(_("Deal not found."))
    return deal


def deal_payments(*, deal: Deal):
    return list(deal.payments.select_related("recorded_by", "instalment").order_by("received_on", "id"))


def deal_instalments(*, deal: Deal):
    return list(deal.instalments.order_by("seq"))


def deal_events(*, deal: Deal, limit: int = 50):
    return list(deal.events.select_related("actor").order_by("-at", "-id")[:limit])


def object_list(*, actor, status: str | None = None, q: str | None = None, limit: int = 200) -> list[SaleObject]:
    """The inventory (标的) the deals sell: every sales reader sees it (it is the company's, not a rep's)."""
    require_deals(actor)
    qs = SaleObject.objects.all()
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(code__icontains=q[:100]) | Q(name__icontains=q[:100]))
    return list(qs.order_by("code")[:max(1, min(limit, 500))])


# ---------------------------------------------------------------- instalments, dunning, breach

def instalment_base(*, actor) -> QuerySet[Instalment]:
    require_deals(actor)
    return Instalment.objects.filter(scope_q(actor, owner_field="rep"))


def overdue_instalments(*, actor, today: dt.date | None = None, limit: int | None = None,
                        cursor: str | None = None) -> Page:
    today = today or timezone.localdate()
    qs = instalment_base(actor=actor).filter(paid_on__isnull=True, due_on__lt=today).select_related(
        "deal", "deal__customer", "rep")
    return paginate(qs, ordering="due_on", allowed={"due_on": dt.date}, limit=limit, cursor=cursor)


def dunning_base(*, actor) -> QuerySet[DunningNotice]:
    require_deals(actor)
    return DunningNotice.objects.filter(scope_q(actor, owner_field="rep"))


def dunning_list(*, actor, limit: int | None = None, cursor: str | None = None) -> Page:
    qs = dunning_base(actor=actor).select_related("instalment", "instalment__deal", "instalment__deal__customer", "rep")
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


def dunning_get(*, actor, notice_id: int) -> DunningNotice:
    notice = (dunning_base(actor=actor).select_related("instalment", "instalment__deal", "instalment__deal__customer",
                                                       "rep").filter(pk=notice_id).first()
              if _valid_id(notice_id) else None)
    if notice is None:
        raise NotFound(_("Dunning notice not found."))
    return notice


def breach_base(*, actor) -> QuerySet[BreachCase]:
    require_deals(actor)
    return BreachCase.objects.filter(scope_q(actor, owner_field="rep"))


def breach_list(*, actor, state: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
    qs = breach_base(actor=actor).select_related("deal", "deal__customer", "instalment", "rep")
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


def breach_get(*, actor, case_id: int, for_update: bool = False) -> BreachCase:
    qs = breach_base(actor=actor).select_related("deal", "deal__customer", "instalment", "rep")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    case = qs.filter(pk=case_id).first() if _valid_id(case_id) else None
    if case is None:
        raise NotFound(_("Breach case not found."))
    return case


def open_breach_count(*, actor) -> int:
    return breach_base(actor=actor).filter(state=BreachState.OPEN).count()


# ---------------------------------------------------------------- deal statistics (周/月成交分析)

def deal_stats(*, actor, period: str = "month", day: dt.date | None = None) -> dict:
    """The week's or month's signed deals in scope: count and amount, by rep, by source, and the conversion from
    opportunity (opportunities won / closed in the period) — four grouped queries over the signed_on index."""
    if period not in ("week", "month"):
        raise BadRequest(_("The period is week or month."), fields={"period": [_("Unknown period.")]})
    day = _day(day)
    start, end = rules.period_bounds(period, day)
    signed = deal_base(actor=actor).filter(stage=DealStage.SIGNED, signed_on__gte=start, signed_on__lte=end)
    total = signed.aggregate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO))
    by_rep = list(signed.values("rep_id", "rep__display_name", "rep__username")
                  .annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO)).order_by("-amount", "rep_id"))
    by_source = list(signed.values("source").annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO))
                     .order_by("-amount", "source"))
    names = {s.code: s.name for s in ProspectSource.objects.all()}
    opp = Opportunity.objects.filter(scope_q(actor), closed_on__gte=start, closed_on__lte=end).aggregate(
        won=Count("id", filter=Q(outcome=Outcome.WON)), lost=Count("id", filter=Q(outcome=Outcome.LOST))) \
        if can_read_pipeline(actor) else {"won": 0, "lost": 0}
    from_opp = signed.filter(opportunity__isnull=False).count()
    return {"period": period, "label": rules.period_key(period, start), "start": start, "end": end,
            "count": total["n"], "amount": _money(total["amount"]),
            "by_rep": [{"id": r["rep_id"], "name": r["rep__display_name"] or r["rep__username"], "count": r["n"],
                        "amount": _money(r["amount"])} for r in by_rep],
            "by_source": [{"source": r["source"], "name": names.get(r["source"], r["source"]) or _("(none)"),
                           "count": r["n"], "amount": _money(r["amount"])} for r in by_source],
            "opportunities_won": opp["won"], "opportunities_lost": opp["lost"],
            "conversion": rules.rate(opp["won"], opp["won"] + opp["lost"]), "deals_from_opportunities": from_opp}


def deal_trend(*, actor, period: str = "month", day: dt.date | None = None, count: int = 6) -> list[dict]:
    """The last ``count`` weeks or months of signed deals in scope (count, amount): one grouped query."""
    if period not in ("week", "month"):
        raise BadRequest(_("The period is week or month."), fields={"period": [_("Unknown period.")]})
    day = _day(day)
    count = max(1, min(int(count), 24))
    if period == "month":
        first = rules.add_months(rules.month_start(day), -(count - 1))
    else:
        first = rules.week_bounds(day)[0] - dt.timedelta(weeks=count - 1)
    _s, end = rules.period_bounds(period, day)
    rows = (deal_base(actor=actor).filter(stage=DealStage.SIGNED, signed_on__gte=first, signed_on__lte=end)
            .values("signed_on").annotate(n=Count("id"), amount=Coalesce(Sum("amount"), ZERO)))
    buckets: dict[str, dict] = {}
    cursor = first
    while cursor <= end:
        key = rules.period_key(period, cursor)
        buckets[key] = {"label": key, "count": 0, "amount": Decimal("0.00")}
        cursor = rules.add_months(cursor, 1) if period == "month" else cursor + dt.timedelta(weeks=1)
    for r in rows:
        b = buckets.get(rules.period_key(period, r["signed_on"]))
        if b is not None:
            b["count"] += r["n"]
            b["amount"] += _money(r["amount"])
    return list(buckets.values())
