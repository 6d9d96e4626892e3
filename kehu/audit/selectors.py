from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.models import AuditEntry
from kehu.errors import Forbidden


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def audit_list(*, actor, action: str | None = None, object_type: str | None = None, object_id: str | None = None,
               actor_username: str | None = None, actor_query: str | None = None, date_from: dt.date | None = None,
               date_to: dt.date | None = None) -> QuerySet[AuditEntry]:
    """Audit entries, for auditors and administrators only. ``actor_query`` matches a person's name
    (or login name); ``date_from`` / ``date_to`` are local calendar days, both included."""
    if not actor.has_kehu_perm(Perm.AUDIT_READ):
        raise Forbidden(_("Only auditors and administrators may read the audit log."))
    qs = AuditEntry.objects.select_related("actor")
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if actor_username:
        qs = qs.filter(actor_name=actor_username)
    if actor_query:
        qs = qs.filter(Q(actor__display_name__icontains=actor_query) | Q(actor_name__icontains=actor_query))
    if date_from:
        qs = qs.filter(at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(at__lt=_day_start(date_to + dt.timedelta(days=1)))
    return qs


def audit_unsealed_count(*, actor) -> int:
    """How many entries the sealer has not put into the hash chain yet (read through the small
    partial index of unsealed entries)."""
    if not actor.has_kehu_perm(Perm.AUDIT_READ):
        raise Forbidden(_("Only auditors and administrators may read the audit log."))
    return AuditEntry.objects.filter(seq__isnull=True).count()
