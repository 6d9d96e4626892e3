"""The order / payment import as a job (导入任务) for the page: upload (stored like kehu/imports' files),
dry run in the worker (the error report), then the import in the worker with its progress, resumable.
The rows are read, checked and written by kehu.orders.imports.order_import; this module only keeps the
job's state. Only the uploader sees a job; the permission is ORDER_WRITE for orders, PAYMENT_WRITE for
payments."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from kehu.imports.services import storage_dir, store_upload
from kehu.orders.imports import order_import
from kehu.orders.models import ImportJobState, Order, OrderImportJob, Payment, Source

KINDS = {"orders": Perm.ORDER_WRITE, "payments": Perm.PAYMENT_WRITE}


def can_import(actor, kind: str | None = None) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    kinds = [kind] if kind else list(KINDS)
    return any(k in KINDS and actor.has_kehu_perm(KINDS[k]) for k in kinds)


def require(actor, kind: str | None = None) -> None:
    if not can_import(actor, kind):
        raise Forbidden(_("You are not allowed to import orders or payments."))


def job_list(*, actor, limit: int = 20):
    require(actor)
    return OrderImportJob.objects.filter(created_by=actor)[:limit]


def job_get(*, actor, job_id: int, for_update: bool = False) -> OrderImportJob:
    """One of the actor's own jobs (404 for anyone else's)."""
    require(actor)
    qs = OrderImportJob.objects.filter(pk=job_id, created_by=actor)
    job = (qs.select_for_update() if for_update else qs).first()
    if job is None:
        raise NotFound(_("No such import."))
    return job


def job_path(job: OrderImportJob) -> Path:
    return storage_dir() / job.file_path


def job_upload(*, actor, kind: str, file_name: str, chunks: Iterable[bytes]) -> OrderImportJob:
    """Store the file (size-limited), check its header row, and open a job whose dry run the worker does."""
    if kind not in KINDS:
        raise Invalid(_("Import orders or payments."), fields={"kind": [_("Unknown kind.")]})
    require(actor, kind)
    file_name = os.path.basename(file_name or "").strip()[:255] or "upload.csv"
    final, sha, size, _info = store_upload(file_name, chunks, prefix="orders-", preview_rows=0)
    with transaction.atomic():
        job = OrderImportJob.objects.create(created_by=actor, kind=kind, file_name=file_name, file_path=final.name,
                                            file_size=size)
        audit_record(actor=actor, action="order_import.upload", obj=job,
                     changes={"kind": kind, "file": file_name, "bytes": size, "sha256": sha})
    transaction.on_commit(lambda: _enqueue("check", job.pk))
    return job


def _enqueue(step: str, job_id: int) -> None:
    from kehu.orders import tasks

    (tasks.order_import_check_task if step == "check" else tasks.order_import_commit_task)(job_id)


def job_check_run(job_id: int) -> OrderImportJob:
    """The dry run (in the worker): every row validated, nothing written; the report kept on the job."""
    job = OrderImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.state != ImportJobState.CHECKING:
        return job
    try:
        report = order_import(actor=job.created_by, path=job_path(job), file_name=job.file_name, kind=job.kind,
                              dry_run=True)
    except DomainError as exc:
        OrderImportJob.objects.filter(pk=job.pk).update(state=ImportJobState.FAILED, message=exc.message,
                                                        finished_at=timezone.now())
        job.refresh_from_db()
        return job
    OrderImportJob.objects.filter(pk=job.pk).update(
        state=ImportJobState.CHECKED, rows=report.rows, valid_rows=report.valid, error_rows=report.error_count,
        existing_rows=report.skipped_existing, errors=report.errors, message="")
    job.refresh_from_db()
    return job


def job_commit(*, actor, job_id: int) -> OrderImportJob:
    """Import the checked file's valid rows (in the worker); a failed import is started again the same way
    and writes only the rows still missing."""
    with transaction.atomic():
        job = job_get(actor=actor, job_id=job_id, for_update=True)
        require(actor, job.kind)
        if job.state not in (ImportJobState.CHECKED, ImportJobState.FAILED) or (
                job.state == ImportJobState.FAILED and not job.rows):
            raise Conflict(_("Only a checked file can be imported."), code="not_checked")
        if not job.valid_rows:
            raise Conflict(_("The file has no valid row to import."), code="nothing_valid")
        job.state, job.started_at, job.finished_at, job.message = ImportJobState.IMPORTING, timezone.now(), None, ""
        job.save(update_fields=["state", "started_at", "finished_at", "message"])
        audit_record(actor=actor, action="order_import.commit", obj=job,
                     changes={"kind": job.kind, "valid_rows": job.valid_rows})
    transaction.on_commit(lambda: _enqueue("commit", job.pk))
    return job


def job_commit_run(job_id: int) -> OrderImportJob:
    """The import (in the worker): 5,000-row audited batches by order_import; the job records the outcome."""
    job = OrderImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.state != ImportJobState.IMPORTING:
        return job
    try:
        report = order_import(actor=job.created_by, path=job_path(job), file_name=job.file_name, kind=job.kind,
                              dry_run=False)
    except Exception as exc:  # the batches written so far stay; importing again skips them
        message = exc.message if isinstance(exc, DomainError) else str(exc)[:2000]
        OrderImportJob.objects.filter(pk=job.pk).update(state=ImportJobState.FAILED, message=message,
                                                        finished_at=timezone.now())
        raise
    OrderImportJob.objects.filter(pk=job.pk).update(
        state=ImportJobState.DONE, written_rows=job.written_rows + report.written, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def job_progress(job: OrderImportJob) -> dict:
    """How far an import is: the rows its batches have committed so far (rows of this kind the uploader
    imported since the job started), out of the valid rows still to write."""
    todo = max(job.valid_rows - job.existing_rows, 0)
    if job.state == ImportJobState.DONE:
        return {"done": job.written_rows, "total": todo, "percent": 100}
    if job.state != ImportJobState.IMPORTING or job.started_at is None:
        return {"done": 0, "total": todo, "percent": 0}
    model = Order if job.kind == "orders" else Payment
    done = model.objects.filter(source=Source.IMPORT, created_by=job.created_by, created_at__gte=job.started_at).count()
    done = min(done, todo)
    return {"done": done, "total": todo, "percent": int(done * 100 / todo) if todo else 100}
