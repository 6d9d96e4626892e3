"""HTML pages of the customer import: job list and upload, mapping step with preview, dry-run result
with the error report, commit, and a progress bar polled with htmx. Parse → service/selector → render."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kehu.customers.models import LegalBasis
from kehu.errors import DomainError, Invalid
from kehu.imports import masking, parsing, selectors, services
from kehu.imports.models import CommitMode, JobState
from kehu.imports.schemas import effective_state
from kehu.web import is_htmx, page, render_page

PAGE_SIZE = 50
RUNNING = (JobState.VALIDATING, JobState.IMPORTING)


@page
@require_GET
def import_list(request):
    page_ = selectors.import_job_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    for job in page_.items:
        job.shown_state = effective_state(job)
        job.shown_state_label = JobState(job.shown_state).label
    return render(request, "imports/list.html", {
        "jobs": page_.items, "next": page_.next,
        "mappings": selectors.import_mapping_list(actor=request.user)[:100],
        "max_mb": services.max_bytes() // (1024 * 1024),
    })


@page
@require_POST
def import_upload(request):
    upload = request.FILES.get("file")
    mapping_id = request.POST.get("mapping") or None
    try:
        if upload is None:
            raise Invalid(_("Choose a CSV or XLSX file."), fields={"file": [_("This field is required.")]})
        job = services.import_upload(actor=request.user, file_name=upload.name, chunks=upload.chunks(),
                                     mapping_id=int(mapping_id) if mapping_id and mapping_id.isdigit() else None)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        messages.error(request, exc.message)
        return redirect("imports:list")
    return redirect("imports:detail", job_id=job.pk)


def _context(request, job) -> dict:
    state = effective_state(job)
    job.message = masking.mask_free_text(job.message)  # shown only, never saved
    fields = [(k, label) for k, (label, _aliases) in parsing.FIELDS.items()]
    return {
        "job": job, "state": state, "state_label": JobState(state).label, "running": state in RUNNING,
        "is_owner": job.created_by_id == request.user.pk, "fields": fields,
        "columns": list(zip(job.headers, job.columns, strict=False)),
        "preview": masking.mask_rows(job.columns, job.preview), "errors": selectors.import_row_errors(actor=request.user, job_id=job.pk, limit=20)
        if state in (JobState.VALIDATED, JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED)
        else [],
        "can_map": state in (JobState.UPLOADED, JobState.VALIDATED) or (state == JobState.VALIDATING
                                                                          and services._is_stale(job)),
        "can_commit": state == JobState.VALIDATED and job.valid_rows > 0,
        "all_allowed": job.error_rows == 0, "modes": CommitMode,
        "can_cancel": state in (JobState.UPLOADED, JobState.VALIDATING, JobState.VALIDATED, JobState.IMPORTING,
                                JobState.INTERRUPTED),
        "mappings": selectors.import_mapping_list(actor=request.user)[:100],
        "basis_choices": LegalBasis.choices,
        "duplicates": selectors.import_row_duplicates(actor=request.user, job_id=job.pk, limit=20)
        if job.duplicate_rows else [],
    }


@page
@require_GET
def import_detail(request, job_id: int):
    job = selectors.import_job_get(actor=request.user, job_id=job_id)
    return render(request, "imports/detail.html", _context(request, job))


@page
@require_GET
def import_progress(request, job_id: int):
    """The progress fragment polled every second; when the run ends the page reloads to its result."""
    job = selectors.import_job_get(actor=request.user, job_id=job_id)
    state = effective_state(job)
    if is_htmx(request) and state not in RUNNING:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render_page(request, "imports/detail.html", "imports/_progress.html", _context(request, job))


def _act(request, job_id: int, action) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("imports:detail", job_id=job_id)


@page
@require_POST
def import_dry_run(request, job_id: int):
    job = selectors.import_job_get(actor=request.user, job_id=job_id)
    columns = [request.POST.get(f"col{i}", "") for i in range(len(job.headers))]
    return _act(request, job_id, lambda: services.import_dry_run(
        actor=request.user, job_id=job_id, columns=columns,
        save_mapping_as=request.POST.get("save_mapping_as", "").strip() or None,
        basis={"basis": request.POST.get("basis", ""), "purpose": request.POST.get("basis_purpose", "")}
        if "basis" in request.POST else None))


@page
@require_POST
def import_commit(request, job_id: int):
    return _act(request, job_id, lambda: services.import_commit(actor=request.user, job_id=job_id,
                                                                 mode=request.POST.get("mode", ""),
                                                                 duplicates=request.POST.get("duplicates") or None))


@page
@require_POST
def import_cancel(request, job_id: int):
    return _act(request, job_id, lambda: services.import_cancel(actor=request.user, job_id=job_id))


@page
@require_POST
def import_resume(request, job_id: int):
    return _act(request, job_id, lambda: services.import_resume(actor=request.user, job_id=job_id))


@page
@require_GET
def import_errors(request, job_id: int):
    content, content_type, name = selectors.import_error_report(actor=request.user, job_id=job_id,
                                                                fmt=request.GET.get("format", "csv"),
                                                                reveal=request.GET.get("reveal") in ("1", "true"))
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response
