"""The order / payment import API (/api/v1/order-imports): upload a CSV/XLSX (the dry run runs in the
worker), read a job with its error report and progress, start the import. The same jobs and rules as
the import page (kehu.orders.import_jobs): ORDER_WRITE / PAYMENT_WRITE, each job its uploader's."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.orders import import_jobs

router = Router(tags=["orders"])


class RowErrorOut(Schema):
    row: int
    messages: list[str]


class ProgressOut(Schema):
    done: int
    total: int
    percent: int


class OrderImportOut(Schema):
    id: int
    kind: str
    file_name: str
    state: str = Field(..., description="checking → checked → importing → done (failed: resumable)")
    rows: int
    valid_rows: int
    error_rows: int
    existing_rows: int
    written_rows: int
    message: str
    created_at: dt.datetime
    progress: ProgressOut
    errors: list[RowErrorOut] = Field(..., description="The dry run's report (at most 1,000 rows)")


def _out(job, *, errors: bool = True) -> dict:
    return {"id": job.pk, "kind": job.kind, "file_name": job.file_name, "state": job.state, "rows": job.rows,
            "valid_rows": job.valid_rows, "error_rows": job.error_rows, "existing_rows": job.existing_rows,
            "written_rows": job.written_rows, "message": job.message, "created_at": job.created_at,
            "progress": import_jobs.job_progress(job), "errors": job.errors if errors else []}


@router.get("/order-imports", response=list[OrderImportOut], summary="My recent order / payment imports")
def order_import_list(request):
    return [_out(j, errors=False) for j in import_jobs.job_list(actor=request.user)]


@router.post("/order-imports", response={201: OrderImportOut},
             summary="Upload a CSV or XLSX of orders or payments; every row is checked in the worker (dry run)")
def order_import_upload(request, file: File[UploadedFile], kind: Form[Literal["orders", "payments"]]):
    job = import_jobs.job_upload(actor=request.user, kind=kind, file_name=file.name, chunks=file.chunks())
    return Status(201, _out(job))


@router.get("/order-imports/{job_id}", response=OrderImportOut,
            summary="One import with its error report and progress")
def order_import_get(request, job_id: int):
    return _out(import_jobs.job_get(actor=request.user, job_id=job_id))


@router.post("/order-imports/{job_id}/commit", response={202: OrderImportOut},
             summary="Import the checked file's valid rows in the worker (again after a failure: resumes)")
def order_import_commit(request, job_id: int):
    return Status(202, _out(import_jobs.job_commit(actor=request.user, job_id=job_id)))
