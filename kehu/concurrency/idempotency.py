"""Idempotent creates: ``Idempotency-Key: <key>`` on a POST that creates. The first answer (status and
body) is stored under the key for that user, with a hash of the request; a retry with the same key and
body gets the stored answer again (same id, nothing created), marked ``Idempotent-Replayed: true``.

- same key, different body or endpoint → 422 ``idempotency_key_reused``;
- same key while the first request is still running → 409 ``idempotency_in_progress`` (retry later);
- only successful (2xx) answers are kept: after a 4xx nothing was created, so the key is released and a
  corrected retry may use it again;
- file uploads (multipart) are not covered (the import job they create is the handle to retry with);
- keys are per user (two users' identical keys never collide) and expire after
  ``KEHU_IDEMPOTENCY["ttl_hours"]`` (purged hourly by ``idempotency_purge``).

The first request's create and the stored answer commit in one transaction, so a crash cannot leave a
created record without its answer (the retry would then create it twice)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.concurrency.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _config() -> dict:
    return {"ttl_hours": 24, "in_progress_seconds": 120, **getattr(settings, "KEHU_IDEMPOTENCY", {})}


def request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"?" + request.META.get(
        "QUERY_STRING", "").encode() + b"\n")
    digest.update(request.body or b"")
    return digest.hexdigest()


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message


def _claim(user, key: str, request) -> IdempotencyKey | HttpResponse:
    """Reserve the key for this request (committed at once, so a concurrent duplicate sees it), or
    return the stored answer of the first request."""
    now = timezone.now()
    config = _config()
    body_hash = request_hash(request)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user, key=key, method=request.method, path=request.path[:500], body_hash=body_hash,
                    created_at=now, expires_at=now + dt.timedelta(hours=config["ttl_hours"]))
        except IntegrityError:
            pass
        stored = IdempotencyKey.objects.filter(user=user, key=key).first()
        if stored is None:  # released or purged meanwhile: claim again
            continue
        if stored.expires_at <= now:
            IdempotencyKey.objects.filter(pk=stored.pk, expires_at__lte=now).delete()
            continue
        if stored.body_hash != body_hash:
            raise _Refusal(422, "idempotency_key_reused",
                           _("This Idempotency-Key was already used for a different request; use a new key "
                             "for a new request."))
        if stored.state == IdempotencyKey.State.IN_PROGRESS:
            stale = now - dt.timedelta(seconds=config["in_progress_seconds"])
            if stored.created_at <= stale:  # the first request died before answering: let this one run
                IdempotencyKey.objects.filter(pk=stored.pk, state=IdempotencyKey.State.IN_PROGRESS).delete()
                continue
            raise _Refusal(409, "idempotency_in_progress",
                           _("A request with this Idempotency-Key is still being processed; retry shortly."))
        response = HttpResponse(stored.body, status=stored.status, content_type=stored.content_type or None)
        if stored.location:
            response["Location"] = stored.location
        response["Idempotent-Replayed"] = "true"
        return response
    raise _Refusal(409, "idempotency_in_progress",
                   _("A request with this Idempotency-Key is still being processed; retry shortly."))


def run_idempotent(operation, request, run_inner) -> HttpResponse:
    """Run ``run_inner()`` (the operation after authentication) at most once per user and key."""
    from kehu.api import error_response

    key = request.headers.get(HEADER)
    user = getattr(request, "user", None)
    if key is None or user is None or not user.is_authenticated:
        return run_inner()
    if request.content_type == "multipart/form-data":
        # Hashing an upload would read it whole into memory before the upload limits apply; file
        # uploads (imports) are not covered: their job id is the handle to retry with.
        return run_inner()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return error_response(request, 400, "bad_idempotency_key",
                              _("Idempotency-Key must be 1 to 255 printable characters."))
    try:
        claimed = _claim(user, key, request)
    except _Refusal as refusal:
        return error_response(request, refusal.status, refusal.code, refusal.message)
    if isinstance(claimed, HttpResponse):
        return claimed
    kept = False
    try:
        with transaction.atomic():
            response = run_inner()
            if 200 <= response.status_code < 300 and not response.streaming:
                IdempotencyKey.objects.filter(pk=claimed.pk).update(
                    state=IdempotencyKey.State.DONE, status=response.status_code,
                    content_type=response.get("Content-Type", ""), location=response.get("Location", "")[:500],
                    body=response.content.decode(response.charset or "utf-8"))
                kept = True
    finally:
        if not kept:  # nothing created (or it failed): free the key for a corrected retry
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
    return response


def purge_expired(now=None) -> int:
    """Delete the keys past their expiry; returns how many."""
    deleted, _rows = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
