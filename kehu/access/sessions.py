"""Django's database sessions, written without waiting for the disk on PostgreSQL.

SESSION_SAVE_EVERY_REQUEST makes the idle timeout slide, so nearly every page writes its session row, and on
PostgreSQL each such commit waited for the WAL to reach the disk — on a busy machine the largest fixed cost of
a page. The session's own transaction (and only it: never when the save happens inside another transaction,
whose business writes must stay durable) commits with ``synchronous_commit = off``: a crash may lose the
last fraction of a second of idle-clock pushes (the session then expires a little earlier), never a write
anybody was told was saved. SQLite in WAL mode with synchronous=NORMAL already does not sync on commit."""

from __future__ import annotations

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, connections, router, transaction


class SessionStore(DatabaseSessionStore):
    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        connection = connections[using]
        relaxed = connection.vendor == "postgresql" and not connection.in_atomic_block
        try:
            with transaction.atomic(using=using):
                if relaxed:
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
