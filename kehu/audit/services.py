"""Writing the audit log. Called by every other service inside its own transaction.

Two steps, so that writers never queue behind one another on the chain:

1. ``audit_record`` / ``audit_record_many`` append entries with the content only (no chain position, no
   hash), inside the writer's transaction: a plain INSERT, no lock, no read of the previous entry.
   After the commit they ask for a seal (``tasks.request_seal``: the worker, debounced).
2. ``audit_seal`` takes the chain lock (a PostgreSQL advisory lock; SQLite's one write lock), reads the
   unsealed entries in id order in batches, gives them the next chain positions and writes their
   hashes, each covering the entry and the hash at the position before.

Order on PostgreSQL: ids come from a sequence when the INSERT runs, but transactions commit in any
order, so an entry with a lower id may become visible after a higher one was sealed. The chain is
therefore ordered by the position the sealer assigns (``seq``), not by id: a late-committing entry
simply gets the next free position in the following seal. Each seal is deterministic (id order
among what is committed), nothing is skipped or sealed twice (the UPDATE only touches rows still
unsealed, under the lock), and `kehu audit verify` walks positions 1, 2, 3 … so a removed entry shows
as a missing position and a broken link. Unsealed entries are reported with the age of the oldest.

Checkpoints (``kehu.audit.checkpoints``): after sealing, the chain head is written outside the
database from time to time, so that deleting the newest entries is detected too."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from kehu.access.context import current_ip
from kehu.audit import chain, checkpoints
from kehu.audit.models import AuditEntry

_PG_LOCK_KEY = 0x6B656875  # "kehu": serialises sealing on PostgreSQL (writers never take it)
SEAL_BATCH = 2000
_COLUMNS = ("id", "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr",
            "changes")


def _canonical_time(at) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seal_after_commit() -> None:
    from kehu.audit.tasks import request_seal

    request_seal()


def audit_record(*, actor, action: str, obj=None, object_type: str = "", object_id="", object_repr: str = "",
                 changes: dict | None = None) -> AuditEntry:
    """Append one entry (sealed into the chain shortly after the commit). Must run inside the caller's
    transaction so the entry commits (or rolls back) with the write it describes."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    entry = AuditEntry(
        at=timezone.now(), actor=actor if actor and actor.pk else None,
        actor_name=(actor.get_username() if actor and actor.pk else "system"),
        ip=current_ip.get(), action=action, object_type=object_type, object_id=str(object_id),
        object_repr=object_repr[:200], changes=changes or {},
    )
    entry.save(force_insert=True)
    transaction.on_commit(_seal_after_commit, robust=True)
    return entry


def audit_row(*, actor, action: str, obj=None, object_type: str = "", object_id="", object_repr: str = "",
              changes: dict | None = None) -> dict:
    """The columns of one entry exactly as ``audit_record`` writes it, adapted for the connection ({column:
    value}), for a hot write path that inserts the entry in a combined statement of its own, inside its
    transaction. Asks for the seal after the commit, as audit_record does."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    actor_id = actor.pk if actor and actor.pk else None
    values = {"at": timezone.now(), "actor_id": actor_id, "actor_name": actor.get_username() if actor_id else "system",
              "ip": current_ip.get(), "action": action, "object_type": object_type, "object_id": str(object_id),
              "object_repr": object_repr[:200], "changes": changes or {}}
    opts = AuditEntry._meta
    row = {opts.get_field(name).column: opts.get_field(name).get_db_prep_save(value, connection)
           for name, value in values.items()}
    transaction.on_commit(_seal_after_commit, robust=True)
    return row


COPY_AFTER = 50  # entries: from here audit_record_many writes them with COPY on PostgreSQL


def audit_record_many(*, actor, action: str, objects: list, changes: list[dict] | None = None) -> int:
    """Append one entry per object (bulk registration, sweeps). Same guarantees as audit_record."""
    if not objects:
        return 0
    at = timezone.now()
    actor_id = actor.pk if actor and actor.pk else None
    actor_name = actor.get_username() if actor_id else "system"
    ip = current_ip.get()
    # Plain executemany of prepared rows: model instances cost ~90 µs each at bulk scale.
    at_db = AuditEntry._meta.get_field("at").get_db_prep_save(at, connection)
    changes_field = AuditEntry._meta.get_field("changes")
    rows = [(at_db, actor_id, actor_name, ip, action, obj._meta.label_lower, str(obj.pk), str(obj)[:200],
             changes_field.get_db_prep_save(changes[i] if changes else {}, connection))
            for i, obj in enumerate(objects)]
    columns = "at, actor_id, actor_name, ip, action, object_type, object_id, object_repr, changes"
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql" and len(rows) >= COPY_AFTER:
            # COPY: no per-row statement or parameter binding (executemany was 2.6 s of a 20,000-customer
            # bulk registration's write on PostgreSQL)
            with cur.cursor.copy(f"COPY {AuditEntry._meta.db_table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO {AuditEntry._meta.db_table} ({columns}) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    transaction.on_commit(_seal_after_commit, robust=True)
    return len(rows)


# ---------------------------------------------------------------- sealing


def _chain_lock() -> None:
    """Inside a transaction: wait for the chain lock. On SQLite the IMMEDIATE transaction already
    holds the database's one write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def _seal_batch(limit: int) -> int:
    with transaction.atomic():
        _chain_lock()
        head = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = head if head else (0, chain.GENESIS)
        pending = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id").values(*_COLUMNS)[:limit])
        updates = []
        for e in pending:
            seq += 1
            h = chain.entry_hash(
                prev_hash, entry_id=e["id"], at=_canonical_time(e["at"]), actor_id=e["actor_id"],
                actor_name=e["actor_name"], ip=e["ip"], action=e["action"], object_type=e["object_type"],
                object_id=e["object_id"], object_repr=e["object_repr"], changes=e["changes"],
            )
            updates.append((seq, prev_hash, h, e["id"]))
            prev_hash = h
        if updates:
            table = AuditEntry._meta.db_table
            with connection.cursor() as cur:
                if connection.vendor == "postgresql":  # one statement, four arrays: row-by-row ran ~2,000/s
                    cur.execute(f"UPDATE {table} AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash"
                                " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[])"
                                " AS v(seq, prev_hash, hash, id) WHERE a.id = v.id AND a.seq IS NULL",
                                [list(col) for col in zip(*updates, strict=True)])
                else:
                    cur.executemany(f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s"
                                    " WHERE id = %s AND seq IS NULL", updates)
    return len(updates)


