from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from kehu.audit import selectors
from kehu.audit.labels import action_label
from kehu.pagination import paginate

router = Router(tags=["audit"])


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    actor_display: str
    ip: str | None
    action: str
    action_label: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict
    sealed: bool
    seq: int | None
    hash: str | None

    @staticmethod
    def resolve_actor(obj):
        return obj.actor_name

    @staticmethod
    def resolve_actor_display(obj):
        return str(obj.actor) if obj.actor_id and obj.actor else obj.actor_name

    @staticmethod
    def resolve_action_label(obj):
        return action_label(obj.action)


class AuditPage(Schema):
    items: list[AuditOut]
    next: str | None


@router.get("/audit", response=AuditPage, summary="Audit log (auditors and administrators)")
def audit_list(request, action: str | None = None, object_type: str | None = None, object_id: str | None = None,
               actor: str | None = None, actor_name: str | None = None, date_from: dt.date | None = None,
               date_to: dt.date | None = None, limit: int | None = None, cursor: str | None = None):
    """``actor``: a login name, exactly; ``actor_name``: part of a person's name; dates are local days."""
    qs = selectors.audit_list(actor=request.user, action=action, object_type=object_type, object_id=object_id,
                              actor_username=actor, actor_query=actor_name, date_from=date_from, date_to=date_to)
    page = paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}
