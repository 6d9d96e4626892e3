"""Background work of the notifications: the e-mail channel's sending, run by `kehu worker` (Huey)."""

from django.core.mail import send_mail
from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=60)
def send_notification_email(to: str, subject: str, body: str) -> None:
    """Send one notification by mail; a failure (server down, timeout) is retried three times, a
    minute apart, by the worker — never in the request that caused the notification."""
    send_mail(subject, body, None, [to], fail_silently=False)
