"""Two small tables shared by every app: which fields each version of a record changed (so a writer
who lost a race is told what changed since they read it), and the remembered answers to creates sent
with an Idempotency-Key."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VersionStamp(models.Model):
    """Version ``version`` of the record ``object_type``#``object_id`` changed these fields."""

    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.BigIntegerField(_("object id"))
    version = models.PositiveIntegerField(_("version"))
    fields = models.JSONField(_("changed fields"), default=list)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("version stamp")
        verbose_name_plural = _("version stamps")
        constraints = [models.UniqueConstraint(fields=["object_type", "object_id", "version"],
                                               name="versionstamp_unique_version")]

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} v{self.version}"


class IdempotencyKey(models.Model):
    """The first answer to a create sent with ``Idempotency-Key: <key>`` by ``user``: a retry with the
    same key and the same body gets this answer again instead of a second record."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             db_index=False)  # the unique constraint leads with it
    key = models.CharField(_("idempotency key"), max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    body = models.TextField(blank=True, default="")
    location = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique_per_user"),
                       models.CheckConstraint(condition=models.Q(state__in=["in_progress", "done"]),
                                              name="idempotencykey_state_valid")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
