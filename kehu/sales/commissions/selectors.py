"""Every read of commissions, narrowed to the actor's scope: a split follows its deal's rep and
department; a statement line its rep and the rep's department. Outside the scope: "not found"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Prefetch, Q, Sum
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.access.scopes import in_scope, scope_q
from kehu.errors import BadRequest, Forbidden, NotFound
from kehu.sales.commissions import splits
from kehu.sales.commissions.models import (
    Adjustment,
    AdjustmentStatus,
    CommissionRate,
    CommissionRule,
    DealSplit,
    SplitLine,
)


def can_read(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (
        user.has_kehu_perm(Perm.SALES_WRITE) or user.has_kehu_perm(Perm.SALES_MANAGE)
        or user.has_kehu_perm(Perm.DEPOSIT_WRITE)))


def can_manage(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_kehu_perm(Perm.SALES_MANAGE))


def require_read(user) -> None:
    if not can_read(user):
        raise Forbidden(_("You are not allowed to see commissions."))


def rules(*, actor) -> list[CommissionRule]:
    require_read(actor)
    return list(CommissionRule.objects.order_by("precedence"))


def rates(*, actor) -> list[CommissionRate]:
    require_read(actor)
    return list(CommissionRate.objects.order_by("prefix"))


def split_base(*, actor):
    require_read(actor)
    return DealSplit.objects.filter(scope_q(actor, owner_field="rep", department_field="department"))


def _lines_prefetch():
    return Prefetch("lines", queryset=SplitLine.objects.select_related("user").order_by("-share_percent", "id"))


def deal_splits(*, actor, deal_id: int) -> tuple:
    """The deal (in scope) and its split versions, newest first (the current one first)."""
    from kehu.sales.models import Deal

    require_read(actor)
    deal = Deal.objects.select_related("customer", "rep").filter(pk=deal_id).first()
    if deal is None or not in_scope(actor, owner_id=deal.rep_id, department_id=deal.department_id or
                                    deal.rep.department_id):
        raise NotFound(_("Deal not found."))
    versions = list(DealSplit.objects.filter(deal=deal).select_related("created_by", "adjustment")
                    .prefetch_related(_lines_prefetch()).order_by("-version"))
    return deal, versions


def adjustment_base(*, actor):
    require_read(actor)
    return Adjustment.objects.filter(scope_q(actor, owner_field="rep", department_field="department"))


def pending_adjustments(*, actor, limit: int = 20) -> list[Adjustment]:
    return list(adjustment_base(actor=actor).filter(status=AdjustmentStatus.PENDING)
                .select_related("deal", "rep").order_by("requested_at", "id")[:limit])


def parse_month(value) -> dt.date:
    """'2026-11' (or a date) → the first day of that month."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if isinstance(value, str):
        try:
            y, m = value.strip()[:7].split("-")
            return dt.date(int(y), int(m), 1)
        except (ValueError, OverflowError):
            pass
    raise BadRequest(_("Enter a month as YYYY-MM."), fields={"month": [_("Enter a month as YYYY-MM.")]})


def month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass
class StatementRow:
    split_id: int
    deal_id: int
    deal_title: str
    customer_name: str
    signed_on: dt.date
    base: Decimal
    rule: str
    rule_name: str
    role: str
    is_pool: bool
    share_percent: Decimal
    amount: Decimal
    explanation: str


@dataclass
class Statement:
    """月度佣金结算单 of one rep for one month: their lines, and the pool's share of the same deals on
    lines of its own (not counted in the rep's total)."""

    rep: User
    month: dt.date
    rows: list[StatementRow] = field(default_factory=list)
    total: Decimal = Decimal("0.00")
    pool_total: Decimal = Decimal("0.00")
    deals: int = 0


def statement_rep(*, actor, rep_id) -> User:
    require_read(actor)
    try:
        pk = int(rep_id)
    except (TypeError, ValueError):
        raise NotFound(_("Sales rep not found.")) from None
    rep = User.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if rep is None or not in_scope(actor, owner_id=rep.pk, department_id=rep.department_id):
        raise NotFound(_("Sales rep not found."))
    return rep


