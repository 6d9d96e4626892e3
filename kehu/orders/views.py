"""A customer's orders and payments (list + entry forms), the payment-terms form, and the orders
card for the customer 360 page (loaded by htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kehu.access.roles import Perm
from kehu.customers.selectors import customer_get
from kehu.imports.exports import neutralise
from kehu.orders import selectors, services
from kehu.orders.forms import OrderForm, PaymentForm, TermsForm
from kehu.web import form_submit, page

PAGE_SIZE = 30
PRODUCT_LINES = ["聚乙烯 PE", "聚丙烯 PP", "聚氯乙烯 PVC", "聚苯乙烯 PS", "ABS"]


def _cursor(request, name: str) -> str | None:
    return request.GET.get(name) or None


@page
@require_http_methods(["GET", "POST"])
def customer_orders(request, customer_id: int):
    """The customer's orders and payments, with the entry forms."""
    customer = customer_get(actor=request.user, customer_id=customer_id)
    orders = selectors.order_list(actor=request.user, customer=customer_id, limit=PAGE_SIZE,
                                  cursor=_cursor(request, "orders"))
    payments = selectors.payment_list(actor=request.user, customer=customer_id, limit=PAGE_SIZE,
                                      cursor=_cursor(request, "payments"))
    can_order = request.user.has_kehu_perm(Perm.ORDER_WRITE)
    can_pay = request.user.has_kehu_perm(Perm.PAYMENT_WRITE)
    order_form, payment_form, status = OrderForm(prefix="o"), PaymentForm(prefix="p"), 200
    if request.method == "POST":
        if request.POST.get("form") == "order":
            order_form = OrderForm(request.POST, prefix="o")

            def write():
                data = {k: v for k, v in order_form.cleaned_data.items() if k != "request_exception"}
                return services.order_create(actor=request.user, customer_id=customer_id, data=data,
                                             request_exception=order_form.cleaned_data["request_exception"])

            ok, result, status = form_submit(order_form, write)
            if ok:
                if result.held is not None:
                    messages.warning(request, _("The order breaks the payment terms; it awaits approval."))
                else:
                    messages.success(request, _("Order recorded."))
                return redirect("orders:customer", customer_id)
        elif request.POST.get("form") == "payment":
            payment_form = PaymentForm(request.POST, prefix="p")
            ok, _result, status = form_submit(payment_form, lambda: services.payment_record(
                actor=request.user, customer_id=customer_id, data=payment_form.cleaned_data))
            if ok:
                messages.success(request, _("Payment recorded."))
                return redirect("orders:customer", customer_id)
        elif request.POST.get("form") == "paid":
            services.payment_mark_paid(actor=request.user, payment_id=int(request.POST.get("payment") or 0),
                                       paid_date=request.POST.get("paid_date") or "")
            messages.success(request, _("Payment recorded."))
            return redirect("orders:customer", customer_id)
    context = {
        "customer": customer, "orders": orders, "payments": payments, "order_form": order_form,
        "payment_form": payment_form, "can_order": can_order, "can_pay": can_pay,
        "summary": selectors.customer_order_summary(actor=request.user, customer_id=customer_id),
        "held": selectors.held_order_list(actor=request.user, customer_id=customer_id),
        "product_lines": PRODUCT_LINES,
    }
    return render(request, "orders/customer_orders.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def payment_terms(request, customer_id: int):
    customer = customer_get(actor=request.user, customer_id=customer_id)
    terms = selectors.payment_terms_get(actor=request.user, customer_id=customer_id)
    initial = {"kind": terms.kind, "credit_limit": terms.credit_limit, "credit_days": terms.credit_days} \
        if terms else {"kind": "prepay"}
    form, status = TermsForm(initial=initial), 200
    if request.method == "POST":
        form = TermsForm(request.POST)
        ok, _r, status = form_submit(form, lambda: services.payment_terms_set(
            actor=request.user, customer_id=customer_id, **form.cleaned_data))
        if ok:
            messages.success(request, _("Payment terms saved."))
            return redirect("orders:customer", customer_id)
    return render(request, "orders/payment_terms.html",
                  {"customer": customer, "terms": terms, "form": form,
                   "can_edit": request.user.has_kehu_perm(Perm.PAYMENT_WRITE)}, status=status)


@page
@require_http_methods(["GET"])
def customer_card(request, customer_id: int):
    """The orders card of the customer 360 page (an htmx fragment; empty without Perm.ORDER_READ)."""
    summary = selectors.customer_order_summary(actor=request.user, customer_id=customer_id)
    return render(request, "orders/_customer_card.html", {"summary": summary, "customer_id": customer_id})


# ---------------------------------------------------------------- import page (导入订单 / 回款)

# The template's columns: (field, Chinese header the importer recognises, English header it also recognises,
# required, example). Field names are kehu.orders.imports' ORDER_COLUMNS / PAYMENT_COLUMNS keys.
TEMPLATE_COLUMNS = {
    "orders": [
        ("customer", "客户名称", "customer", True, "华东塑业有限公司"),
        ("customer_id", "客户编号", "customer_id", False, "1024"),
        ("uscc", "统一社会信用代码", "uscc", False, "91330106MA2XXXXXXX"),
        ("external_id", "订单号", "external_id", False, "SO-2026-0001"),
        ("order_date", "订单日期", "order_date", True, "2026-06-05"),
        ("delivered_on", "发货日期", "delivered_on", False, "2026-06-08"),
        ("product_line", "产品线", "product_line", True, "聚乙烯 PE"),
        ("quantity", "数量", "quantity", True, "25"),
        ("unit", "单位", "unit", False, "t"),
        ("amount", "金额", "amount", True, "212500.00"),
        ("gross_margin", "毛利", "gross_margin", False, "18700.00"),
        ("channel", "渠道", "channel", False, "直销"),
        ("sales_rep", "业务员", "sales_rep", False, "zhangwei"),
    ],
    "payments": [
        ("customer", "客户名称", "customer", True, "华东塑业有限公司"),
        ("customer_id", "客户编号", "customer_id", False, "1024"),
        ("uscc", "统一社会信用代码", "uscc", False, "91330106MA2XXXXXXX"),
        ("external_id", "回款单号", "external_id", False, "RC-2026-0001"),
        ("order_external_id", "订单号", "order_external_id", False, "SO-2026-0001"),
        ("due_date", "应收日期", "due_date", True, "2026-07-05"),
        ("paid_date", "回款日期", "paid_date", False, "2026-07-03"),
        ("amount", "金额", "amount", True, "212500.00"),
    ],
}
IMPORT_RUNNING = ("checking", "importing")


def _import_kind(value: str | None) -> str:
    return value if value in TEMPLATE_COLUMNS else "orders"


@page
@require_http_methods(["GET", "POST"])
def import_page(request):
    """Upload a CSV/XLSX of orders or payments (ORDER_WRITE / PAYMENT_WRITE); the user's recent imports."""
    from kehu.errors import DomainError, Invalid
    from kehu.imports.services import max_bytes
    from kehu.orders import import_jobs

    import_jobs.require(request.user)
    kinds = [k for k in TEMPLATE_COLUMNS if import_jobs.can_import(request.user, k)]
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise Invalid(_("Choose a CSV or XLSX file."), fields={"file": [_("This field is required.")]})
            job = import_jobs.job_upload(actor=request.user, kind=request.POST.get("kind", ""),
                                         file_name=upload.name, chunks=upload.chunks())
            return redirect("orders:import_detail", job.pk)
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            messages.error(request, exc.message)
            status = exc.status
    return render(request, "orders/import.html", {
        "jobs": list(import_jobs.job_list(actor=request.user)), "kinds": kinds,
        "kind": _import_kind(request.POST.get("kind") or request.GET.get("kind")),
        "columns": TEMPLATE_COLUMNS, "max_mb": max_bytes() // (1024 * 1024)}, status=status)


def _job_context(request, job) -> dict:
    from kehu.orders import import_jobs

    return {"job": job, "running": job.state in IMPORT_RUNNING, "progress": import_jobs.job_progress(job),
            "errors": job.errors[:50] if job.state != "checking" else [],
            "can_commit": job.state in ("checked", "failed") and job.rows > 0 and job.valid_rows > 0
            and job.valid_rows > job.existing_rows}


@page
@require_http_methods(["GET"])
def import_detail(request, job_id: int):
    from kehu.orders import import_jobs

    job = import_jobs.job_get(actor=request.user, job_id=job_id)
    return render(request, "orders/import_detail.html", _job_context(request, job))


@page
@require_http_methods(["GET"])
def import_progress(request, job_id: int):
    """The progress fragment polled by htmx; when the step ends the page reloads to its result."""
    from django.http import HttpResponse

    from kehu.orders import import_jobs
    from kehu.web import is_htmx, render_page

    job = import_jobs.job_get(actor=request.user, job_id=job_id)
    if is_htmx(request) and job.state not in IMPORT_RUNNING:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render_page(request, "orders/import_detail.html", "orders/_import_progress.html",
                       _job_context(request, job))


@page
@require_http_methods(["POST"])
def import_commit(request, job_id: int):
    from kehu.errors import DomainError
    from kehu.orders import import_jobs

    try:
        import_jobs.job_commit(actor=request.user, job_id=job_id)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("orders:import_detail", job_id)


@page
@require_http_methods(["GET"])
def import_errors(request, job_id: int):
    """The dry run's error report as CSV (UTF-8 with BOM, for Excel)."""
    import csv
    import io

    from django.http import HttpResponse

    from kehu.orders import import_jobs

    job = import_jobs.job_get(actor=request.user, job_id=job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Errors")])
    for item in job.errors:
        writer.writerow([item["row"], neutralise("；".join(item["messages"]))])  # messages quote the file's cells
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="order-import-{job.pk}-errors.csv"'
    return response


@page
@require_http_methods(["GET"])
def import_template(request, kind: str, fmt: str):
    """The template file: the Chinese headers the importer recognises, each with its English name (the
    XLSX's second sheet lists both, whether the column is required and an example; ``?lang=en`` gives
    English headers, which the importer recognises as well)."""
    import csv
    import io

    from django.http import Http404, HttpResponse

    from kehu.orders import import_jobs

    if kind not in TEMPLATE_COLUMNS or fmt not in ("csv", "xlsx"):
        raise Http404
    import_jobs.require(request.user, kind)
    columns = TEMPLATE_COLUMNS[kind]
    english = request.GET.get("lang") == "en"
    headers = [en if english else zh for _f, zh, en, _r, _e in columns]
    name = f"kehu-{kind}-template{'-en' if english else ''}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerow(headers)
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook
        from openpyxl.comments import Comment
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        ws.title = "订单 Orders" if kind == "orders" else "回款 Payments"
        ws.append(headers)
        for i, (_f, zh, en, required, _e) in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=i)
            cell.font = Font(bold=True)
            cell.comment = Comment(f"{zh} / {en}" + (" (必填 required)" if required else ""), "Kehu")
            ws.column_dimensions[cell.column_letter].width = max(12, len(zh) * 2 + 4)
        guide = wb.create_sheet("说明 Guide")
        guide.append(["列名", "Column", "必填 Required", "示例 Example"])
        for _f, zh, en, required, example in columns:
            guide.append([zh, en, "是 yes" if required else "否 no", example])
        guide.append([])
        guide.append(["客户按 客户编号、统一社会信用代码 或 客户名称 查找（任填其一）。",
                      "Customers are found by id, USCC or exact name (any one)."])
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(buf.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
