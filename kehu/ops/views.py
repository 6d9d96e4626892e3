"""/healthz (the process answers), /readyz (the database and the queue answer) and /metrics.

Health checks are for load balancers and orchestrators: no login, no personal data, nothing but the
states. /metrics is for Prometheus: open to loopback, or to a bearer token (KEHU_METRICS_TOKEN)."""

from __future__ import annotations

import hmac
import ipaddress
import time

from django.conf import settings
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kehu.ops import metrics


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    start = time.perf_counter()
    try:
        with connections["default"].cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:  # noqa: BLE001 — the answer is the state, never a 500
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1)}


def _check_queue() -> dict:
    start = time.perf_counter()
    try:
        from huey.contrib.djhuey import HUEY

        pending = HUEY.pending_count()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "pending": pending, "ms": round((time.perf_counter() - start) * 1000, 1)}


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _check_database(), "queue": _check_queue()}
    ready = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                        status=200 if ready else 503)


def _metrics_allowed(request) -> bool:
    token = getattr(settings, "KEHU_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    # The client's address as the trusted proxies report it: behind nginx, REMOTE_ADDR is always loopback.
    from kehu.access.client_ip import client_ip

    try:
        return ipaddress.ip_address(client_ip(request) or "").is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def metrics_view(request):
    if not _metrics_allowed(request):
        return JsonResponse({"error": {"code": "forbidden", "message": _("Metrics are open to loopback or to the metrics token only.")}}, status=403)
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
