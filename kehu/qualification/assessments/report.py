"""The review report of a period as an XLSX workbook (客户评审结果, for the management meeting): a summary sheet
(counts by result, by customer type, average score) and one row per customer assessed, from the same scoped
selectors as the page. Cells that a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from kehu.imports.exports import neutralise
from kehu.qualification.assessments import selectors
from kehu.qualification.assessments.models import CustomerType, Result


def _num(v):
    return float(v) if v is not None else None


def workbook(*, actor, run_id: int) -> tuple[str, bytes]:
    """(file name, XLSX bytes) of the run's report within the actor's scope."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    report = selectors.run_report(actor=actor, run_id=run_id)
    run = report["run"]
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = _("Summary")[:31]
    ws.append([_("Customer assessment %(p)s") % {"p": run.label}, str(run.get_period_kind_display()),
               f"{run.period_start:%Y-%m-%d} – {run.period_end:%Y-%m-%d}", str(run.get_state_display())])
    ws["A1"].font = Font(bold=True)
    ws.append([])
    ws.append([_("Result"), _("Customers")])
    for _code, label, n in report["by_result"]:
        ws.append([str(label), n])
    ws.append([])
    ws.append([_("Customer type"), _("Customers"), _("Average score")])
    for t, v in report["by_type"].items():
        ws.append([str(CustomerType(t).label), v["n"], _num(v["avg"])])
    ws.append([_("All"), report["n"], _num(report["avg"])])
    rows = wb.create_sheet(_("Customers")[:31])
    headers = [_("Customer"), _("Customer type"), _("Account manager"), _("Planned (t)"), _("Taken (t)"),
               _("Months with orders"), _("Amount due"), _("Paid on time"), _("Admission"), _("Plan completion"),
               _("Order regularity"), _("Cooperation"), _("Credit"), _("Score"), _("Result"), _("Payment terms")]
    rows.append(headers)
    for cell in rows[1]:
        cell.font = Font(bold=True)
    for a in selectors.report_rows(actor=actor, run_id=run_id):
        rows.append([neutralise(a.customer_name), str(CustomerType(a.customer_type).label),
                     neutralise(str(a.owner) if a.owner_id else ""), _num(a.planned_t), _num(a.ordered_t),
                     a.months_with_orders, _num(a.due_amount), _num(a.paid_on_time_amount), _num(a.admission_score),
                     _num(a.plan_score), _num(a.regularity_score), _num(a.cooperation_score), _num(a.credit_score),
                     _num(a.total), str(Result(a.result).label), a.terms_kind])
    buf = io.BytesIO()
    wb.save(buf)
    return f"assessment-{run.label}.xlsx", buf.getvalue()