def statement(*, actor, rep_id, month) -> Statement:
    """One rep's statement (scope: a rep their own, a manager the department subtree's reps): 2 queries."""
    rep = statement_rep(actor=actor, rep_id=rep_id)
    first = parse_month(month)
    end = month_end(first)
    split_ids = SplitLine.objects.filter(user=rep, current=True, signed_on__gte=first, signed_on__lt=end
                                         ).values("split_id")
    lines = (SplitLine.objects.filter(Q(user=rep) | Q(user__isnull=True), split_id__in=split_ids, current=True)
             .select_related("split", "split__deal", "split__deal__customer")
             .order_by("signed_on", "split_id", F("user_id").asc(nulls_last=True)))
    out = Statement(rep=rep, month=first)
    seen = set()
    for line in lines:
        s = line.split
        out.rows.append(StatementRow(
            split_id=s.pk, deal_id=s.deal_id, deal_title=s.deal.title, customer_name=s.deal.customer.name,
            signed_on=s.signed_on, base=s.base, rule=s.rule, rule_name=s.rule_name, role=line.role,
            is_pool=line.user_id is None, share_percent=line.share_percent, amount=line.amount,
            explanation=s.explanation_zh))
        if line.user_id is None:
            out.pool_total += line.amount
        else:
            out.total += line.amount
            seen.add(s.pk)
    out.deals = len(seen)
    return out


@dataclass
class SummaryRow:
    user_id: int | None
    name: str
    department: str
    amount: Decimal
    lines: int


def month_summary(*, actor, month) -> list[SummaryRow]:
    """Each rep's commission of the month in the actor's scope, and the pool's (公佣) as a row of its own
    (the pool's share of the deals in scope): 2 queries."""
    require_read(actor)
    first = parse_month(month)
    end = month_end(first)
    in_month = Q(current=True, signed_on__gte=first, signed_on__lt=end)
    reps = (SplitLine.objects.filter(in_month, user__isnull=False)
            .filter(scope_q(actor, owner_field="user", department_field="department"))
            .values("user_id", "user__display_name", "user__username", "department__name")
            .annotate(total=Sum("amount"), n=Sum(1)).order_by("-total", "user_id"))
    rows = [SummaryRow(user_id=r["user_id"], name=r["user__display_name"] or r["user__username"],
                       department=r["department__name"] or "", amount=r["total"], lines=r["n"]) for r in reps]
    pool = (SplitLine.objects.filter(in_month, user__isnull=True)
            .filter(scope_q(actor, owner_field="split__rep", department_field="split__department"))
            .aggregate(total=Sum("amount"), n=Sum(1)))
    if pool["total"]:
        rows.append(SummaryRow(user_id=None, name=_("Commission pool"), department="", amount=pool["total"],
                               lines=pool["n"]))
    return rows


def my_two_months(user, today: dt.date) -> tuple[Decimal | None, Decimal | None]:
    """The user's own commission this month and last month (one query)."""
    first = today.replace(day=1)
    prev = (first - dt.timedelta(days=1)).replace(day=1)
    row = (SplitLine.objects.filter(user=user, current=True, signed_on__gte=prev, signed_on__lt=month_end(first))
           .aggregate(this=Sum("amount", filter=Q(signed_on__gte=first)),
                      last=Sum("amount", filter=Q(signed_on__lt=first))))
    return row["this"], row["last"]


def scoped_reps(*, actor) -> list[User]:
    """The reps whose statements the actor may open (for the page's selector)."""
    require_read(actor)
    from kehu.access.roles import Scope

    scope = actor.role_spec.scope
    qs = User.objects.filter(is_active=True)
    if scope == Scope.OWN:
        qs = qs.filter(pk=actor.pk)
    elif scope == Scope.SUBTREE:
        qs = qs.filter(department_id__in=actor.department_subtree_ids())
    return list(qs.filter(Q(pk=actor.pk) | Q(commission_lines__isnull=False)).distinct()
                .order_by("department_id", "username")[:500])


def split_list(*, actor, month=None, rep: int | None = None, rule: str | None = None, ordering: str = "-signed_on",
               limit: int | None = None, cursor: str | None = None):
    """Current splits of won deals in scope, with their lines (2 queries)."""
    from kehu.pagination import paginate

    qs = split_base(actor=actor).filter(current=True).select_related("deal", "deal__customer", "rep")
    if month:
        first = parse_month(month)
        qs = qs.filter(signed_on__gte=first, signed_on__lt=month_end(first))
    if rep:
        qs = qs.filter(rep_id=rep)
    if rule:
        if rule not in (*splits.CODES, "adjusted"):
            raise BadRequest(_("Unknown rule."), fields={"rule": [_("Unknown rule.")]})
        qs = qs.filter(rule=rule)
    page = paginate(qs.prefetch_related(_lines_prefetch()), ordering=ordering,
                    allowed={"id": int, "signed_on": str}, limit=limit, cursor=cursor)
    return page


def adjustment_list(*, actor, status: str | None = None, limit: int | None = None, cursor: str | None = None):
    from kehu.pagination import paginate

    qs = adjustment_base(actor=actor).select_related("deal", "rep", "requested_by")
    if status:
        if status not in AdjustmentStatus.values:
            raise BadRequest(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        qs = qs.filter(status=status)
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)
