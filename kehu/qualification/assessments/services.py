"""Every write of customer assessments: a run per period computed set-based (one GROUP BY per source table,
one bulk insert), the hand-scored cooperation item, finalising (the scores go to grading), and payment-term
changes proposed by an assessment and applied on approval."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.qualification.assessments import scoring
from kehu.qualification.assessments.models import (
    Assessment,
    AssessmentRun,
    CustomerType,
    PeriodKind,
    RunState,
    TermsProposal,
)

TERMS_CHAIN = "customer.credit_terms"
BATCH = 2000
ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=3))


def config() -> dict:
    """The assessment figures (settings.KEHU_ASSESSMENTS over the policy's defaults)."""
    base = {"weights": scoring.DEFAULT_WEIGHTS, "bands": scoring.DEFAULT_BANDS, "stages": ("customer",),
            "grading_dimension": "assessment"}
    return {**base, **getattr(settings, "KEHU_ASSESSMENTS", {})}


def can_manage(actor) -> bool:
    """Who runs, scores and finalises assessments (销售部 managers, 客户考评)."""
    return bool(actor and actor.is_authenticated and actor.has_kehu_perm(Perm.QUALIFICATION_MANAGE))


def _need(ok: bool) -> None:
    if not ok:
        raise Forbidden(_("You are not allowed to do this."))


def _weights(customer_type: str) -> dict[str, Decimal]:
    weights = config()["weights"]
    return {k: Decimal(str(v)) for k, v in weights.get(customer_type, weights["direct"]).items()}


def _bands():
    return tuple((Decimal(str(lo)), r) for lo, r in config()["bands"])


def rescore(a: Assessment) -> None:
    """Recompute the total and the result from the item scores (in place)."""
    a.total = scoring.total({"admission": a.admission_score, "plan": a.plan_score, "regularity": a.regularity_score,
                             "cooperation": a.cooperation_score, "credit": a.credit_score}, _weights(a.customer_type))
    a.result = scoring.result_of(a.total, _bands())


# ---------------------------------------------------------------- runs

def _period(kind: str, year, number) -> tuple[int, int, dt.date, dt.date]:
    fields: dict[str, list[str]] = {}
    if kind not in PeriodKind.values:
        fields["period_kind"] = [_("Choose quarterly, half-yearly or yearly.")]
    try:
        year, number = int(year), int(number)
        if not 2000 <= year <= 2100:
            raise ValueError
        start, end = scoring.period_bounds(kind, year, number)
    except (TypeError, ValueError):
        fields.setdefault("number", [_("No such period.")])
        start = end = None
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    if start > timezone.localdate():
        raise Invalid(_("This period has not started yet."), fields={"number": [_("In the future.")]})
    return year, number, start, end


def run_create(*, actor, period_kind: str, year, number) -> AssessmentRun:
    """Start (or recompute, while still a draft) the assessment of one period for every customer."""
    _need(can_manage(actor))
    year, number, start, end = _period(period_kind, year, number)
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().filter(period_kind=period_kind, year=year,
                                                                number=number).first()
        if run is not None and run.state == RunState.FINAL:
            raise Conflict(_("The assessment of this period is final."), code="run_final")
        if run is None:
            try:
                with transaction.atomic():
                    run = AssessmentRun.objects.create(
                        period_kind=period_kind, year=year, number=number, period_start=start, period_end=end,
                        label=scoring.period_label(period_kind, year, number), created_by=actor)
            except IntegrityError as exc:
                raise Conflict(_("This period is being assessed already."), code="run_exists") from exc
        n = compute(run)
        run.customers, run.computed_at = n, timezone.now()
        run.save(update_fields=["customers", "computed_at"])
        audit_record(actor=actor, action="assessment.run", obj=run,
                     changes={"period": run.label, "kind": period_kind, "customers": n})
    return run


def _population(start: dt.date, end: dt.date):
    from kehu.customers.models import Customer
    from kehu.orders.models import Order

    stages = config()["stages"]
    ordered = Order.objects.filter(order_date__gte=start, order_date__lte=end).values("customer_id")
    return (Customer.objects.filter(deleted_at__isnull=True).exclude(status="disqualified")
            .filter(Q(stage__in=stages) | Q(pk__in=ordered)))


def _types(start: dt.date, end: dt.date) -> dict[int, str]:
    """Each customer's type in the period: the type declared on its qualification record (开户: 直供客户 /
    独家代理 / 经销商), else the participant type of its latest monthly plan, else a direct customer."""
    from kehu.grading.allocation.models import SalesPlan
    from kehu.qualification.models import CustomerQualification

    out: dict[int, str] = {}
    for cid, ptype in (SalesPlan.objects.filter(month__lte=end).order_by("customer_id", "month", "id")
                       .values_list("customer_id", "participant_type")):
        out[cid] = ptype  # the latest wins (ordered by month)
    known = set(CustomerType.values)
    for cid, code in (CustomerQualification.objects.filter(customer_type__isnull=False)
                      .values_list("customer_id", "customer_type__code")):
        if code in known:  # an administrator's own extra type has no weights of its own: the plan's or direct
            out[cid] = code
    return out


def compute(run: AssessmentRun) -> int:
    """Score every customer of the population for the run's period, set-based: one GROUP BY per source table
    (plans, orders by month, payments), one bulk insert; hand-scored cooperation survives a recompute."""
    from kehu.grading.allocation.models import SalesPlan
    from kehu.orders.models import Order, Payment, PaymentTerms

    start, end = run.period_start, run.period_end
    months = scoring.months_in(start, end)
    kept = {cid: (score, note, by, at) for cid, score, note, by, at in run.assessments.filter(
        cooperation_score__isnull=False).values_list("customer_id", "cooperation_score", "cooperation_note",
                                                     "cooperation_by_id", "cooperation_at")}
    run.assessments.all().delete()
    population = _population(start, end)
    planned = dict(SalesPlan.objects.filter(month__gte=start, month__lte=end, customer_id__in=population.values("pk"))
                   .values("customer_id").annotate(t=Sum("quantity_t")).order_by().values_list("customer_id", "t"))
    ordered: dict[int, Decimal] = defaultdict(Decimal)
    active_months: dict[int, int] = defaultdict(int)
    for row in (Order.objects.filter(order_date__gte=start, order_date__lte=end, customer_id__in=population.values("pk"))
                .annotate(m=TruncMonth("order_date")).values("customer_id", "m")
                .annotate(t=Coalesce(Sum("quantity_t"), ZERO), n=Count("id")).order_by()):
        ordered[row["customer_id"]] += row["t"] or 0
        active_months[row["customer_id"]] += 1
    credit = {row["customer_id"]: (row["due"], row["on_time"]) for row in (
        Payment.objects.filter(due_date__gte=start, due_date__lte=end, customer_id__in=population.values("pk"))
        .values("customer_id").annotate(due=Coalesce(Sum("amount"), ZERO), on_time=Coalesce(
            Sum("amount", filter=Q(paid_date__isnull=False, paid_date__lte=F("due_date"))), ZERO)).order_by())}
    terms = dict(PaymentTerms.objects.filter(customer_id__in=population.values("pk")).values_list("customer_id", "kind"))
    types = _types(start, end)
    rows: list[Assessment] = []
    n = 0
    for cid, name, owner_id, dept_id, status, uscc, kind in population.values_list(
            "pk", "name", "owner_id", "department_id", "status", "uscc", "kind").order_by("pk").iterator(
            chunk_size=BATCH):
        due, on_time = credit.get(cid, (0, 0))
        a = Assessment(run=run, customer_id=cid, customer_name=name[:200], owner_id=owner_id, department_id=dept_id,
                       customer_type=types.get(cid, CustomerType.DIRECT), planned_t=planned.get(cid) or 0,
                       ordered_t=ordered.get(cid, 0), months_with_orders=active_months.get(cid, 0), due_amount=due,
                       paid_on_time_amount=on_time, terms_kind=terms.get(cid, ""),
                       admission_score=scoring.admission_score(status, bool(uscc), kind == "organization"),
                       plan_score=scoring.plan_score(ordered.get(cid, 0), planned.get(cid)),
                       regularity_score=scoring.regularity_score(active_months.get(cid, 0), months),
                       credit_score=scoring.credit_score(on_time, due))
        if cid in kept:
            a.cooperation_score, a.cooperation_note, a.cooperation_by_id, a.cooperation_at = kept[cid]
        rescore(a)
        rows.append(a)
        if len(rows) >= BATCH:
            Assessment.objects.bulk_create(rows)
            n += len(rows)
            rows = []
    Assessment.objects.bulk_create(rows)
    return n + len(rows)


@transaction.atomic
def cooperation_score_set(*, actor, assessment_id: int, score, note: str = "") -> Assessment:
    """Score the cooperation item (配合度) of a draft assessment by hand, 0–100; who and when are kept."""
    from kehu.qualification.assessments import selectors

    _need(can_manage(actor))
    a = selectors.assessment_get(actor=actor, assessment_id=assessment_id, for_update=True)
    if a.run.state != RunState.DRAFT:
        raise Conflict(_("The assessment of this period is final."), code="run_final")
    try:
        value = Decimal(str(score)) if score not in (None, "") and not isinstance(score, bool) else None
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 100 or value != round(value, 2):
        raise Invalid(_("Enter a score from 0 to 100 (at most two decimals)."),
                      fields={"score": [_("From 0 to 100.")]})
    before = a.cooperation_score
    a.cooperation_score, a.cooperation_note = value, (note or "").strip()[:500]
    a.cooperation_by, a.cooperation_at = actor, timezone.now()
    rescore(a)
    a.save(update_fields=["cooperation_score", "cooperation_note", "cooperation_by", "cooperation_at", "total",
                          "result"])
    audit_record(actor=actor, action="assessment.cooperation", obj=a,
                 changes={"from": str(before) if before is not None else None, "to": str(value),
                          "note": a.cooperation_note})
    return a


@transaction.atomic
def run_finalize(*, actor, run_id: int) -> AssessmentRun:
    """Make a run final: its scores become the grading's hand-scored dimension (KEHU_ASSESSMENTS
    grading_dimension, default "assessment"), written set-based, so a scorecard policy can weigh them."""
    from kehu.grading.models import HandScore
    from kehu.qualification.assessments import selectors

    _need(can_manage(actor))
    run = selectors.run_get(actor=actor, run_id=run_id, for_update=True)
    if run.state == RunState.FINAL:
        raise Conflict(_("The assessment of this period is final."), code="run_final")
    dimension = config()["grading_dimension"]
    scores = dict(run.assessments.filter(total__isnull=False).values_list("customer_id", "total"))
    existing = dict(HandScore.objects.filter(dimension=dimension, customer_id__in=list(scores)).values_list(
        "customer_id", "pk")) if len(scores) <= 50_000 else dict(
        HandScore.objects.filter(dimension=dimension).values_list("customer_id", "pk"))
    note = _("Assessment %(p)s") % {"p": run.label}
    now = timezone.now()
    update = [HandScore(pk=existing[c], customer_id=c, dimension=dimension, score=s, note=note, scored_by=actor,
                        scored_at=now) for c, s in scores.items() if c in existing]
    create = [HandScore(customer_id=c, dimension=dimension, score=s, note=note, scored_by=actor)
              for c, s in scores.items() if c not in existing]
    HandScore.objects.bulk_update(update, ["score", "note", "scored_by", "scored_at"], batch_size=BATCH)
    HandScore.objects.bulk_create(create, batch_size=BATCH)
    run.state, run.finalized_by, run.finalized_at = RunState.FINAL, actor, timezone.now()
    run.save(update_fields=["state", "finalized_by", "finalized_at"])
    audit_record(actor=actor, action="assessment.finalize", obj=run,
                 changes={"period": run.label, "scores_to_grading": len(scores), "dimension": dimension})
    return run


# ---------------------------------------------------------------- payment terms

@transaction.atomic
def terms_propose(*, actor, assessment_id: int, kind: str, credit_limit=None, credit_days=None,
                  reason: str = "") -> TermsProposal:
    """Propose changed payment terms for an assessed customer (款到发货, or credit with a limit and days);
    decided by the line manager, finance, then the general manager (chain customer.credit_terms)."""
    from kehu.approvals.services import approval_request
    from kehu.orders.models import PaymentTerms, TermsKind
    from kehu.qualification.assessments import selectors

    _need(can_manage(actor))
    a = selectors.assessment_get(actor=actor, assessment_id=assessment_id)
    fields: dict[str, list[str]] = {}
    if kind not in TermsKind.values:
        fields["kind"] = [_("Choose payment before delivery or credit.")]
    limit = days = None
    if kind == TermsKind.CREDIT:
        try:
            limit = Decimal(str(credit_limit)).quantize(Decimal("0.01"))
            if not limit.is_finite() or limit < 0 or limit >= Decimal(10) ** 14:
                raise InvalidOperation
        except (InvalidOperation, ValueError, TypeError):
            fields["credit_limit"] = [_("Enter an amount of 0 or more.")]
        try:
            days = int(credit_days)
            if not 0 <= days <= 3650:
                raise ValueError
        except (TypeError, ValueError):
            fields["credit_days"] = [_("Enter a whole number of days between 0 and 3650.")]
    reason = (reason or "").strip()
    if not reason:
        fields["reason"] = [_("Required.")]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    current = PaymentTerms.objects.filter(customer_id=a.customer_id).values("kind", "credit_limit", "credit_days").first()
    current = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in (current or {"kind": "prepay"}).items()}
    try:
        with transaction.atomic():
            p = TermsProposal.objects.create(assessment=a, customer_id=a.customer_id, owner_id=a.owner_id,
                                             department_id=a.department_id, current=current, kind=kind,
                                             credit_limit=limit, credit_days=days, reason=reason[:4000],
                                             requested_by=actor)
    except IntegrityError as exc:
        raise Conflict(_("Changed payment terms for this customer are already awaiting approval."),
                       code="already_requested") from exc
    summary = str(TermsKind(kind).label) + (f" {limit} / {days}" if kind == TermsKind.CREDIT else "")
    approval_request(actor=actor, chain_code=TERMS_CHAIN, target=p,
                     title=(_("Payment terms of %(name)s: %(terms)s") % {"name": a.customer_name, "terms": summary})[:200],
                     payload={"reason": reason[:500], "summary": summary,
                              **({"credit_limit": str(limit)} if limit is not None else {}),
                              "object_url": f"/assessments/rows/{a.pk}/"})
    audit_record(actor=actor, action="assessment.terms_propose", obj=p,
                 changes={"customer": a.customer_id, "current": current, "kind": kind,
                          "credit_limit": str(limit) if limit is not None else None, "credit_days": days})
    return p


