"""Every write of the customer import: upload, dry run, commit (in batches, resumable), cancel, resume,
saved mappings. The long parts (``import_validate_run``, ``import_commit_run``) run in the worker.

All or nothing, and why by compensation: a commit writes whole batches, one transaction each (a batch
holds customers with their contacts, so no half-written row and no customer without its contacts).
"All or nothing" is kept by deleting, on failure or cancel, every customer the job created (they are
listed in ImportedRecord) — not by one transaction over the whole file, because on SQLite that
transaction would hold the database's single write lock for the whole import and stop every other
writer (and the progress and cancel flag could not be written). A crash leaves whole committed batches
and the job "interrupted": resuming finishes it, cancelling removes what it wrote."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.models import Customer, LegalBasis
from kehu.customers.services import customer_bulk_create
from kehu.errors import Conflict, DomainError, Forbidden, Invalid
from kehu.imports import parsing, selectors, storage
from kehu.imports.models import (
    CommitMode,
    DuplicateChoice,
    ImportedRecord,
    ImportJob,
    ImportMapping,
    ImportRowDuplicate,
    ImportRowError,
    JobState,
)
from kehu.imports.rows import RowValidator

log = logging.getLogger(__name__)

MAX_BYTES_DEFAULT = 200 * 1024 * 1024


def max_bytes() -> int:
    return int(getattr(settings, "KEHU_IMPORT_MAX_BYTES", MAX_BYTES_DEFAULT))


def batch_rows() -> int:
    return int(getattr(settings, "KEHU_IMPORT_BATCH_ROWS", 2000))


def inline_bytes() -> int:
    """Files up to this size are dry-run in the request; bigger ones in the worker."""
    return int(getattr(settings, "KEHU_IMPORT_INLINE_BYTES", 1024 * 1024))


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "KEHU_IMPORT_STALE_SECONDS", 300)))


def storage_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def _require(actor) -> None:
    if not actor.has_kehu_perm(Perm.CUSTOMER_IMPORT):
        raise Forbidden(_("You are not allowed to import customers."))


def _own_job(actor, job_id: int, *, for_update: bool = True) -> ImportJob:
    """The job, if the actor uploaded it: others in scope see it but cannot run it."""
    _require(actor)
    job = selectors.import_job_get(actor=actor, job_id=job_id, for_update=for_update)
    if job.created_by_id != actor.pk:
        raise Forbidden(_("Only the person who uploaded the file can run its import."))
    return job


def _counts(job: ImportJob) -> dict:
    return {"file": job.file_name, "sha256": job.file_sha256, "rows": job.total_rows, "valid": job.valid_rows,
            "errors": job.error_rows, "imported": job.imported_rows, "skipped": job.skipped_rows,
            "mode": job.mode}


# ---------------------------------------------------------------- upload

def store_upload(file_name: str, chunks: Iterable[bytes], *, prefix: str = "",
                 preview_rows: int = 5) -> tuple[Path, str, int, parsing.FileInfo]:
    """Stream an upload into the private import storage: size-limited while it is read (422 too_large), never
    empty (422 empty), its header read (422 when it is no table). Stored under its SHA-256 (with ``prefix``),
    so one file uploaded twice is kept once, and encrypted at rest with the field-encryption keys (the
    plaintext never touches the disk here; readers decrypt transparently, see kehu.imports.storage).
    Returns (path, sha256, bytes, file info). Every upload page of the product (customer imports, order
    imports) receives files through here."""
    directory = storage_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".upload-{uuid.uuid4().hex}"
    digest, size, limit = hashlib.sha256(), 0, max_bytes()
    try:
        writer = storage.EncryptingWriter(tmp)
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise Invalid(_("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)},
                                  fields={"file": [_("Too large.")]}, code="too_large")
                digest.update(chunk)
                writer.write(chunk)
        finally:
            writer.close()
        if size == 0:
            raise Invalid(_("The file is empty."), fields={"file": [_("Empty file.")]}, code="empty")
        info = parsing.inspect(tmp, file_name, preview_rows=preview_rows)
        # JSON columns of PostgreSQL cannot hold NUL: control characters of the header and preview are shown
        # as U+FFFD (the rows themselves are refused by the dry run).
        info.headers = [parsing.visible(h) for h in info.headers]
        info.preview = [[parsing.visible(c) for c in row] for row in info.preview]
        sha = digest.hexdigest()
        final = directory / f"{prefix}{sha}.{info.format}"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final, sha, size, info


def import_upload(*, actor, file_name: str, chunks: Iterable[bytes], mapping_id: int | None = None) -> ImportJob:
    """Store an uploaded file (streamed, hashed, size-limited), read its header and first rows, and open
    a job with the columns mapped automatically (or by a saved mapping)."""
    _require(actor)
    file_name = os.path.basename(file_name or "").strip()[:255] or "upload.csv"
    saved = selectors.import_mapping_get(actor=actor, mapping_id=mapping_id).mapping if mapping_id else None
    final, sha, size, info = store_upload(file_name, chunks)
    with transaction.atomic():
        job = ImportJob(created_by=actor, department_id=actor.department_id, file_name=file_name,
                        file_path=final.name, file_sha256=sha, file_size=size, file_format=info.format,
                        encoding=info.encoding, delimiter=info.delimiter, headers=info.headers,
                        preview=info.preview, columns=parsing.auto_mapping(info.headers, saved))
        job.save()
        audit_record(actor=actor, action="import.upload", obj=job,
                     changes={"file": file_name, "sha256": sha, "bytes": size, "format": info.format,
                              "encoding": info.encoding})
    return job


def job_path(job: ImportJob) -> Path:
    return storage_dir() / job.file_path


def retention_days() -> int:
    """Days an uploaded file is kept for a job that is not committed (KEHU_IMPORT_FILE_RETENTION_DAYS)."""
    return int(getattr(settings, "KEHU_IMPORT_FILE_RETENTION_DAYS", 7))


TERMINAL = (JobState.DONE, JobState.CANCELLED, JobState.FAILED)


def _discard_file(job: ImportJob) -> None:
    """Forget the job's stored file (``file_path`` emptied; the caller saves the job) and delete it after the
    transaction commits, unless another job still working on the same file (same SHA-256) needs it."""
    name = job.file_path
    if not name:
        return
    job.file_path = ""
    if ImportJob.objects.filter(file_path=name).exclude(pk=job.pk).exclude(state__in=TERMINAL).exists():
        return
    transaction.on_commit(lambda: (storage_dir() / name).unlink(missing_ok=True))


def job_info(job: ImportJob) -> parsing.FileInfo:
    return parsing.FileInfo(format=job.file_format, encoding=job.encoding, delimiter=job.delimiter,
                            headers=job.headers)


# ---------------------------------------------------------------- mapping and dry run

def import_dry_run(*, actor, job_id: int, columns: list[str] | None = None,
                   save_mapping_as: str | None = None, basis: dict | None = None) -> ImportJob:
    """Set the column mapping (optionally saving it by name) and the whole file's legal basis, and validate
    every row: small files at once, bigger ones in the worker (the job shows "validating" meanwhile)."""
    file_basis = _file_basis(basis)
    with transaction.atomic():
        job = _own_job(actor, job_id)
        if not (job.state in (JobState.UPLOADED, JobState.VALIDATED) or _is_stale(job)):
            raise Conflict(_("This import can no longer be checked (it is %(s)s).") % {"s": job.get_state_display()},
                           code="bad_state")
        if columns is not None:
            job.columns = parsing.check_mapping(list(columns), len(job.headers))
        else:
            parsing.check_mapping(job.columns, len(job.headers))
        if save_mapping_as:
            import_mapping_save(actor=actor, name=save_mapping_as,
                                mapping={h: f for h, f in zip(job.headers, job.columns, strict=True) if h})
        if file_basis is not None:
            job.basis, job.basis_purpose = file_basis
        job.state, job.done_rows, job.heartbeat_at, job.message = JobState.VALIDATING, 0, timezone.now(), ""
        job.save(update_fields=["columns", "state", "done_rows", "heartbeat_at", "message", "basis", "basis_purpose"])
        inline = job.file_size <= inline_bytes()
        if not inline:
            from kehu.imports.tasks import import_validate_task

            transaction.on_commit(lambda: import_validate_task(job.pk))
    if inline:
        import_validate_run(job.pk)
    job.refresh_from_db()
    return job


def _file_basis(basis: dict | None) -> tuple[str, str] | None:
    """(basis, purpose) chosen for a whole file, checked; ("", "") clears it; None leaves it as it is."""
    if basis is None:
        return None
    kind, purpose = (basis.get("basis") or ""), (basis.get("purpose") or "").strip()
    if not kind:
        return "", ""
    if kind not in LegalBasis.values:
        raise Invalid(_("Choose the legal basis: consent, performance of a contract or a legal duty."),
                      fields={"basis": [_("Unknown legal basis.")]})
    if not purpose or len(purpose) > 200:
        raise Invalid(_("Say for what purpose the personal information is collected."),
                      fields={"basis_purpose": [_("Required with the legal basis (at most 200 characters).")]})
    return kind, purpose


def _validator(actor, job: ImportJob) -> RowValidator:
    return RowValidator(actor=actor, columns=job.columns, basis={"basis": job.basis, "purpose": job.basis_purpose})


def _chunks(it: Iterator, n: int) -> Iterator[list]:
    while chunk := list(islice(it, n)):
        yield chunk


def import_validate_run(job_id: int) -> None:
    """The dry run proper: every row checked, the errors stored, the counts set (worker or inline)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.state != JobState.VALIDATING:
        return
    actor = job.created_by
    try:
        validator = _validator(actor, job)
        total = errors = duplicates = 0
        with transaction.atomic():
            ImportRowError.objects.filter(job_id=job.pk).delete()
            ImportRowDuplicate.objects.filter(job_id=job.pk).delete()
        for chunk in _chunks(parsing.iter_data_rows(job_path(job), job_info(job)), batch_rows() * 5):
            bad = [ImportRowError(job_id=job.pk, row_number=n, errors=errs)
                   for n, _row, errs in validator.check_chunk(chunk) if errs]
            marked = [ImportRowDuplicate(job_id=job.pk, row_number=n, name=name[:200], customer_ids=ids, elsewhere=more)
                      for n, (name, ids, more) in validator.duplicates.items()]
            total += len(chunk)
            errors += len(bad)
            duplicates += len(marked)
            with transaction.atomic():
                ImportRowError.objects.bulk_create(bad, batch_size=1000)
                ImportRowDuplicate.objects.bulk_create(marked, batch_size=1000)
                ImportJob.objects.filter(pk=job.pk).update(done_rows=total, heartbeat_at=timezone.now())
    except Exception as exc:  # an unreadable file (a damaged XLSX body, a bad CSV quote) or a crash
        if not isinstance(exc, DomainError):
            log.exception("dry run of import job %s failed", job.pk)
        with transaction.atomic():
            ImportRowError.objects.filter(job_id=job.pk).delete()
            ImportJob.objects.filter(pk=job.pk).update(
                state=JobState.UPLOADED, message=exc.message if isinstance(exc, DomainError) else str(exc)[:500])
        return
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state != JobState.VALIDATING:  # cancelled meanwhile
            return
        job.total_rows, job.error_rows, job.valid_rows = total, errors, total - errors
        job.duplicate_rows, job.duplicates = duplicates, ""
        job.done_rows, job.state, job.validated_at, job.message = total, JobState.VALIDATED, timezone.now(), ""
        job.save()
        audit_record(actor=actor, action="import.validate", obj=job, changes=_counts(job))


