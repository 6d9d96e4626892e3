"""Pipeline pages: prospects by source, development plans with their weekly / monthly progress, opportunities
(list, forecast, detail with its stage moves), the lost-customer and competitor analysis, deals (list, open,
detail with deposits by finance, subscription, signing with instalments, cancellation), overdue instalments,
dunning notices (printable), breach cases, and the deal statistics with their XLSX export. Parse → call a
service/selector → render; the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from kehu.customers.models import Customer
from kehu.customers.selectors import customer_base
from kehu.errors import DomainError
from kehu.sales import rules, selectors, services
from kehu.sales.models import DealStage, ObjectStatus, Outcome, PaymentKind, PlanState
from kehu.web import page

PAGE_SIZE = 50


def _nav(request, active: str) -> dict:
    user = request.user
    return {"nav_active": active, "can_pipeline": selectors.can_read_pipeline(user),
            "can_manage": selectors.can_manage(user), "can_take_money": selectors.can_take_money(user)}


def _try(request, fn) -> dict:
    """Run a service for a form; its 4xx (other than 403 / 404, which are the page's answer) become form errors."""
    try:
        fn()
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return {"__all__": [exc.message], **exc.fields}
    return {}


def _day(request) -> dt.date:
    try:
        return dt.date.fromisoformat((request.GET.get("day") or "").strip())
    except ValueError:
        return timezone.localdate()


def _period(request) -> str:
    return request.GET.get("period") if request.GET.get("period") in ("week", "month") else "month"


def _customers(request, *, prospects: bool = False) -> list[Customer]:
    qs = customer_base(actor=request.user).only("id", "name")
    if prospects:
        qs = qs.filter(stage="prospect")
    return list(qs.order_by("-updated_at", "-id")[:200])


# ---------------------------------------------------------------- prospects

@page
@require_http_methods(["GET", "POST"])
def prospects(request):
    source = (request.GET.get("source") or "").strip()[:50] or None
    errors = {}
    if request.method == "POST":
        holder = {}
        errors = _try(request, lambda: holder.setdefault("opp", services.prospect_convert(
            actor=request.user, customer_id=request.POST.get("customer"), data={
                "title": request.POST.get("title", ""), "amount": request.POST.get("amount"),
                "expected_close": request.POST.get("expected_close")})))
        if not errors:
            messages.success(request, _("Prospect converted into an opportunity."))
            return redirect("sales:opportunity", holder["opp"].pk)
    page_ = selectors.prospect_list(actor=request.user, source=source, q=request.GET.get("q") or None,
                                    limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "sales/prospects.html", {
        "prospects": page_.items, "next": page_.next, "source": source or "", "sources": selectors.sources(),
        "counts": selectors.prospect_counts(actor=request.user), "errors": errors,
        "month": f"{rules.add_months(timezone.localdate(), 1):%Y-%m}", **_nav(request, "prospects")},
        status=400 if errors else 200)


# ---------------------------------------------------------------- development plans

def _plan_data(post) -> dict:
    return {k: post.get(k, "") for k in ("title", "starts_on", "deadline", "target_prospects", "target_opportunities",
                                          "target_deals", "target_amount", "budget", "support_needed")}


@page
@require_http_methods(["GET", "POST"])
def plans(request):
    errors = {}
    if request.method == "POST":
        holder = {}
        errors = _try(request, lambda: holder.setdefault("plan", services.plan_create(
            actor=request.user, data=_plan_data(request.POST))))
        if not errors:
            messages.success(request, _("Development plan saved."))
            return redirect("sales:plan", holder["plan"].pk)
    page_ = selectors.plan_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    today = timezone.localdate()
    return render(request, "sales/plans.html", {
        "plans": page_.items, "next": page_.next, "errors": errors, "today": today,
        "deadline": rules.add_months(today, 3), **_nav(request, "plans")}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def plan_detail(request, plan_id: int):
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id)
    errors = {}
    if request.method == "POST":
        if request.POST.get("action") == "submit":
            errors = _try(request, lambda: services.plan_submit(actor=request.user, plan_id=plan.pk))
        else:
            errors = _try(request, lambda: services.plan_update(actor=request.user, plan_id=plan.pk,
                                                                data=_plan_data(request.POST)))
        if not errors:
            messages.success(request, _("Saved."))
            return redirect("sales:plan", plan.pk)
    period = request.GET.get("period") if request.GET.get("period") in ("week", "month") else "week"
    progress = selectors.plan_progress(actor=request.user, plan_id=plan.pk, period=period, day=_day(request))
    rows = [(_("New prospects"), "prospects"), (_("New opportunities"), "opportunities"),
            (_("Deals signed"), "deals"), (_("Amount signed"), "amount")]
    table = [{"label": label, "current": progress["current"][k], "to_date": progress["to_date"][k],
              "target": progress["targets"][k], "reached": progress["reached"][k]} for label, k in rows]
    return render(request, "sales/plan_detail.html", {
        "plan": plan, "progress": progress, "table": table, "period": period, "errors": errors,
        "editable": plan.state in (PlanState.DRAFT, PlanState.REJECTED) and plan.owner_id == request.user.pk,
        "prev_day": progress["start"] - dt.timedelta(days=1), "next_day": progress["end"] + dt.timedelta(days=1),
        **_nav(request, "plans")}, status=400 if errors else 200)


# ---------------------------------------------------------------- opportunities

@page
@require_http_methods(["GET", "POST"])
def opportunities(request):
    errors = {}
    if request.method == "POST":
        holder = {}
        errors = _try(request, lambda: holder.setdefault("opp", services.opportunity_create(actor=request.user, data={
            k: request.POST.get(k, "") for k in ("customer", "title", "amount", "expected_close", "stage")})))
        if not errors:
            messages.success(request, _("Opportunity opened."))
            return redirect("sales:opportunity", holder["opp"].pk)
    outcome = request.GET.get("outcome") if request.GET.get("outcome") in Outcome.values else "open"
    page_ = selectors.opportunity_list(actor=request.user, outcome=outcome, limit=PAGE_SIZE,
                                       cursor=request.GET.get("cursor"))
    forecast = selectors.forecast(actor=request.user, months=6)
    chart = {"labels": [r["month"] for r in forecast], "weighted": [float(r["weighted"]) for r in forecast],
             "pipeline": [float(r["pipeline"]) for r in forecast], "won": [float(r["won_amount"]) for r in forecast]}
    return render(request, "sales/opportunities.html", {
        "opportunities": page_.items, "next": page_.next, "outcome": outcome, "outcomes": Outcome.choices,
        "forecast": forecast, "chart": chart, "stages": selectors.stages(), "customers": _customers(request),
        "errors": errors, "month": f"{rules.add_months(timezone.localdate(), 1):%Y-%m}",
        "customer_id": request.GET.get("customer", ""), **_nav(request, "opportunities")}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def opportunity_detail(request, opportunity_id: int):
    opp = selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id)
    errors = {}
    if request.method == "POST":
        errors = _try(request, lambda: services.opportunity_move(actor=request.user, opportunity_id=opp.pk, data={
            k: request.POST.get(k, "") for k in ("stage", "amount", "expected_close", "lost_reason", "competitor",
                                                 "note")}))
        if not errors:
            messages.success(request, _("Saved."))
            return redirect("sales:opportunity", opp.pk)
    return render(request, "sales/opportunity_detail.html", {
        "opp": opp, "events": selectors.opportunity_events(opportunity=opp), "stages": selectors.stages(),
        "lost_reasons": selectors.lost_reasons(), "competitors": selectors.competitors(), "errors": errors,
        "weighted": rules.weighted(opp.amount, opp.stage.probability),
        "deals": list(opp.deals.all()[:20]), **_nav(request, "opportunities")}, status=400 if errors else 200)


@page
@require_http_methods(["GET"])
def lost_analysis(request):
    data = selectors.lost_analysis(actor=request.user)
    chart = {"labels": [r["name"] for r in data["by_reason"]], "counts": [r["count"] for r in data["by_reason"]],
             "competitors": [r["name"] for r in data["by_competitor"]],
             "competitor_counts": [r["count"] for r in data["by_competitor"]]}
    return render(request, "sales/lost.html", {"data": data, "chart": chart, **_nav(request, "lost")})


# ---------------------------------------------------------------- deals

@page
@require_http_methods(["GET", "POST"])
def deals(request):
    errors = {}
    if request.method == "POST":
        holder = {}
        errors = _try(request, lambda: holder.setdefault("deal", services.deal_create(actor=request.user, data={
            k: request.POST.get(k, "") for k in ("customer", "title", "amount", "sale_object", "opportunity",
                                                 "object_code")})))
        if not errors:
            messages.success(request, _("Deal opened: finance records the deposit."))
            return redirect("sales:deal", holder["deal"].pk)
    stage = request.GET.get("stage") if request.GET.get("stage") in DealStage.values else None
    page_ = selectors.deal_list(actor=request.user, stage=stage, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    can_write = request.user.has_kehu_perm("sales.write")
    opp_id = request.GET.get("opportunity", "")
    opp = None
    if opp_id.isdigit():
        try:
            opp = selectors.opportunity_get(actor=request.user, opportunity_id=int(opp_id))
        except DomainError:
            opp = None
    customers = _customers(request) if can_write else []
    # ?customer=: the deal form opened from a customer (a walk-in just registered), that customer chosen
    chosen = request.POST.get("customer") or request.GET.get("customer") or ""
    chosen = int(chosen) if chosen.isdigit() and 0 < int(chosen) < 2**63 else None
    if chosen and can_write and all(c.pk != chosen for c in customers):
        customers = list(customer_base(actor=request.user).filter(pk=chosen).only("id", "name")) + customers
    return render(request, "sales/deals.html", {
        "deals": page_.items, "next": page_.next, "stage": stage or "", "stages": DealStage.choices,
        "errors": errors, "can_write": can_write, "opp": opp, "chosen": chosen,
        "customers": customers,
        "objects": selectors.object_list(actor=request.user, status=ObjectStatus.AVAILABLE) if can_write else [],
        **_nav(request, "deals")}, status=400 if errors else 200)


def _instalment_rows(post) -> list[dict]:
    rows = []
    for due, amount in zip(post.getlist("due_on"), post.getlist("instalment_amount"), strict=False):
        if (due or "").strip() or (amount or "").strip():
            rows.append({"due_on": due, "amount": amount})
    return rows


@page
@require_http_methods(["GET", "POST"])
def deal_detail(request, deal_id: int):
    deal = selectors.deal_get(actor=request.user, deal_id=deal_id)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "deposit":
            fn = lambda: services.deposit_record(actor=request.user, deal_id=deal.pk, data={  # noqa: E731
                k: request.POST.get(k, "") for k in ("kind", "amount", "received_on", "method", "receipt_no")})
        elif action == "pay":
            fn = lambda: services.instalment_payment_record(  # noqa: E731
                actor=request.user, instalment_id=request.POST.get("instalment"), data={
                    k: request.POST.get(k, "") for k in ("amount", "received_on", "method", "receipt_no")})
        else:
            fn = lambda: services.deal_move(actor=request.user, deal_id=deal.pk, data={  # noqa: E731
                "to": action, "signed_on": request.POST.get("signed_on", ""), "note": request.POST.get("note", ""),
                "instalments": _instalment_rows(request.POST)})
        errors = _try(request, fn)
        if not errors:
            messages.success(request, _("Saved."))
            return redirect("sales:deal", deal.pk)
        deal = selectors.deal_get(actor=request.user, deal_id=deal_id)
    payments = selectors.deal_payments(deal=deal)
    today = timezone.localdate()
    # A deal opens at the small-deposit stage before finance has taken the deposit: say so, and offer the
    # subscription only once a deposit is recorded (deal_move refuses it before).
    awaiting_deposit = deal.stage == DealStage.SMALL_DEPOSIT and not any(
        p.kind in (PaymentKind.SMALL_DEPOSIT, PaymentKind.LARGE_DEPOSIT) for p in payments)
    return render(request, "sales/deal_detail.html", {
        "deal": deal, "payments": payments, "paid": sum((p.amount for p in payments), Decimal("0.00")),
        "instalments": selectors.deal_instalments(deal=deal), "events": selectors.deal_events(deal=deal),
        "next": sorted(rules.DEAL_TRANSITIONS.get(deal.stage, ())), "errors": errors, "today": today,
        "awaiting_deposit": awaiting_deposit,
        "can_write": request.user.has_kehu_perm("sales.write"), "deposit_kinds": [
            (PaymentKind.SMALL_DEPOSIT, PaymentKind.SMALL_DEPOSIT.label),
            (PaymentKind.LARGE_DEPOSIT, PaymentKind.LARGE_DEPOSIT.label)],
        "instalment_slots": range(4), **_nav(request, "deals")}, status=400 if errors else 200)


# ---------------------------------------------------------------- arrears

@page
@require_http_methods(["GET"])
def arrears(request):
    overdue = selectors.overdue_instalments(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    notices = selectors.dunning_list(actor=request.user, limit=20)
    return render(request, "sales/arrears.html", {
        "overdue": overdue.items, "next": overdue.next, "notices": notices.items, "today": timezone.localdate(),
        **_nav(request, "arrears")})


@page
@require_http_methods(["GET"])
def dunning_detail(request, notice_id: int):
    notice = selectors.dunning_get(actor=request.user, notice_id=notice_id)
    return render(request, "sales/dunning_print.html", {"notice": notice, "inst": notice.instalment,
                                                         "deal": notice.instalment.deal})


@page
@require_http_methods(["GET", "POST"])
def breaches(request):
    errors = {}
    if request.method == "POST":
        errors = _try(request, lambda: services.breach_close(actor=request.user, case_id=request.POST.get("case"),
                                                             resolution=request.POST.get("resolution", "")))
        if not errors:
            messages.success(request, _("Breach case closed."))
            return redirect("sales:breaches")
    state = request.GET.get("state") if request.GET.get("state") in ("open", "closed") else "open"
    page_ = selectors.breach_list(actor=request.user, state=state, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "sales/breaches.html", {
        "cases": page_.items, "next": page_.next, "state": state, "errors": errors, **_nav(request, "breaches")},
        status=400 if errors else 200)


# ---------------------------------------------------------------- statistics

@page
@require_http_methods(["GET"])
def stats(request):
    period, day = _period(request), _day(request)
    data = selectors.deal_stats(actor=request.user, period=period, day=day)
    trend = selectors.deal_trend(actor=request.user, period=period, day=day)
    chart = {"labels": [r["label"] for r in trend], "counts": [r["count"] for r in trend],
             "amounts": [float(r["amount"]) for r in trend]}
    return render(request, "sales/stats.html", {
        "data": data, "trend": trend, "chart": chart, "period": period, "day": day,
        "prev_day": data["start"] - dt.timedelta(days=1), "next_day": data["end"] + dt.timedelta(days=1),
        **_nav(request, "stats")})


@page
@require_http_methods(["GET"])
def stats_export(request):
    """The same statistics as an XLSX workbook: the summary, by rep, by source and the trend."""
    from openpyxl import Workbook

    period, day = _period(request), _day(request)
    data = selectors.deal_stats(actor=request.user, period=period, day=day)
    trend = selectors.deal_trend(actor=request.user, period=period, day=day)
    wb = Workbook()
    ws = wb.active
    ws.title = pgettext("deal analysis", "Summary")[:31]
    ws.append([_("Period"), data["label"]])
    ws.append([pgettext("period", "From"), data["start"].isoformat(), pgettext("period", "To"), data["end"].isoformat()])
    ws.append([_("Deals signed"), data["count"]])
    ws.append([_("Amount signed"), float(data["amount"])])
    ws.append([_("Opportunities won"), data["opportunities_won"]])
    ws.append([_("Opportunities lost"), data["opportunities_lost"]])
    ws.append([_("Conversion (%)"), data["conversion"]])
    for title, rows in ((_("By rep"), data["by_rep"]), (_("By source"), data["by_source"])):
        sheet = wb.create_sheet(title[:31])
        sheet.append([_("Name"), _("Deals"), _("Amount")])
        for r in rows:
            sheet.append([r["name"], r["count"], float(r["amount"])])
    sheet = wb.create_sheet(_("Trend")[:31])
    sheet.append([_("Period"), _("Deals"), _("Amount")])
    for r in trend:
        sheet.append([r["label"], r["count"], float(r["amount"])])
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="deals-{data["label"]}.xlsx"'
    return response


# ---------------------------------------------------------------- configurable rows (a manager)

@page
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The pipeline's rows and figures: prospect sources, the funnel's stages, lost reasons, competitors and the
    arrears figures — changed by a manager through the same services as the API."""
    selectors.require_pipeline(request.user)
    errors = {}
    if request.method == "POST":
        post, actor = request.POST, request.user
        action = post.get("action")
        flag = lambda name: post.get(name) == "on"  # noqa: E731
        calls = {
            "source": lambda: services.source_save(actor=actor, data={k: post.get(k, "") for k in ("code", "name",
                                                                                                   "position")}),
            "stage": lambda: services.stage_save(actor=actor, data={
                "code": post.get("code", ""), "name": post.get("name", ""), "position": post.get("position", ""),
                "probability": post.get("probability", ""), "is_won": flag("is_won"), "is_lost": flag("is_lost"),
                "active": flag("active")}),
            "reason": lambda: services.lost_reason_save(actor=actor, name=post.get("name", "")),
            "competitor": lambda: services.competitor_save(actor=actor, name=post.get("name", "")),
            "policy": lambda: services.policy_update(actor=actor, data={
                k: post.get(k) for k in ("dunning_grace_days", "dunning_repeat_days", "breach_after_months")}),
        }
        if action not in calls:
            errors = {"__all__": [_("Unknown action.")]}
        else:
            errors = _try(request, calls[action])
        if not errors:
            messages.success(request, _("Saved."))
            return redirect("sales:settings")
    return render(request, "sales/settings.html", {
        "sources": selectors.sources(active_only=False), "stages": selectors.stages(active_only=False),
        "reasons": selectors.lost_reasons(), "competitors": selectors.competitors(), "policy": selectors.policy(),
        "errors": errors, **_nav(request, "settings")}, status=400 if errors else 200)
