"""Writing the audit log. Called by every other service inside its own transaction."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from kehu.access.context import current_ip
from kehu.audit import chain
from kehu.audit.models import AuditEntry

_PG_LOCK_KEY = 0x6B656875  # "kehu": serialises chain appends on PostgreSQL


def _canonical_time(at) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_record(*, actor, action: str, obj=None, object_type: str = "", object_id="", object_repr: str = "",
                 changes: dict | None = None) -> AuditEntry:
    """Append one entry to the chain. Must run inside the caller's transaction so the entry commits
    (or rolls back) with the write it describes."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        # On SQLite the IMMEDIATE transaction already holds the one write lock.
        last = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
        prev_id, prev_hash = last if last else (0, chain.GENESIS)
        at = timezone.now()
        entry = AuditEntry(
            id=prev_id + 1, at=at, actor=actor if actor and actor.pk else None,
            actor_name=(actor.get_username() if actor and actor.pk else "system"),
            ip=current_ip.get(), action=action, object_type=object_type, object_id=str(object_id),
            object_repr=object_repr[:200], changes=changes or {}, prev_hash=prev_hash,
        )
        entry.hash = chain.entry_hash(
            prev_hash, entry_id=entry.id, at=_canonical_time(at), actor_id=entry.actor_id,
            actor_name=entry.actor_name, ip=entry.ip, action=action, object_type=object_type,
            object_id=entry.object_id, object_repr=entry.object_repr, changes=entry.changes,
        )
        entry.save(force_insert=True)
    return entry


def audit_record_many(*, actor, action: str, objects: list, changes: list[dict] | None = None) -> int:
    """Append one entry per object in a single chain segment (bulk registration). Same guarantees as
    audit_record: inside the caller's transaction, serialised with every other append."""
    if not objects:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
        prev_id, prev_hash = last if last else (0, chain.GENESIS)
        at = timezone.now()
        at_text = _canonical_time(at)
        actor_id = actor.pk if actor and actor.pk else None
        actor_name = actor.get_username() if actor_id else "system"
        ip = current_ip.get()
        # Plain executemany of prepared rows: model instances cost ~90 µs each at bulk scale.
        at_db = AuditEntry._meta.get_field("at").get_db_prep_save(at, connection)
        changes_field = AuditEntry._meta.get_field("changes")
        rows = []
        for i, obj in enumerate(objects):
            ch = changes[i] if changes else {}
            entry_id, object_id, object_repr = prev_id + 1 + i, str(obj.pk), str(obj)[:200]
            object_type = obj._meta.label_lower
            entry_hash = chain.entry_hash(
                prev_hash, entry_id=entry_id, at=at_text, actor_id=actor_id, actor_name=actor_name, ip=ip,
                action=action, object_type=object_type, object_id=object_id, object_repr=object_repr,
                changes=ch,
            )
            rows.append((entry_id, at_db, actor_id, actor_name, ip, action, object_type, object_id, object_repr,
                         changes_field.get_db_prep_save(ch, connection), prev_hash, entry_hash))
            prev_hash = entry_hash
        with connection.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {AuditEntry._meta.db_table} (id, at, actor_id, actor_name, ip, action, object_type,"
                " object_id, object_repr, changes, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    return len(rows)


def audit_verify() -> list[str]:
    """Walk the whole chain; return the problems found."""
    def rows():
        qs = AuditEntry.objects.order_by("id").values(
            "id", "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id",
            "object_repr", "changes", "prev_hash", "hash",
        )
        for row in qs.iterator(chunk_size=5000):
            row["at"] = _canonical_time(row["at"])
            yield row

    return chain.verify(rows())