def on_terms_outcome(request, outcome: str) -> None:
    """Approval outcome of a terms proposal: approved → applied through payment_terms_set by the finance
    approver (the role that may set payment terms)."""
    from kehu.approvals.models import ApprovalTask, TaskStatus
    from kehu.orders.services import payment_terms_set

    p = TermsProposal.objects.select_for_update().get(pk=int(request.object_id))
    now = timezone.now()
    if outcome == "returned":
        p.state = "returned"
        p.save(update_fields=["state"])
        return
    if outcome in ("rejected", "cancelled"):
        p.state, p.decided_at = outcome, now
        p.save(update_fields=["state", "decided_at"])
        return
    if outcome != "approved":
        return
    approvers = [t.assignee for t in ApprovalTask.objects.filter(request=request, status=TaskStatus.APPROVED)
                 .select_related("assignee").order_by("acted_at", "id")]
    actor = next((u for u in approvers if u.has_kehu_perm(Perm.PAYMENT_WRITE)), None)
    if actor is None:
        raise Conflict(_("Nobody who approved may set payment terms (finance)."), code="no_finance_approver")
    payment_terms_set(actor=actor, customer_id=p.customer_id, kind=p.kind, credit_limit=p.credit_limit,
                      credit_days=p.credit_days)
    p.state, p.decided_at = "approved", now
    p.save(update_fields=["state", "decided_at"])
    audit_record(actor=actor, action="assessment.terms_applied", obj=p, changes={"customer": p.customer_id})
