from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from kehu.imports import masking
from kehu.imports.models import ImportJob, JobState


class RowErrorOut(Schema):
    row: int
    errors: list[str]


class RowDuplicateOut(Schema):
    row: int
    name: str
    customers: list[int] = Field(description="ids of the existing customers with the same name core, in your scope")
    elsewhere: int = Field(description="how many more outside your scope")


class ImportJobOut(Schema):
    id: int
    file_name: str
    file_sha256: str
    file_size: int
    file_format: str
    encoding: str
    state: str
    state_label: str
    resumable: bool
    mode: str
    headers: list[str]
    columns: list[str]
    preview: list[list[str]]
    total_rows: int
    valid_rows: int
    error_rows: int
    done_rows: int
    imported_rows: int
    skipped_rows: int
    percent: int
    cursor: int
    cancel_requested: bool
    message: str
    created_by: str
    created_at: dt.datetime
    validated_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    first_errors: list[RowErrorOut] = []
    basis: str = ""
    basis_purpose: str = ""
    duplicate_rows: int = 0
    duplicates: str = Field("", description="skip or keep: what the commit does with the possible duplicates")
    first_duplicates: list[RowDuplicateOut] = []


class ImportJobPage(Schema):
    items: list[ImportJobOut]
    next: str | None


class FileBasisIn(Schema):
    basis: Literal["", "consent", "contract", "legal_duty"] = ""
    purpose: str = Field("", max_length=200)


class DryRunIn(Schema):
    columns: list[str] | None = Field(None, max_length=500, description="field key or '' for each column")
    save_mapping_as: str | None = Field(None, max_length=100)
    basis: FileBasisIn | None = Field(None, description="the legal basis of the personal information of every row "
                                                        "without its own legal-basis column (PIPL 13)")


class CommitIn(Schema):
    mode: Literal["all", "valid"]
    duplicates: Literal["skip", "keep"] | None = Field(
        None, description="required when the dry run marked possible duplicates: skip those rows or import them")


class MappingIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    mapping: dict[str, str] = Field(..., description="header text → field key ('' = ignore)")


class MappingOut(Schema):
    id: int
    name: str
    mapping: dict[str, str]
    updated_at: dt.datetime


class FieldOut(Schema):
    key: str
    label: str


def effective_state(job: ImportJob) -> str:
    """An importing job whose worker stopped beating shows as interrupted before the sweep marks it."""
    from kehu.imports.services import _is_stale

    return JobState.INTERRUPTED if job.state == JobState.IMPORTING and _is_stale(job) else job.state


def job_out(job: ImportJob, errors=None, duplicates=None) -> dict:
    state = effective_state(job)
    return {
        **{f: getattr(job, f) for f in ("id", "file_name", "file_sha256", "file_size", "file_format", "encoding",
                                        "mode", "headers", "columns", "preview", "total_rows", "valid_rows",
                                        "error_rows", "done_rows", "imported_rows", "skipped_rows", "percent",
                                        "cursor", "cancel_requested", "message", "created_at", "validated_at",
                                        "started_at", "finished_at", "basis", "basis_purpose", "duplicate_rows",
                                        "duplicates")},
        # Previews and messages masked by the archive's rules (mobiles, ID numbers): clear only through reveal.
        "preview": masking.mask_rows(job.columns, job.preview), "message": masking.mask_free_text(job.message),
        "state": state, "state_label": str(JobState(state).label), "resumable": state == JobState.INTERRUPTED,
        "created_by": str(job.created_by),
        "first_errors": [{"row": e.row_number, "errors": e.errors} for e in (errors or [])],
        "first_duplicates": [{"row": d.row_number, "name": d.name, "customers": d.customer_ids, "elsewhere": d.elsewhere}
                             for d in (duplicates or [])],
    }
