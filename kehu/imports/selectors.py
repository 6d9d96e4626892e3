"""Every read of the customer import, narrowed to the actor's scope (own jobs; a manager's department
subtree; everything for executives and admins)."""

from __future__ import annotations

import csv
import io

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.errors import Forbidden, Invalid, NotFound
from kehu.imports import masking
from kehu.imports.models import ImportJob, ImportMapping, ImportRowDuplicate, ImportRowError
from kehu.pagination import Page, paginate

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _require(actor) -> None:
    if not actor.has_kehu_perm(Perm.CUSTOMER_IMPORT):
        raise Forbidden(_("You are not allowed to import customers."))


def import_job_base(*, actor) -> QuerySet[ImportJob]:
    _require(actor)
    return ImportJob.objects.filter(scope_q(actor, owner_field="created_by")).select_related("created_by")


def import_job_list(*, actor, state: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
    """The import jobs in the actor's scope, newest first."""
    qs = import_job_base(actor=actor)
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


def import_job_get(*, actor, job_id: int, for_update: bool = False) -> ImportJob:
    """One job in the actor's scope, else NotFound."""
    qs = import_job_base(actor=actor)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    job = qs.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No such import."))
    return job


def import_row_errors(*, actor, job_id: int, limit: int = 50) -> list[ImportRowError]:
    """The first rows with errors, their messages masked (mobiles and ID numbers in them): for display only."""
    job = import_job_get(actor=actor, job_id=job_id)
    errors = list(ImportRowError.objects.filter(job_id=job.pk).order_by("row_number")[:limit])
    for e in errors:
        e.errors = masking.mask_messages(e.errors)
    return errors


def import_row_duplicates(*, actor, job_id: int, limit: int = 50) -> list[ImportRowDuplicate]:
    """The rows the dry run marked as possible duplicates (ids of the matching customers in the importer's
    scope, as recorded then), first rows first."""
    job = import_job_get(actor=actor, job_id=job_id)
    return list(ImportRowDuplicate.objects.filter(job_id=job.pk).order_by("row_number")[:limit])


def import_mapping_list(*, actor) -> QuerySet[ImportMapping]:
    _require(actor)
    return ImportMapping.objects.filter(user=actor).order_by("name")


def import_mapping_get(*, actor, mapping_id: int) -> ImportMapping:
    obj = import_mapping_list(actor=actor).filter(pk=mapping_id).first()
    if obj is None:
        raise NotFound(_("No such mapping."))
    return obj


def _safe(value) -> str:
    """A cell neutralised against formula injection (=, +, -, @ start a formula in Excel/WPS)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def import_error_report(*, actor, job_id: int, fmt: str, reveal: bool = False) -> tuple[bytes, str, str]:
    """The rows of the file that have errors, as they were, plus the row number and an error column:
    (content, content type, file name). CSV is UTF-8 with a BOM so Excel opens it right. Mobiles and ID
    numbers are masked as in the archive; ``reveal`` gives them in clear to a role that reads their level
    (else 403), and is audited. Once the stored file is gone (after the commit, or after the retention
    days) the report keeps the row numbers and errors only."""
    from kehu.imports import parsing
    from kehu.imports.services import job_info, job_path

    if fmt not in ("csv", "xlsx"):
        raise Invalid(_("The format must be csv or xlsx."), fields={"format": [_("Unknown format.")]})
    job = import_job_get(actor=actor, job_id=job_id)
    if reveal:
        if not actor.can_read_level(masking.sensitive_level()):
            raise Forbidden(_("Your role may not see confidential fields in clear."))
        from kehu.audit.services import audit_record

        audit_record(actor=actor, action="import.errors_reveal", obj=job, changes={"format": fmt})
    errors = dict(ImportRowError.objects.filter(job_id=job.pk).values_list("row_number", "errors"))
    header = [*job.headers, _("Row"), _("Errors")]
    width = len(job.headers)
    columns = list(job.columns) + [""] * (width - len(job.columns))

    def rows():
        if not errors:
            return
        path = job_path(job) if job.file_path else None
        if path is None or not path.exists():
            for number in sorted(errors):
                msgs = errors[number] if reveal else masking.mask_messages(errors[number])
                yield [*([""] * width), number, _safe("；".join(msgs))]
            return
        for number, cells in parsing.iter_data_rows(path, job_info(job)):
            if number in errors:
                cells = [parsing.visible(parsing.cell_text(c)) for c in cells[:width]]
                cells += [""] * (width - len(cells))
                msgs = errors[number]
                if not reveal:
                    cells, msgs = masking.mask_row(columns, cells), masking.mask_messages(msgs)
                yield [*map(_safe, cells), number, _safe("；".join(msgs))]

    stem = job.file_name.rsplit(".", 1)[0]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(map(_safe, header))
        writer.writerows(rows())
        return ("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", f"{stem}-errors.csv"
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(_("Errors"))
    ws.append(list(map(_safe, header)))
    for r in rows():
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return (buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{stem}-errors.xlsx")
