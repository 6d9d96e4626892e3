from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from kehu.audit import selectors
from kehu.pagination import paginate

router = Router(tags=["audit"])


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    ip: str | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict
    hash: str

    @staticmethod
    def resolve_actor(obj):
        return obj.actor_name


class AuditPage(Schema):
    items: list[AuditOut]
    next: str | None


@router.get("/audit", response=AuditPage, summary="Audit log (auditors and administrators)")
def audit_list(request, action: str | None = None, object_type: str | None = None, object_id: str | None = None,
               actor: str | None = None, limit: int | None = None, cursor: str | None = None):
    qs = selectors.audit_list(actor=request.user, action=action, object_type=object_type, object_id=object_id,
                              actor_username=actor)
    page = paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}
