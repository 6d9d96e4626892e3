from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.models import AuditEntry
from kehu.errors import Forbidden


def audit_list(*, actor, action: str | None = None, object_type: str | None = None, object_id: str | None = None,
               actor_username: str | None = None) -> QuerySet[AuditEntry]:
    """Audit entries, for auditors and administrators only."""
    if not actor.has_kehu_perm(Perm.AUDIT_READ):
        raise Forbidden(_("Only auditors and administrators may read the audit log."))
    qs = AuditEntry.objects.all()
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if actor_username:
        qs = qs.filter(actor_name=actor_username)
    return qs
