"""Assessment pages: the runs (start one for a period), a run's review report with its customers (cooperation
scored inline, finalise, export to XLSX, print), one customer's assessment with a payment-terms proposal.
Parse → call a service/selector → render; the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kehu.errors import DomainError, Invalid
from kehu.qualification.assessments import report, scoring, selectors, services
from kehu.qualification.assessments.models import CustomerType, PeriodKind, Result
from kehu.web import page

PAGE_SIZE = 100


def _errors(exc: DomainError) -> dict:
    if exc.status in (403, 404):
        raise exc
    return {"__all__": [exc.message], **exc.fields}


@page
@require_http_methods(["GET", "POST"])
def run_list(request):
    selectors.require_read(request.user)
    errors = {}
    if request.method == "POST":
        try:
            run = services.run_create(actor=request.user, period_kind=request.POST.get("period_kind", ""),
                                      year=request.POST.get("year"), number=request.POST.get("number"))
            messages.success(request, _("Assessment computed."))
            return redirect("assessments:run", run.pk)
        except DomainError as exc:
            errors = _errors(exc)
    page_ = selectors.run_list(actor=request.user, limit=50, cursor=request.GET.get("cursor"))
    today = timezone.localdate()
    year, number = scoring.previous_period("quarter", today)
    return render(request, "assessments/run_list.html", {
        "runs": page_.items, "next": page_.next, "errors": errors, "can_manage": services.can_manage(request.user),
        "kinds": PeriodKind.choices, "years": [today.year - 1, today.year], "default_year": year,
        "default_number": number}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def run_detail(request, run_id: int):
    run = selectors.run_get(actor=request.user, run_id=run_id)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cooperation":
                raw = request.POST.get("assessment", "")
                if not raw.isdigit() or len(raw) > 18:
                    raise Invalid(_("Unknown assessment."), fields={"assessment": [_("Required.")]})
                services.cooperation_score_set(actor=request.user, assessment_id=int(raw),
                                               score=request.POST.get("score"), note=request.POST.get("note", ""))
            elif action == "recompute":
                services.run_create(actor=request.user, period_kind=run.period_kind, year=run.year, number=run.number)
            elif action == "finalize":
                services.run_finalize(actor=request.user, run_id=run.pk)
            else:
                raise Invalid(_("Unknown action."), fields={"action": [_("Unknown action.")]})
            messages.success(request, _("Saved."))
            return redirect(request.get_full_path())
        except DomainError as exc:
            errors = _errors(exc)
            run = selectors.run_get(actor=request.user, run_id=run_id)
    result = request.GET.get("result") if request.GET.get("result") in Result.values else None
    ctype = request.GET.get("type") if request.GET.get("type") in CustomerType.values else None
    rows = selectors.assessment_list(actor=request.user, run_id=run.pk, result=result, customer_type=ctype,
                                     limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    rep = selectors.run_report(actor=request.user, run_id=run.pk)
    return render(request, "assessments/run_detail.html", {
        "run": run, "rows": rows.items, "next": rows.next, "report": rep, "errors": errors, "result": result,
        "ctype": ctype, "results": Result.choices, "types": CustomerType.choices,
        "by_type": [(CustomerType(t).label, v["n"], v["avg"]) for t, v in rep["by_type"].items()],
        "can_manage": services.can_manage(request.user), "is_draft": run.state == "draft"},
        status=400 if errors else 200)


@page
@require_http_methods(["GET"])
def run_print(request, run_id: int):
    rep = selectors.run_report(actor=request.user, run_id=run_id)
    rows = list(selectors.report_rows(actor=request.user, run_id=run_id, limit=2000))
    return render(request, "assessments/run_print.html", {
        "run": rep["run"], "report": rep, "rows": rows,
        "by_type": [(CustomerType(t).label, v["n"], v["avg"]) for t, v in rep["by_type"].items()]})


@page
@require_http_methods(["GET"])
def run_export(request, run_id: int):
    name, body = report.workbook(actor=request.user, run_id=run_id)
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page
@require_http_methods(["GET", "POST"])
def row_detail(request, assessment_id: int):
    a = selectors.assessment_get(actor=request.user, assessment_id=assessment_id)
    errors = {}
    if request.method == "POST":
        try:
            services.terms_propose(actor=request.user, assessment_id=a.pk, kind=request.POST.get("kind", ""),
                                   credit_limit=request.POST.get("credit_limit") or None,
                                   credit_days=request.POST.get("credit_days") or None,
                                   reason=request.POST.get("reason", ""))
            messages.success(request, _("Payment terms sent for approval."))
            return redirect("assessments:row", a.pk)
        except DomainError as exc:
            errors = _errors(exc)
    from kehu.qualification.assessments.models import TermsProposal

    return render(request, "assessments/row_detail.html", {
        "a": a, "errors": errors, "post": request.POST, "can_manage": services.can_manage(request.user),
        "proposals": TermsProposal.objects.filter(assessment=a).select_related("requested_by")[:10],
        "history": selectors.customer_history(actor=request.user, customer_id=a.customer_id)},
        status=400 if errors else 200)
