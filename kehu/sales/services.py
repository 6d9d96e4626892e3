"""Every write of the pipeline. Each takes the acting user first, checks the permission (Perm.SALES_WRITE for
prospects, plans, opportunities and deals in one's scope; Perm.SALES_MANAGE for sources and breach cases;
Perm.DEPOSIT_WRITE — finance, never a rep — for deposits and payments) and the scope (through the selectors: a
row outside it is a 404), runs in one transaction and writes its audit entry there. A deal or a deposit asks
kehu.customers.gates first (a pending, suspended or disqualified customer is a 409)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import Department
from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.gates import Action, ensure_business_allowed
from kehu.customers.models import Stage
from kehu.customers.selectors import customer_get
from kehu.errors import Conflict, Forbidden, Invalid, NotFound, from_django_validation
from kehu.notifications.services import notify
from kehu.sales import rules, selectors
from kehu.sales.hooks import deal_won
from kehu.sales.models import (
    BreachCase,
    BreachState,
    Competitor,
    Deal,
    DealEvent,
    DealPayment,
    DealStage,
    DevelopmentPlan,
    DunningNotice,
    Instalment,
    LostReason,
    ObjectStatus,
    Opportunity,
    OpportunityEvent,
    OpportunityStage,
    Outcome,
    PaymentKind,
    PlanState,
    ProspectSource,
    SaleObject,
)

TEXT_MAX = 4000
MONEY_MAX = Decimal("999999999999.99")
PLAN_CHAIN = "development.plan"


# ---------------------------------------------------------------- parsing helpers

def _raise(errors: dict) -> None:
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
        return n if 0 < n < 2**63 else None
    return None


def _count(data: dict, name: str, errors: dict) -> int:
    value = data.get(name, 0)
    if value in (None, ""):
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        errors[name] = [_("Enter a whole number between 0 and 1,000,000.")]
        return 0
    return value


def _money(data: dict, name: str, errors: dict, *, required: bool = False, positive: bool = False,
           default: str = "0") -> Decimal:
    value = data.get(name)
    if value in (None, ""):
        if required:
            errors[name] = [_("This field is required.")]
        return Decimal(default)
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        errors[name] = [_("Enter an amount.")]
        return Decimal(default)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        errors[name] = [_("Enter an amount.")]
        return Decimal(default)
    if not amount.is_finite() or amount < 0 or amount > MONEY_MAX or (positive and amount <= 0):
        errors[name] = [_("Enter an amount greater than zero.") if positive else _("Enter an amount of at least zero.")]
        return Decimal(default)
    return amount.quantize(Decimal("0.01"))


def _date(data: dict, name: str, errors: dict, *, required: bool = True) -> dt.date | None:
    value = _any_date(data, name, errors, required=required)
    if value is not None and not 2000 <= value.year <= 2100:
        errors[name] = [_("Enter a date between 2000 and 2100.")]
        return None
    return value


def _any_date(data: dict, name: str, errors: dict, *, required: bool) -> dt.date | None:
    value = data.get(name)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value in (None, ""):
        if required:
            errors[name] = [_("This field is required.")]
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 7:  # a month: 2026-12
            text += "-01"
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    errors[name] = [_("Enter a date (YYYY-MM-DD).")]
    return None


def _text(data: dict, name: str, errors: dict, *, max_length: int = TEXT_MAX, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = [_("This field is required.")]
    elif len(value) > max_length:
        errors[name] = [_("At most %(n)d characters.") % {"n": max_length}]
    return value


def _clean(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from exc


def _require(actor, perm: str, message: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(perm):
        raise Forbidden(message)


def _require_sales(actor) -> None:
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to change the sales pipeline."))


def _require_manage(actor) -> None:
    _require(actor, Perm.SALES_MANAGE, _("Only a sales manager, an executive or an administrator may do this."))


def _require_money(actor) -> None:
    _require(actor, Perm.DEPOSIT_WRITE, _("Only finance records deposits and payments."))


def _customer(actor, value, errors: dict):
    pk = _int(value)
    if pk is None:
        errors["customer"] = [_("Choose a customer.")]
        return None
    return customer_get(actor=actor, customer_id=pk)


# ---------------------------------------------------------------- prospect sources and conversion

@transaction.atomic
def source_save(*, actor, data: dict) -> ProspectSource:
    """Add or rename a prospect source (a row, matched by its code)."""
    _require_manage(actor)
    errors: dict = {}
    code = _text(data, "code", errors, max_length=50, required=True)
    name = _text(data, "name", errors, max_length=50, required=True)
    position = _count(data, "position", errors)
    _raise(errors)
    row = ProspectSource.objects.filter(code=code).first() or ProspectSource(code=code)
    row.name, row.position, row.active = name, position, data.get("active", True) is not False
    _clean(row)
    row.save()
    audit_record(actor=actor, action="sales.source_save", obj=row, changes={"code": code, "name": name})
    return row


@transaction.atomic
def prospect_convert(*, actor, customer_id, data: dict) -> Opportunity:
    """Convert a prospect (潜在客户) into an opportunity: the customer moves to stage "intent" and the opportunity
    opens at the first stage of the funnel."""
    _require_sales(actor)
    customer = customer_get(actor=actor, customer_id=_int(customer_id) or 0)
    if customer.stage != Stage.PROSPECT:
        raise Conflict(_("Only a prospect can be converted."), code="not_a_prospect")
    opp = opportunity_create(actor=actor, data={**data, "customer": customer.pk})
    from kehu.customers.services import customer_update

    customer_update(actor=actor, customer_id=customer.pk, data={"stage": Stage.INTENT})
    audit_record(actor=actor, action="sales.prospect_convert", obj=customer, changes={"opportunity": opp.pk})
    return opp


# ---------------------------------------------------------------- development plans (开发计划)

def _plan_fields(plan: DevelopmentPlan, data: dict) -> list[int] | None:
    errors: dict = {}
    plan.title = _text(data, "title", errors, max_length=200, required=True)
    plan.starts_on = _date(data, "starts_on", errors)
    plan.deadline = _date(data, "deadline", errors)
    for name in ("target_prospects", "target_opportunities", "target_deals"):
        setattr(plan, name, _count(data, name, errors))
    plan.target_amount = _money(data, "target_amount", errors)
    plan.budget = _money(data, "budget", errors)
    plan.support_needed = _text(data, "support_needed", errors)
    departments = data.get("support_departments")
    ids = None
    if departments is not None:
        if not isinstance(departments, list) or any(_int(d) is None for d in departments):
            errors["support_departments"] = [_("Choose departments.")]
        else:
            ids = sorted({_int(d) for d in departments})
            if Department.objects.filter(pk__in=ids).count() != len(ids):
                errors["support_departments"] = [_("Unknown department.")]
    if plan.starts_on and plan.deadline and plan.deadline < plan.starts_on:
        errors["deadline"] = [_("The deadline is before the start.")]
    if not errors and not any((plan.target_prospects, plan.target_opportunities, plan.target_deals,
                               plan.target_amount)):
        errors["target_prospects"] = [_("Set at least one target.")]
    _raise(errors)
    return ids


@transaction.atomic
def plan_create(*, actor, data: dict) -> DevelopmentPlan:
    """A development plan of the actor (a rep's, or a department head's for the department)."""
    _require_sales(actor)
    plan = DevelopmentPlan(owner=actor, department_id=actor.department_id, created_by=actor)
    ids = _plan_fields(plan, data)
    _clean(plan)
    plan.save()
    if ids is not None:
        plan.support_departments.set(ids)
    audit_record(actor=actor, action="sales.plan_create", obj=plan,
                 changes={"title": plan.title, "deadline": plan.deadline.isoformat(), "budget": str(plan.budget)})
    return plan


@transaction.atomic
def plan_update(*, actor, plan_id, data: dict) -> DevelopmentPlan:
    """Change a draft plan (its owner, or a manager in scope)."""
    _require_sales(actor)
    plan = selectors.plan_get(actor=actor, plan_id=_int(plan_id) or 0, for_update=True)
    if plan.owner_id != actor.pk:
        _require_manage(actor)
    if plan.state not in (PlanState.DRAFT, PlanState.REJECTED):
        raise Conflict(_("Only a draft plan can be changed."), code="plan_not_draft")
    ids = _plan_fields(plan, {**_plan_state(plan), **data})
    _clean(plan)
    plan.save()
    if ids is not None:
        plan.support_departments.set(ids)
    audit_record(actor=actor, action="sales.plan_update", obj=plan, changes={"title": plan.title})
    return plan


def _plan_state(plan: DevelopmentPlan) -> dict:
    return {"title": plan.title, "starts_on": plan.starts_on, "deadline": plan.deadline,
            "target_prospects": plan.target_prospects, "target_opportunities": plan.target_opportunities,
            "target_deals": plan.target_deals, "target_amount": str(plan.target_amount), "budget": str(plan.budget),
            "support_needed": plan.support_needed}


@transaction.atomic
def plan_submit(*, actor, plan_id) -> DevelopmentPlan:
    """Send a draft plan to the approval chain ``development.plan``: the department head, then the managers'
    meeting (经理办公会)."""
    from kehu.approvals.services import approval_request

    _require_sales(actor)
    plan = selectors.plan_get(actor=actor, plan_id=_int(plan_id) or 0, for_update=True)
    if plan.owner_id != actor.pk:
        raise Forbidden(_("Only the plan's owner submits it."))
    if plan.state not in (PlanState.DRAFT, PlanState.REJECTED):
        raise Conflict(_("The plan has already been submitted."), code="plan_not_draft")
    from kehu.approvals.models import ApprovalRequest, RequestStatus
    from kehu.approvals.services import approval_resubmit

    returned = (ApprovalRequest.objects.filter(pk=plan.approval_request_id, status=RequestStatus.RETURNED).first()
                if plan.approval_request_id else None)
    if returned is not None:  # sent back for changes: the same request goes round again
        req = approval_resubmit(actor=actor, request_id=returned.pk, comment=_("Plan changed and submitted again."))
    else:
        req = approval_request(actor=actor, chain_code=PLAN_CHAIN, target=plan,
                               title=_("Development plan: %(t)s") % {"t": plan.title},
                               payload={"deadline": plan.deadline.isoformat(), "budget": str(plan.budget)})
    before = plan.state
    plan.state, plan.approval_request_id = PlanState.SUBMITTED, req.pk
    plan.save(update_fields=["state", "approval_request_id", "updated_at"])
    audit_record(actor=actor, action="sales.plan_submit", obj=plan,
                 changes={"state": [before, plan.state], "request": req.pk})
    return plan


def on_plan_outcome(request, outcome: str) -> None:
    """The approval engine's verdict on a plan (inside the decision's transaction)."""
    plan = DevelopmentPlan.objects.select_for_update().filter(pk=int(request.object_id)).first()
    # A plan returned to draft may be resubmitted from the approvals page too: its verdict still counts.
    if plan is None or plan.state not in (PlanState.SUBMITTED, PlanState.DRAFT) or (
            plan.state == PlanState.DRAFT and outcome not in ("approved", "rejected")):
        return
    before = plan.state
    if outcome == "approved":
        plan.state, plan.approved_at = PlanState.APPROVED, timezone.now()
    elif outcome == "rejected":
        plan.state = PlanState.REJECTED
    else:  # returned for changes or withdrawn: back to draft
        plan.state = PlanState.DRAFT
    plan.save(update_fields=["state", "approved_at", "updated_at"])
    audit_record(actor=None, action="sales.plan_outcome", obj=plan,
                 changes={"state": [before, plan.state], "outcome": outcome, "request": request.pk})
    notify(user=plan.owner, title=_("Development plan %(t)s: %(s)s") % {"t": plan.title, "s": plan.get_state_display()},
           link=reverse("sales:plan", args=[plan.pk]))


# ---------------------------------------------------------------- opportunities (商机)

def _opp_event(opp: Opportunity, actor, action: str, *, from_stage: str = "", to_stage: str = "", note: str = ""):
    OpportunityEvent.objects.create(opportunity=opp, actor=actor if actor and actor.pk else None, action=action,
                                    from_stage=from_stage, to_stage=to_stage, note=note[:500])


def _stage(value, errors: dict) -> OpportunityStage | None:
    pk = _int(value)
    row = OpportunityStage.objects.filter(pk=pk, active=True).first() if pk else None
    if row is None:
        errors["stage"] = [_("Choose a stage.")]
    return row


@transaction.atomic
def opportunity_create(*, actor, data: dict) -> Opportunity:
    """Open an opportunity with a customer in scope, at the given stage (the funnel's first by default)."""
    _require_sales(actor)
    errors: dict = {}
    customer = _customer(actor, data.get("customer"), errors)
    title = _text(data, "title", errors, max_length=200, required=True)
    amount = _money(data, "amount", errors, required=True)
    close = _date(data, "expected_close", errors)
    if data.get("stage") not in (None, ""):
        stage = _stage(data.get("stage"), errors)
    else:
        stage = OpportunityStage.objects.filter(active=True, is_won=False, is_lost=False).order_by("position").first()
        if stage is None:
            errors["stage"] = [_("No opportunity stage is configured.")]
    if stage is not None and (stage.is_won or stage.is_lost):
        errors["stage"] = [_("An opportunity opens at an open stage.")]
    _raise(errors)
    owner = customer.owner
    opp = Opportunity(customer=customer, title=title, stage=stage, amount=amount,
                      expected_close=rules.month_start(close), source=customer.source, owner=owner,
                      department_id=owner.department_id, created_by=actor)
    _clean(opp)
    opp.save()
    _opp_event(opp, actor, "create", to_stage=stage.name)
    audit_record(actor=actor, action="sales.opportunity_create", obj=opp,
                 changes={"customer": customer.pk, "stage": stage.code, "amount": str(amount)})
    return opp


@transaction.atomic
def opportunity_move(*, actor, opportunity_id, data: dict) -> Opportunity:
    """Move an open opportunity to another stage; a won stage wins it, a lost stage loses it (with the reason from
    the lost reasons and, if any, the competitor). Amount and expected close month may change with it."""
    _require_sales(actor)
    opp = selectors.opportunity_get(actor=actor, opportunity_id=_int(opportunity_id) or 0, for_update=True)
    if opp.outcome != Outcome.OPEN:
        raise Conflict(_("The opportunity is closed."), code="opportunity_closed")
    errors: dict = {}
    stage = _stage(data.get("stage"), errors) if data.get("stage") not in (None, "") else opp.stage
    if data.get("amount") not in (None, ""):
        opp.amount = _money(data, "amount", errors)
    if data.get("expected_close") not in (None, ""):
        close = _date(data, "expected_close", errors)
        if close:
            opp.expected_close = rules.month_start(close)
    note = _text(data, "note", errors, max_length=500)
    reason = competitor = None
    if stage is not None and stage.is_lost:
        pk = _int(data.get("lost_reason"))
        reason = LostReason.objects.filter(pk=pk, active=True).first() if pk else None
        if reason is None:
            errors["lost_reason"] = [_("Say why the opportunity was lost.")]
        if data.get("competitor") not in (None, ""):
            pk = _int(data.get("competitor"))
            competitor = Competitor.objects.filter(pk=pk, active=True).first() if pk else None
            if competitor is None:
                errors["competitor"] = [_("Unknown competitor.")]
    _raise(errors)
    before = opp.stage
    opp.stage = stage
    today = timezone.localdate()
    if stage.is_won:
        opp.outcome, opp.closed_on = Outcome.WON, today
    elif stage.is_lost:
        opp.outcome, opp.closed_on = Outcome.LOST, today
        opp.lost_reason, opp.competitor, opp.lost_note = reason, competitor, note
    _clean(opp)
    opp.save()
    action = {Outcome.WON: "won", Outcome.LOST: "lost"}.get(opp.outcome, "move")
    _opp_event(opp, actor, action, from_stage=before.name, to_stage=stage.name, note=note)
    changes = {"stage": [before.code, stage.code], "amount": str(opp.amount)}
    if reason:
        changes["reason"] = reason.name
    if competitor:
        changes["competitor"] = competitor.name
    audit_record(actor=actor, action=f"sales.opportunity_{action}", obj=opp, changes=changes)
    return opp


def _win_opportunity(actor, opp: Opportunity) -> None:
    if opp.outcome != Outcome.OPEN:
        return
    won = OpportunityStage.objects.filter(is_won=True, active=True).order_by("position").first()
    if won is None:
        return
    before = opp.stage
    opp.stage, opp.outcome, opp.closed_on = won, Outcome.WON, timezone.localdate()
    opp.save(update_fields=["stage", "outcome", "closed_on", "updated_at"])
    _opp_event(opp, actor, "won", from_stage=before.name, to_stage=won.name, note=_("Contract signed"))


# ---------------------------------------------------------------- deals

def _deal_event(deal: Deal, actor, action: str, *, from_stage: str = "", to_stage: str = "", note: str = ""):
    DealEvent.objects.create(deal=deal, actor=actor if actor and actor.pk else None, action=action,
                             from_stage=from_stage, to_stage=to_stage, note=note[:500])


def _lock_object(obj_id: int, deal: Deal | None = None) -> SaleObject:
    """The deal's object, locked, checked as still available (or reserved by this very deal)."""
    obj = SaleObject.objects.select_for_update().filter(pk=obj_id).first()
    if obj is None:
        raise Invalid(_("Unknown deal object."), fields={"sale_object": [_("Unknown deal object.")]})
    live = Deal.objects.filter(sale_object=obj).exclude(stage=DealStage.CANCELLED)
    if deal is not None:
        live = live.exclude(pk=deal.pk)
    if obj.status == ObjectStatus.SOLD or live.exists() or (
            obj.status == ObjectStatus.RESERVED and (deal is None or deal.sale_object_id != obj.pk)):
        raise Conflict(_("%(o)s is no longer available.") % {"o": obj}, code="object_unavailable",
                       fields={"sale_object": [_("No longer available.")]})
    return obj


@transaction.atomic
def deal_create(*, actor, data: dict) -> Deal:
    """Open a deal (成交登记) at the small-deposit stage for a customer in scope: business must be allowed with the
    customer, and the object (a product or a unit) must still be available; it is reserved for the deal. The
    deposit itself is recorded by finance (deposit_record)."""
    _require_sales(actor)
    errors: dict = {}
    customer = _customer(actor, data.get("customer"), errors)
    title = _text(data, "title", errors, max_length=200, required=True)
    amount = _money(data, "amount", errors, required=True)
    obj_id = _int(data.get("sale_object")) if data.get("sale_object") not in (None, "") else None
    if data.get("sale_object") not in (None, "") and obj_id is None:
        errors["sale_object"] = [_("Unknown deal object.")]
    opp = None
    if data.get("opportunity") not in (None, ""):
        opp = selectors.opportunity_get(actor=actor, opportunity_id=_int(data.get("opportunity")) or 0, for_update=True)
        if customer is not None and opp.customer_id != customer.pk:
            errors["opportunity"] = [_("The opportunity is another customer's.")]
        elif opp.outcome == Outcome.LOST:
            errors["opportunity"] = [_("The opportunity was lost.")]
    _raise(errors)
    ensure_business_allowed(customer, Action.DEAL)
    obj = _lock_object(obj_id) if obj_id else None
    rep = customer.owner
    deal = Deal(customer=customer, title=title, amount=amount, rep=rep, department_id=rep.department_id,
                created_by=actor, stage=DealStage.SMALL_DEPOSIT, opportunity=opp, sale_object=obj,
                object_code=obj.code if obj else _text(data, "object_code", {}, max_length=100),
                source=customer.source)
    _clean(deal)
    try:
        with transaction.atomic():
            deal.save()
    except IntegrityError as exc:  # a concurrent deal took the object first (deal_one_live_per_object)
        raise Conflict(_("%(o)s is no longer available.") % {"o": obj}, code="object_unavailable",
                       fields={"sale_object": [_("No longer available.")]}) from exc
    if obj is not None:
        obj.status = ObjectStatus.RESERVED
        obj.save(update_fields=["status", "updated_at"])
    _deal_event(deal, actor, "create", to_stage=deal.stage)
    audit_record(actor=actor, action="sales.deal_create", obj=deal,
                 changes={"customer": customer.pk, "amount": str(amount), "object": deal.object_code,
                          "opportunity": opp.pk if opp else None})
    return deal


def _move(actor, deal: Deal, to: str, note: str = "") -> None:
    if not rules.can_move(deal.stage, to):
        raise Conflict(_("A deal cannot go from “%(a)s” to “%(b)s”.")
                       % {"a": deal.get_stage_display(), "b": DealStage(to).label}, code="illegal_transition")
    before = deal.stage
    deal.stage = to
    _deal_event(deal, actor, to, from_stage=before, to_stage=to, note=note)


@transaction.atomic
def deposit_record(*, actor, deal_id, data: dict) -> DealPayment:
    """Record a small or large deposit (小定 / 大定) received — finance only (Perm.DEPOSIT_WRITE), never a rep.
    Business must still be allowed with the customer and the deal's object still available; a large deposit moves
    a small-deposit deal to the large-deposit stage."""
    _require_money(actor)
    deal = selectors.deal_get(actor=actor, deal_id=_int(deal_id) or 0, for_update=True)
    errors: dict = {}
    kind = data.get("kind")
    if kind not in (PaymentKind.SMALL_DEPOSIT, PaymentKind.LARGE_DEPOSIT):
        errors["kind"] = [_("Choose small or large deposit.")]
    amount = _money(data, "amount", errors, required=True, positive=True)
    received = _date(data, "received_on", errors, required=False) or timezone.localdate()
    method = _text(data, "method", errors, max_length=50)
    receipt = _text(data, "receipt_no", errors, max_length=50)
    if received > timezone.localdate():
        errors["received_on"] = [_("Not in the future.")]
    _raise(errors)
    if deal.stage not in (DealStage.SMALL_DEPOSIT, DealStage.LARGE_DEPOSIT) or (
            kind == PaymentKind.SMALL_DEPOSIT and deal.stage != DealStage.SMALL_DEPOSIT):
        raise Conflict(_("This deposit cannot be taken at the stage “%(s)s”.") % {"s": deal.get_stage_display()},
                       code="illegal_transition")
    ensure_business_allowed(deal.customer, Action.DEPOSIT)
    if deal.sale_object_id:
        _lock_object(deal.sale_object_id, deal)
    payment = DealPayment(deal=deal, kind=kind, amount=amount, received_on=received, method=method,
                          receipt_no=receipt, recorded_by=actor)
    _clean(payment)
    payment.save()
    if kind == PaymentKind.LARGE_DEPOSIT and deal.stage == DealStage.SMALL_DEPOSIT:
        _move(actor, deal, DealStage.LARGE_DEPOSIT)
        deal.save(update_fields=["stage", "updated_at"])
    _deal_event(deal, actor, f"{kind}_recorded", note=str(amount))
    audit_record(actor=actor, action="sales.deposit_record", obj=deal,
                 changes={"kind": kind, "amount": str(amount), "received_on": received.isoformat()})
    notify(user=deal.rep, title=_("%(k)s of %(a)s recorded for %(d)s") % {
        "k": PaymentKind(kind).label, "a": amount, "d": deal.title}, link=reverse("sales:deal", args=[deal.pk]))
    return payment


def _has_deposit(deal: Deal) -> bool:
    return deal.payments.filter(kind__in=(PaymentKind.SMALL_DEPOSIT, PaymentKind.LARGE_DEPOSIT)).exists()


def _instalments(data: dict, amount: Decimal, signed_on: dt.date) -> list[tuple[dt.date, Decimal]]:
    rows = data.get("instalments") or []
    if not isinstance(rows, list) or len(rows) > 120:
        raise Invalid(_("Give the instalments as a list."), fields={"instalments": [_("Not valid.")]})
    out, errors = [], {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors["instalments"] = [_("Instalment %(n)d is not valid.") % {"n": i + 1}]
            break
        sub: dict = {}
        due = _date(row, "due_on", sub)
        money = _money(row, "amount", sub, required=True, positive=True)
        if sub:
            errors["instalments"] = [_("Instalment %(n)d: %(e)s") % {"n": i + 1, "e": next(iter(sub.values()))[0]}]
            break
        if due < signed_on:
            errors["instalments"] = [_("Instalment %(n)d is due before the signing.") % {"n": i + 1}]
            break
        out.append((due, money))
    if not errors and sum((m for _d, m in out), Decimal("0")) > amount:
        errors["instalments"] = [_("The instalments add up to more than the deal's amount.")]
    _raise(errors)
    return sorted(out)


@transaction.atomic
def deal_move(*, actor, deal_id, data: dict) -> Deal:
    """Move a deal: subscribe (认购, after a deposit), sign (签约: the contract with its instalments; the object is
    sold, the opportunity won, the commission app told through kehu.sales.hooks) or cancel (撤销, the object is
    released) — through the allowed-transition map (rules.DEAL_TRANSITIONS)."""
    _require_sales(actor)
    deal = selectors.deal_get(actor=actor, deal_id=_int(deal_id) or 0, for_update=True)
    to = data.get("to")
    if to not in (DealStage.SUBSCRIBED, DealStage.SIGNED, DealStage.CANCELLED):
        raise Invalid(_("Choose subscribe, sign or cancel."), fields={"to": [_("Unknown stage.")]})
    errors: dict = {}
    note = _text(data, "note", errors, max_length=500)
    _raise(errors)
    before = deal.stage
    changes: dict = {"stage": [before, to]}
    if to == DealStage.SUBSCRIBED:
        if rules.can_move(deal.stage, to) and not _has_deposit(deal):
            raise Conflict(_("No deposit has been recorded for this deal yet."), code="deposit_missing")
        ensure_business_allowed(deal.customer, Action.DEAL)
        _move(actor, deal, to, note)
        deal.save(update_fields=["stage", "updated_at"])
    elif to == DealStage.SIGNED:
        errors = {}
        signed_on = _date(data, "signed_on", errors, required=False) or timezone.localdate()
        if signed_on > timezone.localdate():
            errors["signed_on"] = [_("Not in the future.")]
        _raise(errors)
        plan = _instalments(data, deal.amount, signed_on)
        ensure_business_allowed(deal.customer, Action.DEAL)
        _move(actor, deal, to, note)
        deal.signed_on = signed_on
        deal.save(update_fields=["stage", "signed_on", "updated_at"])
        Instalment.objects.bulk_create([
            Instalment(deal=deal, seq=i, due_on=due, amount=money, rep_id=deal.rep_id, department_id=deal.department_id)
            for i, (due, money) in enumerate(plan, start=1)])
        if deal.sale_object_id:
            SaleObject.objects.filter(pk=deal.sale_object_id).update(status=ObjectStatus.SOLD, updated_at=timezone.now())
        if deal.opportunity_id:
            _win_opportunity(actor, Opportunity.objects.select_for_update().get(pk=deal.opportunity_id))
        changes.update(signed_on=signed_on.isoformat(), instalments=len(plan))
        deal_won(deal, actor=actor)
    else:
        _move(actor, deal, to, note)
        deal.cancelled_on = timezone.localdate()
        deal.save(update_fields=["stage", "cancelled_on", "updated_at"])
        if deal.sale_object_id:
            SaleObject.objects.filter(pk=deal.sale_object_id, status=ObjectStatus.RESERVED).update(
                status=ObjectStatus.AVAILABLE, updated_at=timezone.now())
    audit_record(actor=actor, action=f"sales.deal_{to}", obj=deal, changes=changes)
    return deal


@transaction.atomic
def instalment_payment_record(*, actor, instalment_id, data: dict) -> DealPayment:
    """Record a payment of a contract instalment (finance only); the instalment is paid when its amount is."""
    _require_money(actor)
    pk = _int(instalment_id)
    inst = (selectors.instalment_base(actor=actor).select_for_update(of=("self",)).select_related("deal")
            .filter(pk=pk).first() if pk else None)
    if inst is None:
        raise NotFound(_("Instalment not found."))
    errors: dict = {}
    amount = _money(data, "amount", errors, required=True, positive=True)
    received = _date(data, "received_on", errors, required=False) or timezone.localdate()
    method = _text(data, "method", errors, max_length=50)
    receipt = _text(data, "receipt_no", errors, max_length=50)
    if not errors and amount > inst.outstanding:
        errors["amount"] = [_("More than the %(a)s still due.") % {"a": inst.outstanding}]
    if received > timezone.localdate():
        errors["received_on"] = [_("Not in the future.")]
    _raise(errors)
    if inst.paid_on is not None:
        raise Conflict(_("This instalment is paid."), code="instalment_paid")
    payment = DealPayment(deal=inst.deal, kind=PaymentKind.INSTALMENT, amount=amount, received_on=received,
                          method=method, receipt_no=receipt, instalment=inst, recorded_by=actor)
    _clean(payment)
    payment.save()
    inst.paid_amount += amount
    if inst.paid_amount == inst.amount:
        inst.paid_on = received
    inst.save(update_fields=["paid_amount", "paid_on"])
    _deal_event(inst.deal, actor, "instalment_paid", note=f"#{inst.seq} {amount}")
    audit_record(actor=actor, action="sales.instalment_payment", obj=inst.deal,
                 changes={"instalment": inst.seq, "amount": str(amount), "received_on": received.isoformat()})
    return payment


# ---------------------------------------------------------------- arrears: dunning and breach (daily task)

@transaction.atomic
def arrears_sweep(*, today: dt.date | None = None) -> dict:
    """The daily arrears run: each unpaid instalment past its due date by the policy's grace gets a dunning notice
    (催款通知, again every repeat-days) sent to its rep; one more than the policy's months overdue opens a breach case
    (违约) for the manager. Idempotent for a day (one notice per instalment and day, one open case per
    instalment)."""
    today = today or timezone.localdate()
    pol = selectors.policy()
    rows = list(Instalment.objects.filter(paid_on__isnull=True, due_on__lt=today)
                .select_related("deal", "deal__customer", "rep").order_by("due_on", "id")[:50_000])
    ids = [r.pk for r in rows]
    last: dict[int, dt.date] = {}
    for inst_id, issued in DunningNotice.objects.filter(instalment_id__in=ids).values_list("instalment_id", "issued_on"):
        if inst_id not in last or issued > last[inst_id]:
            last[inst_id] = issued
    open_cases = set(BreachCase.objects.filter(instalment_id__in=ids, state=BreachState.OPEN)
                     .values_list("instalment_id", flat=True))
    notices, cases = [], []
    for inst in rows:
        if rules.dunning_due(due_on=inst.due_on, today=today, last_notice=last.get(inst.pk),
                             grace_days=pol.dunning_grace_days, repeat_days=pol.dunning_repeat_days):
            notices.append(DunningNotice(instalment=inst, issued_on=today, days_overdue=(today - inst.due_on).days,
                                         amount_due=inst.outstanding, rep_id=inst.rep_id,
                                         department_id=inst.department_id))
        if inst.pk not in open_cases and rules.breach_due(due_on=inst.due_on, today=today,
                                                          after_months=pol.breach_after_months):
            cases.append(BreachCase(instalment=inst, deal=inst.deal, opened_on=today, amount_due=inst.outstanding,
                                    rep_id=inst.rep_id, department_id=inst.department_id))
    DunningNotice.objects.bulk_create(notices, ignore_conflicts=True)
    BreachCase.objects.bulk_create(cases, ignore_conflicts=True)
    issued = {n.instalment_id: n for n in DunningNotice.objects.filter(instalment_id__in=[n.instalment_id for n in notices],
                                                                        issued_on=today)}
    for n in notices:
        saved = issued.get(n.instalment_id)
        if saved is None:
            continue
        inst = n.instalment
        notify(user=inst.rep, title=_("Dunning notice: %(c)s owes %(a)s (instalment %(n)d of %(d)s)") % {
            "c": inst.deal.customer.name, "a": inst.outstanding, "n": inst.seq, "d": inst.deal.title},
            link=reverse("sales:dunning", args=[saved.pk]))
    if notices or cases:
        audit_record(actor=None, action="sales.arrears_sweep", object_type="sales.instalment",
                     changes={"day": today.isoformat(), "notices": len(notices), "breach_cases": len(cases)})
    return {"notices": len(notices), "breach_cases": len(cases)}


@transaction.atomic
def breach_close(*, actor, case_id, resolution: str) -> BreachCase:
    """The manager closes a breach case with a written resolution (补签还款协议, 解除合同 …)."""
    _require_manage(actor)
    case = selectors.breach_get(actor=actor, case_id=_int(case_id) or 0, for_update=True)
    if case.state != BreachState.OPEN:
        raise Conflict(_("The breach case is closed."), code="breach_closed")
    errors: dict = {}
    text = _text({"resolution": resolution}, "resolution", errors, required=True)
    _raise(errors)
    case.state, case.resolution, case.closed_by, case.closed_at = BreachState.CLOSED, text, actor, timezone.now()
    case.save(update_fields=["state", "resolution", "closed_by", "closed_at"])
    audit_record(actor=actor, action="sales.breach_close", obj=case, changes={"resolution": text[:200]})
    return case


@transaction.atomic
def object_create(*, actor, data: dict) -> SaleObject:
    """Add a product or unit to the inventory the deals sell (a manager)."""
    _require_manage(actor)
    errors: dict = {}
    code = _text(data, "code", errors, max_length=100, required=True)
    name = _text(data, "name", errors, max_length=200, required=True)
    kind = data.get("kind") or "unit"
    price = _money(data, "list_price", errors)
    _raise(errors)
    if SaleObject.objects.filter(code=code).exists():
        raise Conflict(_("This code exists already."), code="duplicate", fields={"code": [_("Already used.")]})
    obj = SaleObject(code=code, name=name, kind=kind, list_price=price)
    _clean(obj)
    obj.save()
    audit_record(actor=actor, action="sales.object_create", obj=obj, changes={"code": code})
    return obj


# ---------------------------------------------------------------- configurable rows (a manager)

@transaction.atomic
def stage_save(*, actor, data: dict) -> OpportunityStage:
    """Add or change a funnel stage (matched by its code): name, order, probability, won / lost. A won stage is
    certain (100 %), a lost one nil (0 %) — the database refuses otherwise."""
    _require_manage(actor)
    errors: dict = {}
    code = _text(data, "code", errors, max_length=50, required=True)
    name = _text(data, "name", errors, max_length=50, required=True)
    position = _count(data, "position", errors)
    probability = _count(data, "probability", errors)
    if probability > 100:
        errors["probability"] = [_("Between 0 and 100.")]
    is_won, is_lost = data.get("is_won") is True, data.get("is_lost") is True
    if is_won and probability != 100:
        errors["probability"] = [_("A won stage is 100 %.")]
    if is_lost and probability != 0:
        errors["probability"] = [_("A lost stage is 0 %.")]
    if is_won and is_lost:
        errors["is_lost"] = [_("A stage is won or lost, not both.")]
    _raise(errors)
    row = OpportunityStage.objects.filter(code=code).first() or OpportunityStage(code=code)
    row.name, row.position, row.probability, row.is_won, row.is_lost = name, position, probability, is_won, is_lost
    row.active = data.get("active", True) is not False
    _clean(row)
    row.save()
    audit_record(actor=actor, action="sales.stage_save", obj=row,
                 changes={"code": code, "probability": probability, "won": is_won, "lost": is_lost})
    return row


@transaction.atomic
def lost_reason_save(*, actor, name: str, active: bool = True) -> LostReason:
    _require_manage(actor)
    errors: dict = {}
    name = _text({"name": name}, "name", errors, max_length=100, required=True)
    _raise(errors)
    row, _created = LostReason.objects.get_or_create(name=name)
    row.active = active is not False
    row.save(update_fields=["active"])
    audit_record(actor=actor, action="sales.lost_reason_save", obj=row, changes={"name": name, "active": row.active})
    return row


@transaction.atomic
def competitor_save(*, actor, name: str, active: bool = True) -> Competitor:
    _require_manage(actor)
    errors: dict = {}
    name = _text({"name": name}, "name", errors, max_length=100, required=True)
    _raise(errors)
    row, _created = Competitor.objects.get_or_create(name=name)
    row.active = active is not False
    row.save(update_fields=["active"])
    audit_record(actor=actor, action="sales.competitor_save", obj=row, changes={"name": name, "active": row.active})
    return row


@transaction.atomic
def policy_update(*, actor, data: dict):
    """Change the business figures of arrears (dunning grace and repeat days, months to a breach case)."""
    _require_manage(actor)
    pol = selectors.policy()
    errors: dict = {}
    changes = {}
    for name, low in (("dunning_grace_days", 0), ("dunning_repeat_days", 1), ("breach_after_months", 1)):
        if data.get(name) is None:
            continue
        value = _count(data, name, errors)
        if name not in errors and not low <= value <= 3650:
            errors[name] = [_("Out of range.")]
        if name not in errors and value != getattr(pol, name):
            changes[name] = [getattr(pol, name), value]
            setattr(pol, name, value)
    _raise(errors)
    _clean(pol)
    pol.save()
    audit_record(actor=actor, action="sales.policy_update", obj=pol, changes=changes)
    return pol
