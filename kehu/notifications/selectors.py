"""Reads of in-app notifications: a user only ever sees their own."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from kehu.notifications.models import Notification
from kehu.pagination import Page, paginate

NOTIFICATION_ORDERINGS = {"id": int, "created_at": dt.datetime}


def notification_base(*, actor) -> QuerySet[Notification]:
    if actor is None or not actor.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=actor.pk)


def notification_list(*, actor, unread: bool = True, ordering: str = "-id", limit: int | None = None,
                      cursor: str | None = None) -> Page:
    """A page of the actor's notifications (by default the unread ones), newest first."""
    qs = notification_base(actor=actor)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return paginate(qs, ordering=ordering, allowed=NOTIFICATION_ORDERINGS, limit=limit, cursor=cursor)


def notification_unread_count(*, actor) -> int:
    return notification_base(actor=actor).filter(read_at__isnull=True).count()
