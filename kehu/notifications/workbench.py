"""Notifications on the workbench: my unread messages, newest first (they carry no due date)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from kehu.notifications.selectors import notification_base
from kehu.workbench.registry import Todo, todo_provider


@todo_provider("notifications", label=gettext_lazy("Unread notifications"), order=90, more="notifications:list",
               short=gettext_lazy("Notice"))
def notification_todos(user, *, today, now, limit):
    rows = notification_base(actor=user).filter(read_at__isnull=True).only("id", "title", "body", "link").order_by("-id")[:limit]
    fallback = reverse("notifications:list")
    return [Todo(kind="notification", title=n.title, url=n.link or fallback, detail=n.body[:80]) for n in rows]
