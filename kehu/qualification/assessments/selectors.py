"""Every read of assessment runs, customer assessments, the review report and payment-term proposals. A run is
company-wide; its rows are scoped like customers by the account manager and department they had when
assessed (own / department subtree / all). Reading needs qualification.verify or sales.write; outside the
scope a row does not exist (404)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.errors import BadRequest, Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.qualification.assessments.models import Assessment, AssessmentRun, Result, TermsProposal

MAX_ID = 2**63


def can_read(actor) -> bool:
    return bool(actor and actor.is_authenticated and (actor.has_kehu_perm(Perm.QUALIFICATION_VERIFY)
                                                      or actor.has_kehu_perm(Perm.SALES_WRITE)))


def require_read(actor) -> None:
    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see customer assessments."))


def _valid(pk) -> bool:
    return isinstance(pk, int) and 0 < pk < MAX_ID


def run_list(*, actor, period_kind: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
    require_read(actor)
    qs = AssessmentRun.objects.all()
    if period_kind:
        qs = qs.filter(period_kind=period_kind)
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


def run_get(*, actor, run_id: int, for_update: bool = False) -> AssessmentRun:
    require_read(actor)
    if not _valid(run_id):
        raise NotFound(_("Assessment run not found."))
    qs = AssessmentRun.objects.select_related("created_by", "finalized_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    run = qs.filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("Assessment run not found."))
    return run


def run_for_period(*, period_kind: str, year: int, number: int) -> AssessmentRun | None:
    return AssessmentRun.objects.filter(period_kind=period_kind, year=year, number=number).first()


def assessment_base(*, actor) -> QuerySet[Assessment]:
    require_read(actor)
    return Assessment.objects.filter(scope_q(actor))


ORDERINGS = {"id": int, "total": Decimal, "customer_name": str}


def assessment_list(*, actor, run_id: int, result: str | None = None, customer_type: str | None = None,
                    ordering: str = "-total", limit: int | None = None, cursor: str | None = None) -> Page:
    """The rows of a run in scope, best first by default (one query)."""
    run = run_get(actor=actor, run_id=run_id)
    qs = assessment_base(actor=actor).filter(run=run)  # admission always applies: every row has a total
    if result:
        qs = qs.filter(result=result)
    if customer_type:
        qs = qs.filter(customer_type=customer_type)
    try:
        return paginate(qs.select_related("owner"), ordering=ordering, allowed=ORDERINGS, limit=limit,
                        cursor=cursor)
    except (ValidationError, InvalidOperation, TypeError, ValueError) as exc:  # a cursor whose score is no number
        raise BadRequest(_("The cursor is not valid."), fields={"cursor": [_("Malformed cursor.")]}) from exc


def assessment_get(*, actor, assessment_id: int, for_update: bool = False) -> Assessment:
    if not _valid(assessment_id):
        raise NotFound(_("Assessment not found."))
    qs = assessment_base(actor=actor).select_related("run", "owner", "cooperation_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    a = qs.filter(pk=assessment_id).first()
    if a is None:
        raise NotFound(_("Assessment not found."))
    return a


def customer_history(*, actor, customer_id: int, limit: int = 12) -> list[Assessment]:
    """A customer's assessments, latest period first (the customer page)."""
    return list(assessment_base(actor=actor).filter(customer_id=customer_id).select_related("run")
                .order_by("-run__period_start", "-id")[:limit])


def run_report(*, actor, run_id: int) -> dict:
    """The review report of a period for management (客户评审结果): counts by result and by customer type,
    the average score, and the rows needing attention — all within the actor's scope; three queries."""
    run = run_get(actor=actor, run_id=run_id)
    rows = assessment_base(actor=actor).filter(run=run)
    by_result = dict(rows.values("result").annotate(n=Count("id")).order_by().values_list("result", "n"))
    by_type = {t: {"n": n, "avg": avg} for t, n, avg in rows.values("customer_type").annotate(
        n=Count("id"), avg=Avg("total")).order_by().values_list("customer_type", "n", "avg")}
    overall = rows.aggregate(n=Count("id"), avg=Avg("total"), unscored=Count("id") - Count("cooperation_score"))
    return {"run": run, "by_result": [(r, Result(r).label, by_result.get(r, 0)) for r in Result.values],
            "by_type": by_type, "n": overall["n"], "avg": overall["avg"], "unscored": overall["unscored"]}


def report_rows(*, actor, run_id: int, limit: int = 100_000):
    """Every row of a run in scope for the export, best first (one streamed query)."""
    run = run_get(actor=actor, run_id=run_id)
    return (assessment_base(actor=actor).filter(run=run).select_related("owner")
            .order_by("-total", "customer_name", "id")[:limit].iterator(chunk_size=2000))


def proposal_list(*, actor, state: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
    require_read(actor)
    qs = TermsProposal.objects.filter(scope_q(actor)).select_related("requested_by")
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)

