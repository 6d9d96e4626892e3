from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One write, reveal or export. Append-only (database triggers refuse DELETE, and UPDATE except
    the one-time seal) and hash-chained.

    A writer only appends the entry (``seq``, ``prev_hash`` and ``hash`` empty), so writers never
    wait for each other on the chain. The sealing step (``services.audit_seal``, run by the worker
    right after commits and by `kehu audit seal`) takes the chain lock, gives the unsealed entries the
    next chain positions in id order and writes their hashes: each hash covers the entry's content and
    the previous position's hash. ``seq`` is that position (1, 2, 3 … without gaps); `kehu audit
    verify` walks the chain in ``seq`` order."""

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_constraint=False)
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    seq = models.BigIntegerField(_("chain position"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["object_type", "object_id"]), models.Index(fields=["actor", "at"]),
            # The sealer's queue: only the few entries not sealed yet are in it.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_type}#{self.object_id}"

    @property
    def sealed(self) -> bool:
        return self.seq is not None