# ---------------------------------------------------------------- commit, cancel, resume

def import_commit(*, actor, job_id: int, mode: str, duplicates: str | None = None) -> ImportJob:
    """Start writing a validated job: "all" refuses a file with any error, "valid" skips bad rows. Rows the
    dry run marked as possible duplicates are skipped or kept as the user chooses (``duplicates``)."""
    if mode not in CommitMode.values:
        raise Invalid(_("Choose the mode: all or nothing, or valid rows only."), fields={"mode": [_("Unknown mode.")]})
    with transaction.atomic():
        job = _own_job(actor, job_id)
        if not actor.has_kehu_perm(Perm.CUSTOMER_WRITE):
            raise Forbidden(_("You are not allowed to register customers."))
        if job.state != JobState.VALIDATED:
            raise Conflict(_("Only a checked import can be committed (it is %(s)s).") % {"s": job.get_state_display()},
                           code="bad_state")
        if mode == CommitMode.ALL_OR_NOTHING and job.error_rows:
            raise Conflict(_("%(n)d rows have errors: fix them, or import the valid rows only.") % {"n": job.error_rows},
                           code="rows_have_errors")
        if job.valid_rows == 0:
            raise Conflict(_("There is no valid row to import."), code="nothing_to_import")
        if duplicates not in (None, "", *DuplicateChoice.values):
            raise Invalid(_("Choose to skip or to keep the possible duplicates."),
                          fields={"duplicates": [_("Unknown choice.")]})
        if job.duplicate_rows and not duplicates:
            raise Conflict(_("%(n)d rows may duplicate existing customers: choose to skip them or to import them "
                             "anyway.") % {"n": job.duplicate_rows}, code="choose_duplicates",
                           fields={"duplicates": [_("Choose skip or keep.")]})
        job.duplicates = duplicates or ""
        job.mode, job.state, job.attempt = mode, JobState.IMPORTING, job.attempt + 1
        job.cursor = job.done_rows = job.imported_rows = job.skipped_rows = 0
        job.cancel_requested, job.message = False, ""
        job.started_at = job.heartbeat_at = timezone.now()
        job.save()
        audit_record(actor=actor, action="import.commit", obj=job, changes=_counts(job))
        _enqueue_commit(job)
    return job


