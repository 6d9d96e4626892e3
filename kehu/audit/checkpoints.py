"""Checkpoints of the chain head kept outside the database: an append-only file of JSON lines (one
checkpoint a line) and a log line each. Deleting the newest audit entries leaves a chain that is
intact in itself; only a copy of the head kept elsewhere shows that it was longer.

Where: ``KEHU_AUDIT_CHECKPOINT_FILE`` (setting or environment variable; "" or "off" turns checkpoints
off), by default ``$KEHU_VAR_DIR/audit-checkpoints.log``. Tests run without checkpoints unless a test
configures a file of its own: a test database is emptied between tests, which is exactly what a
checkpoint is there to report. How often: at most every ``KEHU_AUDIT_CHECKPOINT_SECONDS`` (default
10) while the chain grows, and on every `kehu audit seal`. For stronger evidence ship the file (or the
``kehu.audit`` log lines) to another machine: whoever can rewrite the database and this file together
can still hide a deletion."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings

from kehu.audit.chain import Checkpoint

log = logging.getLogger("kehu.audit")
_TAIL_BYTES = 4096


def path() -> Path | None:
    configured = getattr(settings, "KEHU_AUDIT_CHECKPOINT_FILE", None)
    if configured is None:
        configured = os.environ.get("KEHU_AUDIT_CHECKPOINT_FILE")
    if configured is None:
        return None if getattr(settings, "TESTING", False) else Path(settings.VAR_DIR) / "audit-checkpoints.log"
    configured = str(configured).strip()
    return None if configured.lower() in ("", "off", "none") else Path(configured)


def interval_seconds() -> float:
    return float(getattr(settings, "KEHU_AUDIT_CHECKPOINT_SECONDS",
                         os.environ.get("KEHU_AUDIT_CHECKPOINT_SECONDS", "10")))


def read_all(file: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the file (none when off or not written yet); unreadable lines are skipped."""
    file = file or path()
    if file is None or not file.exists():
        return []
    out = []
    with file.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(Checkpoint.from_json(line))
                except (ValueError, KeyError, TypeError):
                    log.warning("audit checkpoint file %s: unreadable line skipped: %.80s", file, line)
    return out


def last(file: Path | None = None) -> Checkpoint | None:
    """The newest checkpoint, read from the file's tail."""
    file = file or path()
    if file is None or not file.exists():
        return None
    with file.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - _TAIL_BYTES))
        lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    for line in reversed(lines):
        try:
            return Checkpoint.from_json(line)
        except (ValueError, KeyError, TypeError):
            continue
    return None


def append(cp: Checkpoint, file: Path | None = None) -> None:
    """Add one checkpoint to the file (created with its directory if need be) and to the log."""
    file = file or path()
    log.info("audit chain checkpoint: position %s entry %s hash %s chain %s", cp.seq, cp.id, cp.hash, cp.chain[:16])
    if file is None:
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (cp.to_json() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
