"""/api/v1/commissions/…: commission split rules as data, the split of each won deal with its explanation, changes after closing through approval, monthly commission statements per rep. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import get_language
from ninja import Query, Router, Schema, Status

from kehu.sales.commissions import selectors, services
from kehu.sales.commissions.models import Adjustment, DealSplit

router = Router(tags=["commissions"])


def _explanation(split: DealSplit) -> str:
    lang = (get_language() or "zh-hans").lower()
    return split.explanation_zh if lang.startswith("zh") or not split.explanation_en else split.explanation_en


# ---------------------------------------------------------------- shapes

class RuleOut(Schema):
    code: str
    name: str
    label: str
    share_percent: Decimal
    other_percent: Decimal
    precedence: int
    active: bool
    variant: str
    source: str
    version: int


class RuleIn(Schema):
    share_percent: Decimal | str | None = None
    precedence: int | None = None
    active: bool | None = None
    variant: str | None = None
    version: int | None = None


class RateOut(Schema):
    id: int
    prefix: str
    name: str
    rate_percent: Decimal
    active: bool


class RateIn(Schema):
    prefix: str = ""
    name: str
    rate_percent: Decimal | str
    active: bool = True


class LineOut(Schema):
    role: str
    user: int | None
    user_name: str | None
    pool: bool
    share_percent: Decimal
    amount: Decimal


class SplitOut(Schema):
    id: int
    deal: int
    deal_title: str
    customer: int
    customer_name: str
    rep: int
    rep_name: str
    version: int
    current: bool
    signed_on: dt.date
    base: Decimal
    base_source: str
    rate_percent: Decimal | None
    rule: str
    rule_name: str
    explanation: str
    explanation_zh: str
    lines: list[LineOut]
    adjustment: int | None
    created_at: dt.datetime


class SplitPage(Schema):
    items: list[SplitOut]
    next: str | None


class DealCommissionOut(Schema):
    deal: int
    current: SplitOut | None
    history: list[SplitOut]


class BaseIn(Schema):
    amount: Decimal | str


class BaseOut(Schema):
    deal: int
    amount: Decimal


class CompanyIn(Schema):
    arranged_by_company: bool = False
    followed_up_by_other_staff: bool = False
    note: str = ""
    withdraw: bool = False


class CompanyOut(Schema):
    deal: int
    company_customer: bool
    arranged_by_company: bool
    followed_up_by_other_staff: bool
    note: str


class AdjLineIn(Schema):
    user: int | None = None
    share: Decimal | str


class AdjustmentIn(Schema):
    lines: list[AdjLineIn]
    reason: str
    base: Decimal | str | None = None


class AdjustmentOut(Schema):
    id: int
    deal: int
    deal_title: str
    rep: int
    from_version: int
    base: Decimal
    lines: list[dict]
    reason: str
    status: str
    requested_by: int
    requested_at: dt.datetime
    decided_at: dt.datetime | None


class AdjustmentPage(Schema):
    items: list[AdjustmentOut]
    next: str | None


class StatementRowOut(Schema):
    deal: int
    deal_title: str
    customer_name: str
    signed_on: dt.date
    base: Decimal
    rule: str
    rule_name: str
    role: str
    pool: bool
    share_percent: Decimal
    amount: Decimal
    explanation: str


class StatementOut(Schema):
    rep: int
    rep_name: str
    month: str
    deals: int
    total: Decimal
    pool_total: Decimal
    rows: list[StatementRowOut]


class SummaryRowOut(Schema):
    user: int | None
    name: str
    department: str
    pool: bool
    amount: Decimal
    lines: int


class SummaryOut(Schema):
    month: str
    rows: list[SummaryRowOut]


def rule_out(r) -> dict:
    return {"code": r.code, "name": r.name, "label": r.get_code_display(), "share_percent": r.share_percent,
            "other_percent": Decimal("100") - r.share_percent, "precedence": r.precedence, "active": r.active,
            "variant": r.variant, "source": r.source, "version": r.version}


def split_out(s: DealSplit) -> dict:
    return {"id": s.pk, "deal": s.deal_id, "deal_title": s.deal.title, "customer": s.deal.customer_id,
            "customer_name": s.deal.customer.name, "rep": s.rep_id, "rep_name": str(s.rep), "version": s.version,
            "current": s.current, "signed_on": s.signed_on, "base": s.base, "base_source": s.base_source,
            "rate_percent": s.rate_percent, "rule": s.rule, "rule_name": s.rule_name,
            "explanation": _explanation(s), "explanation_zh": s.explanation_zh,
            "lines": [{"role": ln.role, "user": ln.user_id, "user_name": str(ln.user) if ln.user_id else None,
                       "pool": ln.user_id is None, "share_percent": ln.share_percent, "amount": ln.amount}
                      for ln in s.lines.all()],
            "adjustment": s.adjustment_id, "created_at": s.created_at}


def adjustment_out(a: Adjustment) -> dict:
    return {"id": a.pk, "deal": a.deal_id, "deal_title": a.deal.title, "rep": a.rep_id,
            "from_version": a.from_split.version, "base": a.base, "lines": a.lines, "reason": a.reason,
            "status": a.status, "requested_by": a.requested_by_id, "requested_at": a.requested_at,
            "decided_at": a.decided_at}


# ---------------------------------------------------------------- rules and rates

@router.get("/commissions/rules", response=list[RuleOut], summary="Commission split rules, by precedence")
def rule_list(request):
    return [rule_out(r) for r in selectors.rules(actor=request.user)]


@router.patch("/commissions/rules/{code}", response=RuleOut,
              summary="Change a rule's share, precedence, active flag or variant (sales.manage)")
def rule_update(request, code: str, payload: RuleIn):
    data = {k: v for k, v in payload.dict().items() if v is not None}
    return rule_out(services.rule_update(actor=request.user, code=code, data=data))


@router.get("/commissions/rates", response=list[RateOut], summary="Commission rates per product or deal type")
def rate_list(request):
    return [{"id": r.pk, "prefix": r.prefix, "name": r.name, "rate_percent": r.rate_percent, "active": r.active}
            for r in selectors.rates(actor=request.user)]


@router.post("/commissions/rates", response=RateOut, summary="Create or change a rate (sales.manage)")
def rate_set(request, payload: RateIn):
    r = services.rate_set(actor=request.user, prefix=payload.prefix, name=payload.name,
                          rate_percent=payload.rate_percent, active=payload.active)
    return {"id": r.pk, "prefix": r.prefix, "name": r.name, "rate_percent": r.rate_percent, "active": r.active}


# ---------------------------------------------------------------- splits

class SplitFilters(Schema):
    month: str | None = None
    rep: int | None = None
    rule: str | None = None
    ordering: str = "-signed_on"
    limit: int | None = None
    cursor: str | None = None


@router.get("/commissions/splits", response=SplitPage, summary="Current commission splits of won deals in my scope")
def split_list(request, filters: Query[SplitFilters]):
    page = selectors.split_list(actor=request.user, **filters.dict())
    return {"items": [split_out(s) for s in page.items], "next": page.next}


@router.get("/commissions/deals/{deal_id}", response=DealCommissionOut,
            summary="A won deal's split with its explanation and its history")
def deal_commission(request, deal_id: int):
    deal, versions = selectors.deal_splits(actor=request.user, deal_id=deal_id)
    for v in versions:
        v.deal = deal
    current = next((v for v in versions if v.current), None)
    return {"deal": deal.pk, "current": split_out(current) if current else None,
            "history": [split_out(v) for v in versions if not v.current]}


@router.post("/commissions/deals/{deal_id}/base", response=BaseOut,
             summary="Enter the commission base of a deal not yet won (sales.manage)")
def base_enter(request, deal_id: int, payload: BaseIn):
    entry = services.base_enter(actor=request.user, deal_id=deal_id, amount=payload.amount)
    return {"deal": entry.deal_id, "amount": entry.amount}


@router.post("/commissions/deals/{deal_id}/company", response=CompanyOut,
             summary="Declare (or withdraw) a deal not yet won as a company customer's (公司客户, sales.manage)")
def company_declare(request, deal_id: int, payload: CompanyIn):
    row = services.company_customer_declare(actor=request.user, deal_id=deal_id, **payload.dict())
    return {"deal": deal_id, "company_customer": row is not None,
            "arranged_by_company": bool(row and row.arranged_by_company),
            "followed_up_by_other_staff": bool(row and row.followed_up_by_other_staff), "note": row.note if row else ""}


@router.post("/commissions/deals/{deal_id}/adjustments", response={201: AdjustmentOut},
             summary="Ask for a change of a closed deal's split (approved through commission.adjustment)")
def adjustment_request(request, deal_id: int, payload: AdjustmentIn):
    adj = services.adjustment_request(actor=request.user, deal_id=deal_id, reason=payload.reason,
                                      lines=[x.dict() for x in payload.lines], base=payload.base)
    return Status(201, adjustment_out(adj))


class AdjustmentFilters(Schema):
    status: str | None = None
    limit: int | None = None
    cursor: str | None = None


@router.get("/commissions/adjustments", response=AdjustmentPage, summary="Commission adjustments in my scope")
def adjustment_list(request, filters: Query[AdjustmentFilters]):
    page = selectors.adjustment_list(actor=request.user, **filters.dict())
    return {"items": [adjustment_out(a) for a in page.items], "next": page.next}


# ---------------------------------------------------------------- statements

class StatementQuery(Schema):
    month: str
    rep: int | None = None


@router.get("/commissions/statements", response=StatementOut,
            summary="A rep's monthly commission statement (月度佣金结算单); default: my own")
def statement(request, q: Query[StatementQuery]):
    st = selectors.statement(actor=request.user, rep_id=q.rep or request.user.pk, month=q.month)
    return statement_out(st)


def statement_out(st) -> dict:
    return {"rep": st.rep.pk, "rep_name": str(st.rep), "month": st.month.strftime("%Y-%m"), "deals": st.deals,
            "total": st.total, "pool_total": st.pool_total,
            "rows": [{"deal": r.deal_id, "deal_title": r.deal_title, "customer_name": r.customer_name,
                      "signed_on": r.signed_on, "base": r.base, "rule": r.rule, "rule_name": r.rule_name,
                      "role": r.role, "pool": r.is_pool, "share_percent": r.share_percent, "amount": r.amount,
                      "explanation": r.explanation} for r in st.rows]}


class MonthQuery(Schema):
    month: str


@router.get("/commissions/summary", response=SummaryOut,
            summary="Each rep's commission of the month in my scope, and the pool's as its own line")
def summary(request, q: Query[MonthQuery]):
    rows = selectors.month_summary(actor=request.user, month=q.month)
    first = selectors.parse_month(q.month)
    return {"month": first.strftime("%Y-%m"),
            "rows": [{"user": r.user_id, "name": r.name, "department": r.department, "pool": r.user_id is None,
                      "amount": r.amount, "lines": r.lines} for r in rows]}
