"""Periodic work of the service desk, run by `kehu worker` (Huey)."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kehu.service_desk.sweeps import run_sweep


@db_periodic_task(crontab(minute=f"*/{settings.KEHU_SLA_SWEEP_MINUTES}"))
@lock_task("complaint-sla-sweep")  # one sweep at a time across workers; the sweep is idempotent anyway
def sla_sweep():
    return run_sweep("complaints")  # the same code as `kehu sweep complaints`


@db_task()
def send_notification_emails(mails: list) -> int:
    """Send the sweep's notification mails, ``(to, subject, body)`` each, over one connection. A mail
    that fails is handed to the notifications' own retried task (three retries, a minute apart), so
    one bad address or a server hiccup never re-sends the others. Returns how many went out here."""
    from django.core.mail import EmailMessage, get_connection

    from kehu.notifications.tasks import send_notification_email

    sent = 0
    connection = None
    try:
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception:  # noqa: BLE001 - the server is down: every mail goes to the retried task
        connection = None
    for to, subject, body in mails:
        try:
            if connection is None:
                raise ConnectionError("no mail connection")
            sent += connection.send_messages([EmailMessage(subject, body, None, [to])]) or 0
        except Exception:  # noqa: BLE001 - retried one by one by the worker
            send_notification_email(to, subject, body)
    if connection is not None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a dead connection must not fail the batch
            pass
    return sent
