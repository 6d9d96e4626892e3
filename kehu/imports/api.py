from __future__ import annotations

from django.http import HttpResponse
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from kehu.imports import parsing, selectors, services
from kehu.imports.schemas import (
    CommitIn,
    DryRunIn,
    FieldOut,
    ImportJobOut,
    ImportJobPage,
    MappingIn,
    MappingOut,
    job_out,
)

router = Router(tags=["imports"])


def _detail(request, job_id: int) -> dict:
    job = selectors.import_job_get(actor=request.user, job_id=job_id)
    return job_out(job, selectors.import_row_errors(actor=request.user, job_id=job.pk, limit=20),
                   selectors.import_row_duplicates(actor=request.user, job_id=job.pk, limit=20))


@router.get("/imports", response=ImportJobPage, summary="Import jobs in my scope, newest first")
def import_list(request, state: str | None = None, limit: int | None = None, cursor: str | None = None):
    page = selectors.import_job_list(actor=request.user, state=state, limit=limit, cursor=cursor)
    return {"items": [job_out(j) for j in page.items], "next": page.next}


@router.post("/imports", response={201: ImportJobOut}, summary="Upload a CSV or XLSX file of customers")
def import_upload(request, file: File[UploadedFile], mapping_id: Form[int | None] = None):
    job = services.import_upload(actor=request.user, file_name=file.name, chunks=file.chunks(),
                                 mapping_id=mapping_id)
    return Status(201, _detail(request, job.pk))


@router.get("/imports/fields", response=list[FieldOut], summary="The fields a column can be mapped to")
def import_fields(request):
    selectors.import_mapping_list(actor=request.user)  # the permission check
    return [{"key": k, "label": str(label)} for k, (label, _aliases) in parsing.FIELDS.items()]


@router.get("/imports/{job_id}", response=ImportJobOut, summary="One import job with its progress")
def import_get(request, job_id: int):
    return _detail(request, job_id)


@router.post("/imports/{job_id}/dry-run", response=ImportJobOut, summary="Set the mapping and check every row")
def import_dry_run(request, job_id: int, payload: DryRunIn | None = None):
    payload = payload or DryRunIn()
    services.import_dry_run(actor=request.user, job_id=job_id, columns=payload.columns,
                            save_mapping_as=payload.save_mapping_as,
                            basis=payload.basis.dict() if payload.basis else None)
    return _detail(request, job_id)


@router.get("/imports/{job_id}/errors", summary="Error report: the bad rows plus an error column",
            response={200: None})
def import_errors(request, job_id: int, format: str = "csv", reveal: bool = False):  # noqa: A002 - documented name
    """Mobiles and ID numbers masked; ``reveal=true`` (audited) gives them in clear to a role that reads them."""
    content, content_type, name = selectors.import_error_report(actor=request.user, job_id=job_id, fmt=format,
                                                                reveal=reveal)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return response


@router.post("/imports/{job_id}/commit", response={202: ImportJobOut}, summary="Import: all or nothing, or valid rows")
def import_commit(request, job_id: int, payload: CommitIn):
    services.import_commit(actor=request.user, job_id=job_id, mode=payload.mode, duplicates=payload.duplicates)
    return Status(202, _detail(request, job_id))


@router.post("/imports/{job_id}/cancel", response=ImportJobOut, summary="Cancel (between batches when running)")
def import_cancel(request, job_id: int):
    services.import_cancel(actor=request.user, job_id=job_id)
    return _detail(request, job_id)


@router.post("/imports/{job_id}/resume", response={202: ImportJobOut}, summary="Resume an interrupted import")
def import_resume(request, job_id: int):
    services.import_resume(actor=request.user, job_id=job_id)
    return Status(202, _detail(request, job_id))


@router.get("/import-mappings", response=list[MappingOut], summary="My saved column mappings")
def mapping_list(request):
    return list(selectors.import_mapping_list(actor=request.user)[:200])


@router.post("/import-mappings", response={201: MappingOut}, summary="Save a column mapping by name")
def mapping_save(request, payload: MappingIn):
    return Status(201, services.import_mapping_save(actor=request.user, name=payload.name, mapping=payload.mapping))


@router.get("/import-mappings/{mapping_id}", response=MappingOut)
def mapping_get(request, mapping_id: int):
    return selectors.import_mapping_get(actor=request.user, mapping_id=mapping_id)


@router.delete("/import-mappings/{mapping_id}", response={204: None})
def mapping_delete(request, mapping_id: int):
    services.import_mapping_delete(actor=request.user, mapping_id=mapping_id)
    return Status(204, None)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)
