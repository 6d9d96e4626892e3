"""Login throttling: counters in the database, taken BEFORE the (slow, Argon2) password check.

Each attempt first takes a slot on every counter that applies to it with one conditional UPDATE
(``count = count + 1 WHERE count < limit AND not blocked``). The statement is atomic on SQLite and
PostgreSQL alike, across threads and processes, so N parallel attempts against a limit of 5 get at most
5 password checks. A counter that is full is blocked for ``lock_minutes``, twice as long on each repeat
(growing delays, up to ``max_lock_minutes``); a successful login gives its slot back.

The keys (settings.KEHU_LOGIN_THROTTLE):
- ``ip:<ip>`` — every failure from one client IP, whatever the username (a spray of usernames);
- ``acctip:<user>|<ip>`` — one account from one IP: the policy's lockout (5 in 15 minutes);
- ``acct:<user>`` — one account from addresses and browsers that never logged in as it (a spray
  from many IPs). A "known" place — an IP that logged in as the account within ``known_days``, or a
  browser holding the signed cookie set at its last login — skips this counter, so strangers can lock
  the account only for themselves, never for its owner.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import time
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from kehu.access.models import LoginThrottle


@dataclasses.dataclass(frozen=True)
class Limit:
    key: str
    limit: int


class Throttled(Exception):
    def __init__(self, key: str, retry_after: int):
        super().__init__(key)
        self.key, self.retry_after = key, max(1, retry_after)


def conf() -> dict:
    return settings.KEHU_LOGIN_THROTTLE


def account_id(username: str) -> str:
    # Fixed length whatever the username; case-folded so "Admin" and "admin" share a counter.
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def limits_for(*, username: str, ip: str | None, known: bool) -> list[Limit]:
    c = conf()
    account = account_id(username)
    found = []
    if ip:
        found.append(Limit(f"ip:{ip}", c["ip_attempts"]))
    found.append(Limit(f"acctip:{account}|{ip or '-'}", c["account_ip_attempts"]))
    if not known:
        found.append(Limit(f"acct:{account}", c["account_attempts"]))
    return found


def _ensure(key: str, now) -> None:
    if not LoginThrottle.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                LoginThrottle.objects.create(key=key, count=0, window_start=now, updated_at=now)
        except IntegrityError:  # another process created it a moment ago
            pass


def _lock_minutes(strikes: int) -> float:
    c = conf()
    return min(c["lock_minutes"] * (2 ** min(strikes, 20)), c["max_lock_minutes"])


def retry_when_sqlite_is_locked(fn):
    """SQLite in shared-cache mode (the test database in memory) answers "table is locked" at once
    instead of waiting on its busy timeout: try again. The wrapped writes are single statements or
    whole transactions, so a retry never counts twice."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        for attempt in range(200):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if connection.vendor != "sqlite" or "locked" not in str(exc) or connection.in_atomic_block \
                        or attempt == 199:
                    raise
                time.sleep(0.005)
        return None

    return wrapper


@retry_when_sqlite_is_locked
def take(limit: Limit, now=None) -> None:
    """Take one slot on the counter, or raise Throttled (with the seconds to wait)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=conf()["window_minutes"])
    _ensure(limit.key, now)
    expired = Q(window_start__lt=cutoff)
    taken = (LoginThrottle.objects
             .filter(Q(key=limit.key), Q(blocked_until__isnull=True) | Q(blocked_until__lte=now),
                     expired | Q(count__lt=limit.limit))
             .update(count=Case(When(expired, then=Value(1)), default=F("count") + 1),
                     window_start=Case(When(expired, then=Value(now)), default=F("window_start")),
                     updated_at=now))
    if taken:
        return
    raise Throttled(limit.key, block(limit, now=now))


@retry_when_sqlite_is_locked
def block(limit: Limit, *, now=None) -> int:
    """Block a full counter (if no block runs yet); return the seconds until it ends."""
    now = now or timezone.now()
    row = LoginThrottle.objects.filter(key=limit.key).first()
    if row is None:
        return 1
    if row.blocked_until and row.blocked_until > now:
        return math.ceil((row.blocked_until - now).total_seconds())
    strikes = row.strikes
    if row.updated_at < now - dt.timedelta(hours=conf()["strikes_reset_hours"]):
        strikes = 0
    until = now + dt.timedelta(minutes=_lock_minutes(strikes))
    # Conditional on the row as read: of two processes blocking at once, one sets it.
    changed = (LoginThrottle.objects.filter(pk=row.pk, strikes=row.strikes)
               .filter(Q(blocked_until__isnull=True) | Q(blocked_until__lte=now))
               .update(blocked_until=until, strikes=strikes + 1, count=0, window_start=now, updated_at=now))
    if not changed:
        row.refresh_from_db()
        until = row.blocked_until or until
    return math.ceil((until - now).total_seconds())


def is_full(limit: Limit) -> bool:
    row = LoginThrottle.objects.filter(key=limit.key).values("count", "window_start").first()
    if row is None:
        return False
    cutoff = timezone.now() - dt.timedelta(minutes=conf()["window_minutes"])
    return row["window_start"] >= cutoff and row["count"] >= limit.limit


@retry_when_sqlite_is_locked
def give_back(limit: Limit) -> None:
    """A successful login returns its slot (it was no failure)."""
    LoginThrottle.objects.filter(key=limit.key).update(count=Greatest(F("count") - 1, Value(0)))


@retry_when_sqlite_is_locked
def clear(limit: Limit) -> None:
    """The owner got in: the account's lockout from this place starts afresh."""
    LoginThrottle.objects.filter(key=limit.key).update(count=0, strikes=0, blocked_until=None)


def purge(*, older_than_hours: float | None = None) -> int:
    """Delete counters untouched for a while (daily task); returns how many."""
    hours = older_than_hours or max(conf()["strikes_reset_hours"], conf()["max_lock_minutes"] / 60) + 1
    deleted, _ = LoginThrottle.objects.filter(updated_at__lt=timezone.now() - dt.timedelta(hours=hours)).delete()
    return deleted
