"""Writes of notifications. A notification is a side effect of another write, so it is only delivered
once that write has committed (a rolled-back decision notifies nobody). It goes to each channel named
in settings.KEHU_NOTIFY_CHANNELS: "inapp" (the bell) and "email" (a mail sent by the worker)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.errors import NotFound
from kehu.notifications.models import Notification


def notify(*, user, title: str, body: str = "", link: str = "") -> None:
    """Queue one notification to ``user`` on every configured channel, delivered when the current
    transaction commits (at once outside a transaction). Inactive users are skipped."""
    if user is None or not user.is_active:
        return
    title, body, link = str(title)[:200], str(body), str(link)[:500]
    for name in settings.KEHU_NOTIFY_CHANNELS:
        CHANNELS[name](user=user, title=title, body=body, link=link)


def notification_row(*, user, title: str, body: str = "", link: str = "") -> dict | None:
    """notify() for a hot write path that inserts the in-app row itself, in a combined statement inside its
    transaction: returns that row ({column: value}, adapted for the connection; None when the user is inactive or
    the "inapp" channel is off) and queues the other channels after the commit as notify() does."""
    if user is None or not user.is_active:
        return None
    title, body, link = str(title)[:200], str(body), str(link)[:500]
    row = None
    for name in settings.KEHU_NOTIFY_CHANNELS:
        if name == "inapp":
            opts = Notification._meta
            row = {opts.get_field(f).column: opts.get_field(f).get_db_prep_save(v, transaction.get_connection())
                   for f, v in (("user_id", user.pk), ("title", title), ("body", body), ("link", link),
                                ("created_at", timezone.now()), ("read_at", None))}
        else:
            CHANNELS[name](user=user, title=title, body=body, link=link)
    return row


def _inapp(*, user, title: str, body: str, link: str) -> None:
    user_id = user.pk
    transaction.on_commit(lambda: Notification.objects.create(user_id=user_id, title=title, body=body, link=link))


def _email(*, user, title: str, body: str, link: str) -> None:
    """Enqueue a mail to the worker after commit: a slow mail server never holds up the request, and
    a queue that cannot be reached is logged, not raised (the write has committed by then)."""
    to = (user.email or "").strip()
    if not (to and settings.KEHU_NOTIFY_EMAIL):
        return
    from kehu.notifications.tasks import send_notification_email

    subject = " ".join(title.split())  # one header line
    if link and link.startswith("/") and settings.KEHU_SITE_URL:
        link = settings.KEHU_SITE_URL + link
    text = "\n\n".join(part for part in (body, link) if part) or subject
    transaction.on_commit(lambda: send_notification_email(to, subject, text), robust=True)


CHANNELS = {"inapp": _inapp, "email": _email}


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


def notification_settle(*, user_ids, link: str) -> int:
    """Mark read the unread notifications of ``user_ids`` that point to ``link``: the thing they asked
    the user to look at has been dealt with (an approval decided, skipped or withdrawn), so they no
    longer wait on the bell and the workbench. Runs in the caller's transaction; not audited (inbox state)."""
    user_ids = [pk for pk in user_ids if pk]
    if not user_ids or not link:
        return 0
    return Notification.objects.filter(user_id__in=user_ids, link=link, read_at__isnull=True).update(
        read_at=timezone.now())