def _enqueue_commit(job: ImportJob) -> None:
    from kehu.imports.tasks import import_commit_task

    job_id, attempt = job.pk, job.attempt
    transaction.on_commit(lambda: import_commit_task(job_id, attempt))


def _is_stale(job: ImportJob) -> bool:
    """A running job (dry run or commit) whose worker stopped beating: killed, or the queue lost it."""
    return (job.state in (JobState.IMPORTING, JobState.VALIDATING) and job.heartbeat_at is not None
            and job.heartbeat_at < timezone.now() - stale_after())


def import_resume(*, actor, job_id: int) -> ImportJob:
    """Continue an interrupted commit after its last committed batch (a new attempt: a worker of the old
    one that is still alive stops at its next batch)."""
    with transaction.atomic():
        job = _own_job(actor, job_id)
        if not (job.state == JobState.INTERRUPTED or (job.state == JobState.IMPORTING and _is_stale(job))):
            raise Conflict(_("Only an interrupted import can be resumed (it is %(s)s).") % {"s": job.get_state_display()},
                           code="bad_state")
        job.state, job.attempt, job.heartbeat_at, job.message = JobState.IMPORTING, job.attempt + 1, timezone.now(), ""
        job.save()
        audit_record(actor=actor, action="import.resume", obj=job, changes={"from_row": job.cursor + 1})
        _enqueue_commit(job)
    return job


