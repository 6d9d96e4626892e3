"""Demo data of the import: one finished small import of a GBK CSV (as Excel in China saves it), with
one bad row so the error report has something to show."""

from __future__ import annotations

import random

from kehu.imports import services
from kehu.imports.models import CommitMode, ImportJob
from kehu.imports.samples import csv_bytes, sheet_rows

DEMO_FILE = "2025年华东区客户名单.csv"
SERIAL_BASE = 5_000_000  # far above the demo archive's serials: no USCC or mobile clashes


def demo_load(*, users: dict, rng: random.Random) -> str:
    rep = users.get("rep") or next(iter(users.values()))
    if ImportJob.objects.filter(file_name=DEMO_FILE).exists():
        return "imports: demo import already there"
    rows = list(sheet_rows(20, seed=rng.randrange(10**6), start=SERIAL_BASE + rng.randrange(10**5) * 100))
    uscc_col = 2
    bad = next(i for i, r in enumerate(rows) if r[uscc_col])
    rows[bad][uscc_col] = rows[bad][uscc_col][:-1] + ("X" if rows[bad][uscc_col][-1] != "X" else "Y")
    job = services.import_upload(actor=rep, file_name=DEMO_FILE, chunks=[csv_bytes(rows, encoding="gbk")])
    services.import_dry_run(actor=rep, job_id=job.pk)
    job = services.import_commit(actor=rep, job_id=job.pk, mode=CommitMode.VALID_ONLY)
    services.import_commit_run(job.pk, job.attempt)  # at once, not through the queue (a queued run is a no-op)
    job.refresh_from_db()
    return f"imports: 1 import job ({job.imported_rows} customers imported, {job.error_rows} row with errors)"