def audit_seal(*, batch_size: int = SEAL_BATCH, checkpoint: bool | None = None) -> int:
    """Seal every entry committed so far into the chain, ``batch_size`` entries per transaction (the
    lock is held per batch only); return how many were sealed. Then write a checkpoint of the head:
    ``checkpoint=None`` when the last one is older than the checkpoint interval, True always (if the
    head moved), False never."""
    total = 0
    while True:
        n = _seal_batch(batch_size)
        total += n
        if n < batch_size:
            break
    if checkpoint is not False:
        if connection.in_atomic_block:  # the seal may still roll back: checkpoint only what commits
            transaction.on_commit(lambda: audit_checkpoint(force=bool(checkpoint)), robust=True)
        else:
            audit_checkpoint(force=bool(checkpoint))
    return total


_last_logged_checkpoint: dict = {}


def audit_checkpoint(*, force: bool = False) -> chain.Checkpoint | None:
    """Copy the chain head outside the database (file and log line) unless the newest checkpoint
    already has it, or (``force`` False) is younger than the checkpoint interval."""
    head = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").values("seq", "id", "hash").first()
    if not head:
        return None
    first = AuditEntry.objects.filter(seq=1).values_list("hash", flat=True).first() or ""
    now = timezone.now()
    file = checkpoints.path()
    last = checkpoints.last(file) if file else _last_logged_checkpoint.get("cp")
    if last and last.chain == first:
        if last.seq >= head["seq"]:
            return None
        age = (now - dt.datetime.fromisoformat(last.at.replace("Z", "+00:00"))).total_seconds()
        if not force and 0 <= age < checkpoints.interval_seconds():
            return None
    cp = chain.Checkpoint(chain=first, seq=head["seq"], id=head["id"], hash=head["hash"], at=_canonical_time(now))
    checkpoints.append(cp, file)
    if file is None:
        _last_logged_checkpoint["cp"] = cp
    return cp


# ---------------------------------------------------------------- verifying


@dataclass
class AuditStatus:
    problems: list[str]
    sealed: int
    last_seq: int
    last_id: int | None
    unsealed: int
    oldest_unsealed_at: dt.datetime | None
    checkpoints: int
    checkpoint_file: str | None

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def oldest_unsealed_age(self) -> float | None:
        return (timezone.now() - self.oldest_unsealed_at).total_seconds() if self.oldest_unsealed_at else None


def audit_status() -> AuditStatus:
    """Walk the whole sealed chain against the checkpoints; count what is not sealed yet."""
    def rows():
        qs = AuditEntry.objects.filter(seq__isnull=False).order_by("seq").values(*_COLUMNS, "seq", "prev_hash", "hash")
        for row in qs.iterator(chunk_size=5000):
            row["at"] = _canonical_time(row["at"])
            yield row

    file = checkpoints.path()
    cps = checkpoints.read_all(file)
    walked = chain.walk(rows(), cps)
    pending = AuditEntry.objects.filter(seq__isnull=True).aggregate(n=Count("id"), oldest=Min("at"))
    return AuditStatus(problems=walked.problems, sealed=walked.count, last_seq=walked.last_seq,
                       last_id=walked.last_id, unsealed=pending["n"], oldest_unsealed_at=pending["oldest"],
                       checkpoints=len(cps), checkpoint_file=str(file) if file else None)


def audit_verify() -> list[str]:
    """Walk the whole sealed chain; return the problems found (unsealed entries are not problems:
    see audit_status)."""
    return audit_status().problems