def import_cancel(*, actor, job_id: int) -> ImportJob:
    """Cancel a job: before commit at once; a running commit stops between two batches; an interrupted
    one is finished off by the worker. In all-or-nothing mode what was written is removed."""
    _require(actor)
    with transaction.atomic():
        job = selectors.import_job_get(actor=actor, job_id=job_id, for_update=True)
        if job.state in (JobState.UPLOADED, JobState.VALIDATING, JobState.VALIDATED):
            job.state, job.finished_at = JobState.CANCELLED, timezone.now()
            _discard_file(job)
            job.save(update_fields=["state", "finished_at", "file_path"])
            audit_record(actor=actor, action="import.cancel", obj=job, changes=_counts(job))
        elif job.state == JobState.IMPORTING and not _is_stale(job):
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
            audit_record(actor=actor, action="import.cancel_request", obj=job, changes=_counts(job))
        elif job.state in (JobState.INTERRUPTED, JobState.IMPORTING):  # nobody is running it: a run that stops
            job.state, job.attempt, job.cancel_requested = JobState.IMPORTING, job.attempt + 1, True
            job.heartbeat_at = timezone.now()
            job.save()
            audit_record(actor=actor, action="import.cancel_request", obj=job, changes=_counts(job))
            _enqueue_commit(job)
        else:
            raise Conflict(_("This import cannot be cancelled (it is %(s)s).") % {"s": job.get_state_display()},
                           code="bad_state")
    return job


class _Superseded(Exception):
    """Another attempt took the job over: this run stops without writing."""


