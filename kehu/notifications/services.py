"""Writes of in-app notifications. A notification is a side effect of another write, so it is only
created once that write has committed (a rolled-back decision notifies nobody)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.errors import NotFound
from kehu.notifications.models import Notification


def notify(*, user, title: str, body: str = "", link: str = "") -> None:
    """Queue one notification to ``user``, written when the current transaction commits (at once
    outside a transaction). Inactive users are skipped."""
    if user is None or not user.is_active:
        return
    user_id = user.pk
    title, body, link = str(title)[:200], str(body), str(link)[:500]
    transaction.on_commit(lambda: Notification.objects.create(user_id=user_id, title=title, body=body, link=link))


@transaction.atomic
def notification_mark_read(*, actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read (idempotent); someone else's is NotFound. Not
    audited: it is the reader's own inbox state, not business data."""
    item = Notification.objects.select_for_update().filter(pk=notification_id, user_id=actor.pk).first()
    if item is None:
        raise NotFound(_("Notification not found."))
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return item


@transaction.atomic
def notification_mark_all_read(*, actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return Notification.objects.filter(user_id=actor.pk, read_at__isnull=True).update(read_at=timezone.now())
