"""Commission pages: the monthly commission statement (月度佣金结算单: the month's summary of my scope with
the pool's share as its own line, one rep's statement, printable and exported to XLSX), a won deal's split
with its explanation, history and the adjustment request, and the rules and rates (edited by
sales.manage). Parse → call a service/selector → render; the same permissions as the API."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.errors import DomainError, Invalid
from kehu.sales.commissions import selectors, services
from kehu.sales.commissions.models import AdjustmentStatus, SpousesVariant
from kehu.web import page

ADJ_ROWS = 4


def _month(request):
    text = (request.GET.get("month") or "").strip()
    if text:
        try:
            return selectors.parse_month(text)
        except DomainError:
            pass
    return timezone.localdate().replace(day=1)


def _prev_next(first):
    prev = (first.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    nxt = selectors.month_end(first)
    return prev, nxt


@page
@require_GET
def statements(request):
    """The month's commissions of my scope and one rep's statement (default: mine, or the first rep)."""
    selectors.require_read(request.user)
    first = _month(request)
    summary = selectors.month_summary(actor=request.user, month=first)
    reps = selectors.scoped_reps(actor=request.user)
    rep_id = (request.GET.get("rep") or "").strip()
    if not rep_id:
        # mine when I have a commission this month (or am only a rep), else the first rep of my scope's month:
        # a manager who sells nothing himself lands on his team's statements, not on an empty one of his own
        mine = any(r.user_id == request.user.pk for r in summary)
        rep_id = request.user.pk if mine or (any(r.pk == request.user.pk for r in reps)
                                             and not selectors.can_manage(request.user)) else next(
            (r.user_id for r in summary if r.user_id), request.user.pk)
    statement = selectors.statement(actor=request.user, rep_id=rep_id, month=first)
    prev, nxt = _prev_next(first)
    return render(request, "commissions/statements.html", {
        "month": first, "month_value": first.strftime("%Y-%m"), "prev": prev.strftime("%Y-%m"),
        "next": nxt.strftime("%Y-%m"), "summary": summary, "summary_total": sum((r.amount for r in summary),
                                                                                  Decimal("0")),
        "reps": reps, "statement": statement, "can_manage": selectors.can_manage(request.user),
        "pending": selectors.pending_adjustments(actor=request.user) if selectors.can_manage(request.user) else [],
        "nav_active": "statements"})


@page
@require_GET
def statement_xlsx(request):
    """The statement as XLSX: one sheet, the rep's lines and the pool's lines of the same deals, totals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from kehu.imports.exports import neutralise

    selectors.require_read(request.user)
    first = _month(request)
    st = selectors.statement(actor=request.user, rep_id=request.GET.get("rep") or request.user.pk, month=first)
    wb = Workbook()
    ws = wb.active
    ws.title = first.strftime("%Y-%m")
    ws.append([_("Monthly commission statement"), neutralise(str(st.rep)), first.strftime("%Y-%m")])
    ws["A1"].font = Font(bold=True)
    header = [_("Signed on"), _("Deal"), _("Customer"), _("Commission base"), _("Rule"), _("Party"),
              _("Share (%)"), _("Amount"), _("Explanation")]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in st.rows:
        ws.append([r.signed_on, neutralise(r.deal_title), neutralise(r.customer_name), r.base, str(r.rule_name),
                   _("Commission pool") if r.is_pool else neutralise(str(st.rep)), r.share_percent, r.amount,
                   neutralise(r.explanation)])
    ws.append([])
    ws.append([_("Total"), "", "", "", "", neutralise(str(st.rep)), "", st.total])
    ws.append([_("Commission pool"), "", "", "", "", "", "", st.pool_total])
    for col, width in zip("ABCDEFGHI", (12, 28, 28, 14, 22, 12, 10, 14, 80), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = (f'attachment; filename="commission-{first:%Y-%m}-{st.rep.pk}.xlsx"')
    return response


def _adjustment_lines(post) -> list[dict]:
    out = []
    for i in range(ADJ_ROWS):
        user = (post.get(f"user_{i}") or "").strip()
        share = (post.get(f"share_{i}") or "").strip()
        if not user and not share:
            continue
        if user == "pool":
            uid = None
        else:
            try:
                uid = int(user)
            except ValueError:
                raise Invalid(_("Unknown user."), fields={"lines": [_("Unknown user.")]}) from None
        out.append({"user": uid, "share": share})
    return out


@page
@require_http_methods(["GET", "POST"])
def deal(request, deal_id: int):
    deal_, versions = selectors.deal_splits(actor=request.user, deal_id=deal_id)
    errors = {}
    if request.method == "POST":
        try:
            kind = request.POST.get("kind")
            if kind == "base":
                services.base_enter(actor=request.user, deal_id=deal_id, amount=request.POST.get("amount", ""))
                messages.success(request, _("Commission base entered."))
            elif kind == "company":
                services.company_customer_declare(
                    actor=request.user, deal_id=deal_id, note=request.POST.get("note", ""),
                    arranged_by_company=request.POST.get("arranged_by_company") == "on",
                    followed_up_by_other_staff=request.POST.get("followed_up_by_other_staff") == "on",
                    withdraw=request.POST.get("withdraw") == "on")
                messages.success(request, _("Company customer declaration saved."))
            else:
                services.adjustment_request(actor=request.user, deal_id=deal_id,
                                            lines=_adjustment_lines(request.POST),
                                            reason=request.POST.get("reason", ""),
                                            base=request.POST.get("base") or None)
                messages.success(request, _("The adjustment is awaiting approval."))
            return redirect("commissions:deal", deal_id)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
    current = next((v for v in versions if v.current), None)
    adjustments = list(deal_.commission_adjustments.select_related("requested_by").order_by("-id")[:20])
    users = list(User.objects.filter(is_active=True).select_related("department")
                 .order_by("department_id", "username")[:500])
    rows = []
    if current is not None:
        rows = [{"user": ln.user_id or "pool", "share": ln.share_percent} for ln in current.lines.all()]
    rows += [{"user": "", "share": ""}] * (ADJ_ROWS - len(rows))
    return render(request, "commissions/deal.html", {
        "deal": deal_, "current": current, "history": [v for v in versions if not v.current],
        "adjustments": adjustments, "pending": any(a.status == AdjustmentStatus.PENDING for a in adjustments),
        "users": users, "rows": rows[:ADJ_ROWS], "errors": errors, "nav_active": "statements",
        "can_request": request.user.has_kehu_perm(Perm.SALES_WRITE), "can_manage": selectors.can_manage(request.user),
        "declaration": getattr(deal_, "company_declaration", None),
        "entered": getattr(deal_, "commission_base_entry", None)}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def rules(request):
    errors = {}
    if request.method == "POST":
        try:
            if request.POST.get("kind") == "rate":
                services.rate_set(actor=request.user, prefix=request.POST.get("prefix", ""),
                                  name=request.POST.get("name", ""), rate_percent=request.POST.get("rate_percent"),
                                  active=request.POST.get("active") == "on")
                messages.success(request, _("Commission rate saved."))
            else:
                data = {"share_percent": request.POST.get("share_percent"),
                        "active": request.POST.get("active") == "on"}
                precedence = (request.POST.get("precedence") or "").strip()
                if precedence:
                    data["precedence"] = int(precedence) if precedence.isdigit() else -1
                if "variant" in request.POST:
                    data["variant"] = request.POST.get("variant")
                services.rule_update(actor=request.user, code=request.POST.get("code", ""), data=data)
                messages.success(request, _("Commission rule saved."))
            return redirect("commissions:rules")
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
    return render(request, "commissions/rules.html", {
        "rules": selectors.rules(actor=request.user), "rates": selectors.rates(actor=request.user),
        "can_manage": selectors.can_manage(request.user), "variants": SpousesVariant.choices, "errors": errors,
        "nav_active": "rules"}, status=400 if errors else 200)