def _finish(job_id: int, attempt: int, **fields) -> ImportJob | None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("created_by").get(pk=job_id)
        if job.attempt != attempt:
            return None
        for k, v in fields.items():
            setattr(job, k, v)
        job.finished_at = timezone.now() if job.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED) else None
        if job.state in (JobState.DONE, JobState.CANCELLED):  # committed or abandoned: the file is not kept
            _discard_file(job)
        job.save()
        action = {JobState.DONE: "import.done", JobState.FAILED: "import.failed",
                  JobState.CANCELLED: "import.cancel", JobState.INTERRUPTED: "import.interrupted"}[job.state]
        audit_record(actor=job.created_by, action=action, obj=job, changes={**_counts(job), "message": job.message})
    return job


def import_commit_run(job_id: int, attempt: int) -> None:
    """Write a job's rows in batches (worker). Each batch: one transaction holding its customers, their
    contacts, their ImportedRecord links and the job's new cursor — so a kill leaves whole batches."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.attempt != attempt or job.state != JobState.IMPORTING:
        return
    actor, mode = job.created_by, job.mode
    try:
        if job.cancel_requested:
            return _stop_cancelled(job, attempt)
        validator = _validator(actor, job)
        cursor, done, skipped = job.cursor, (job.done_rows if job.cursor else 0), job.skipped_rows
        for chunk in _chunks(parsing.iter_data_rows(job_path(job), job_info(job)), batch_rows()):
            state = ImportJob.objects.filter(pk=job_id).values("attempt", "cancel_requested").get()
            if state["attempt"] != attempt:
                return
            if state["cancel_requested"]:
                return _stop_cancelled(job, attempt)
            if chunk[-1][0] <= cursor:  # committed before an interruption: only fed to the duplicate check
                for _n, _row, _errs in validator.check_chunk(chunk):
                    pass
                ImportJob.objects.filter(pk=job_id, attempt=attempt).update(heartbeat_at=timezone.now())
                continue
            checked = [c for c in validator.check_chunk(chunk) if c[0] > cursor]
            if job.duplicates == DuplicateChoice.SKIP:  # the user chose to leave possible duplicates out
                skipped += sum(1 for n, row, _e in checked if row is not None and n in validator.duplicates)
                checked = [(n, None if n in validator.duplicates else row, [] if n in validator.duplicates else errs)
                           if row is not None else (n, row, errs) for n, row, errs in checked]
            bad = [(n, errs) for n, row, errs in checked if row is None and errs]
            if bad and mode == CommitMode.ALL_OR_NOTHING:
                n, errs = bad[0]
                raise Invalid(_("Row %(n)d is no longer valid: %(e)s") % {"n": n, "e": "; ".join(errs)})
            good = [(n, row) for n, row, _errs in checked if row is not None]
            done += len(checked)
            skipped += len(bad)
            _write_batch(job_id, attempt, actor, good, bad, last_row=checked[-1][0], done=done, skipped=skipped)
            cursor = checked[-1][0]
    except _Superseded:
        return
    except DomainError as exc:
        if not ImportJob.objects.filter(pk=job_id, attempt=attempt).exists():
            return  # superseded meanwhile: the current attempt decides
        if mode == CommitMode.ALL_OR_NOTHING:
            removed = _rollback(job)
            _finish(job_id, attempt, state=JobState.FAILED, imported_rows=0,
                    message=_("%(m)s — nothing was imported (%(r)d rows written before were removed).")
                    % {"m": exc.message, "r": removed})
        else:
            _finish(job_id, attempt, state=JobState.INTERRUPTED, message=exc.message)
        return
    except Exception as exc:  # a crash in the middle: whole batches stay, the job can be resumed
        log.exception("import job %s interrupted", job_id)
        _finish(job_id, attempt, state=JobState.INTERRUPTED, message=str(exc)[:500])
        return
    _finish(job_id, attempt, state=JobState.DONE)


def _write_batch(job_id, attempt, actor, good, bad, *, last_row: int, done: int, skipped: int) -> None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.attempt != attempt:
            raise _Superseded
        if good:
            before = Customer.objects.aggregate(m=Max("id"))["m"] or 0
            customer_bulk_create(actor=actor, rows=[row for _n, row in good], batch_size=len(good))
            ids = _created_ids(actor, before, len(good))
            with connection.cursor() as cur:  # plain executemany: model instances cost more than the insert
                cur.executemany(f"INSERT INTO {ImportedRecord._meta.db_table} (job_id, customer_id, row_number) "
                                "VALUES (%s, %s, %s)",
                                [(job_id, cid, n) for cid, (n, _row) in zip(ids, good, strict=True)])
        if bad:  # rows that turned bad since the dry run (valid-only mode): into the error report
            ImportRowError.objects.bulk_create([ImportRowError(job_id=job_id, row_number=n, errors=errs)
                                                for n, errs in bad], ignore_conflicts=True)
        job.cursor, job.done_rows, job.skipped_rows = last_row, done, skipped
        job.imported_rows += len(good)
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["cursor", "done_rows", "skipped_rows", "imported_rows", "heartbeat_at"])


def _created_ids(actor, before: int, n: int) -> list[int]:
    """The ids of the customers the bulk path just wrote, in row order: above the previous maximum id,
    created by the actor, sharing the batch's one creation time (customer_bulk_create returns a count)."""
    rows = list(Customer.objects.filter(pk__gt=before, created_by=actor).order_by("pk")
                .values_list("pk", "created_at"))
    if rows:
        batch_time = rows[-1][1]
        rows = [r for r in rows if r[1] == batch_time]
    if len(rows) != n:
        raise RuntimeError(f"expected {n} new customers, found {len(rows)}")
    return [pk for pk, _at in rows]


