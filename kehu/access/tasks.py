"""Background work of the access app: forgetting old login counters and attempts."""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kehu.access import throttle
from kehu.access.models import LoginAttempt


@db_periodic_task(crontab(hour="3", minute="17"))
def login_records_purge():
    """Daily: drop counters untouched for over a day, and attempts older than the known-place window
    (they only serve to recognise an owner's usual address)."""
    counters = throttle.purge()
    cutoff = timezone.now() - dt.timedelta(days=settings.KEHU_LOGIN_THROTTLE["known_days"] + 1)
    attempts, _ = LoginAttempt.objects.filter(at__lt=cutoff).delete()
    return {"counters": counters, "attempts": attempts}
