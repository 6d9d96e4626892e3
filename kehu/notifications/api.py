from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema

from kehu.notifications import selectors, services

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next: str | None
    unread: int


class NotificationFilters(Schema):
    unread: bool = True
    ordering: str = "-id"
    limit: int | None = None
    cursor: str | None = None


@router.get("/notifications", response=NotificationPage, summary="My notifications (unread by default)")
def notification_list(request, filters: Query[NotificationFilters]):
    page = selectors.notification_list(actor=request.user, **filters.dict())
    return {"items": page.items, "next": page.next,
            "unread": selectors.notification_unread_count(actor=request.user)}


@router.post("/notifications/{notification_id}/read", response=NotificationOut, summary="Mark a notification read")
def notification_read(request, notification_id: int):
    return services.notification_mark_read(actor=request.user, notification_id=notification_id)