def _rollback(job: ImportJob) -> int:
    """Remove every customer the job created (all-or-nothing compensation), in batches."""
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(ImportedRecord.objects.filter(job_id=job.pk).order_by("row_number")
                       .values_list("customer_id", flat=True)[:1000])
            if not ids:
                break
            try:
                with transaction.atomic():
                    Customer.objects.filter(pk__in=ids).delete()
            except (ProtectedError, IntegrityError):
                # Something was already linked to some of them: those are soft-deleted (out of every list,
                # their USCC freed) and unlinked from the job.
                Customer.objects.filter(pk__in=ids).update(deleted_at=timezone.now())
                ImportedRecord.objects.filter(customer_id__in=ids).delete()
            removed += len(ids)
    if removed:
        with transaction.atomic():
            audit_record(actor=job.created_by, action="import.rollback", obj=job, changes={"removed": removed})
    return removed


def _stop_cancelled(job: ImportJob, attempt: int) -> None:
    removed = _rollback(job) if job.mode == CommitMode.ALL_OR_NOTHING else 0
    fields = {"state": JobState.CANCELLED, "cancel_requested": False}
    if job.mode == CommitMode.ALL_OR_NOTHING:
        fields.update(imported_rows=0, message=_("Cancelled: nothing was imported (%(r)d rows removed).") % {"r": removed})
    else:
        fields["message"] = _("Cancelled: the batches committed before stay imported.")
    _finish(job.pk, attempt, **fields)


def import_sweep_stale() -> int:
    """Mark commits whose worker stopped beating as interrupted (resumable). Periodic."""
    n = 0
    for job in ImportJob.objects.filter(state=JobState.IMPORTING, heartbeat_at__lt=timezone.now() - stale_after()):
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().select_related("created_by").get(pk=job.pk)
            if _is_stale(locked):
                locked.state, locked.attempt = JobState.INTERRUPTED, locked.attempt + 1
                locked.message = _("The worker stopped; resume to continue after row %(n)d.") % {"n": locked.cursor}
                locked.save()
                audit_record(actor=locked.created_by, action="import.interrupted", obj=locked, changes=_counts(locked))
                n += 1
    return n


# ---------------------------------------------------------------- saved mappings

@transaction.atomic
def import_mapping_save(*, actor, name: str, mapping: dict) -> ImportMapping:
    """Save (or replace) one of the actor's mappings: header text → field key."""
    _require(actor)
    name = (name or "").strip()[:100]
    if not name:
        raise Invalid(_("Give the mapping a name."), fields={"name": [_("This field is required.")]})
    if not isinstance(mapping, dict) or any(not isinstance(k, str) or (v and v not in parsing.FIELDS)
                                            for k, v in mapping.items()):
        raise Invalid(_("The mapping must map header texts to known fields."), fields={"mapping": [_("Unknown field.")]})
    obj, created = ImportMapping.objects.update_or_create(user=actor, name=name, defaults={"mapping": mapping})
    audit_record(actor=actor, action="import_mapping.save", obj=obj, changes={"mapping": mapping, "created": created})
    return obj


@transaction.atomic
def import_mapping_delete(*, actor, mapping_id: int) -> None:
    _require(actor)
    obj = selectors.import_mapping_get(actor=actor, mapping_id=mapping_id)
    audit_record(actor=actor, action="import_mapping.delete", obj=obj)
    obj.delete()


# ---------------------------------------------------------------- stored files: retention and erasure

def import_files_sweep(*, now: dt.datetime | None = None) -> dict:
    """Delete the stored files of jobs not committed within the retention days (the jobs waiting for a
    commit are cancelled), and any other stored upload (order imports, leftovers) as old, unless a job is
    running on it. Periodic."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=retention_days())
    jobs = 0
    for job_id in list(ImportJob.objects.filter(created_at__lt=cutoff).exclude(file_path="")
                       .exclude(state__in=(JobState.VALIDATING, JobState.IMPORTING)).values_list("pk", flat=True)):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().select_related("created_by").get(pk=job_id)
            if not job.file_path or job.state in (JobState.VALIDATING, JobState.IMPORTING):
                continue
            if job.state not in TERMINAL:
                job.state, job.finished_at = JobState.CANCELLED, now
                job.message = _("The uploaded file was deleted after %(d)d days without import.") % {
                    "d": retention_days()}
            _discard_file(job)
            job.save()
            audit_record(actor=job.created_by, action="import.file_deleted", obj=job,
                         changes={"reason": "retention", "days": retention_days()})
            jobs += 1
    files = 0
    directory = storage_dir()
    if directory.exists():
        from django.apps import apps

        busy = set(ImportJob.objects.exclude(file_path="").exclude(state__in=TERMINAL)
                   .values_list("file_path", flat=True))
        if apps.is_installed("kehu.orders"):
            order_job = apps.get_model("orders", "OrderImportJob")
            busy |= set(order_job.objects.filter(state__in=("checking", "importing")).values_list("file_path",
                                                                                                  flat=True))
        for path in directory.iterdir():
            if path.is_file() and path.name not in busy and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                files += 1
    return {"jobs": jobs, "files": files}


def _row_matches(cells, needles: set[str]) -> bool:
    """A row holds one of the person's identifiers (mobile, ID number), however the cell wrote it."""
    for c in cells:
        text = parsing.cell_text(c)
        if not text:
            continue
        compact = "".join(ch for ch in text if ch.isalnum()).upper()
        if compact.startswith("86") and len(compact) == 13:
            compact = compact[2:]
        if compact in needles:
            return True
    return False


def import_artefacts_erase(*, mobiles: list[str], id_numbers: list[str]) -> dict:
    """Erasure (PIPL 47) reaches the import artefacts: preview rows holding one of the person's identifiers are
    redacted, stored files holding them are deleted (their jobs, if still waiting, are cancelled), and the
    error rows of those files are dropped. Called by the privacy erasure service inside its transaction."""
    needles = {"".join(ch for ch in v if ch.isalnum()).upper() for v in [*mobiles, *id_numbers] if v}
    if not needles:
        return {"previews": 0, "files": 0}
    previews = files = 0
    for job in ImportJob.objects.select_for_update().exclude(preview=[]).only("pk", "preview"):
        redacted = [["—"] * len(row) if _row_matches(row, needles) else row for row in job.preview]
        if redacted != job.preview:
            ImportJob.objects.filter(pk=job.pk).update(preview=redacted)
            previews += 1
    for job in ImportJob.objects.select_for_update().exclude(file_path="").exclude(
            state__in=(JobState.VALIDATING, JobState.IMPORTING)).select_related("created_by"):
        path = job_path(job)
        if not path.exists() or not any(_row_matches(cells, needles)
                                        for _n, cells in parsing.iter_data_rows(path, job_info(job))):
            continue
        if job.state not in TERMINAL:
            job.state, job.finished_at = JobState.CANCELLED, timezone.now()
            job.message = _("The uploaded file was deleted: it held personal data that was erased.")
        _discard_file(job)
        job.save()
        ImportRowError.objects.filter(job_id=job.pk).delete()
        ImportRowDuplicate.objects.filter(job_id=job.pk).delete()
        audit_record(actor=job.created_by, action="import.file_deleted", obj=job, changes={"reason": "erasure"})
        files += 1
    return {"previews": previews, "files": files}
