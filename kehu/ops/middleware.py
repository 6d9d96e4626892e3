import logging
import re
import time
import uuid

from kehu.ops import metrics
from kehu.ops.context import request_id

access_log = logging.getLogger("kehu.requests")

# A client's or proxy's X-Request-ID is reused when it looks like an id (no header injection, bounded).
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class RequestIdMiddleware:
    """Give each request an id (the proxy's X-Request-ID or a new one), answer it in X-Request-ID, stamp
    the log lines written meanwhile with it, and time the request into its route's latency histogram."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id.set(rid)
        start = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - start
            route = route_label(getattr(request, "resolver_match", None))
            instruments = metrics.instruments()
            instruments.request_latency.labels(route=route, method=request.method).observe(elapsed)
            instruments.responses.labels(route=route, method=request.method,
                                     status=f"{response.status_code // 100}xx").inc()
            response["X-Request-ID"] = rid
            user = getattr(request, "user", None)
            access_log.info("%s %s %s %.1fms", request.method, route, response.status_code, elapsed * 1000,
                            extra={"method": request.method, "route": route, "status": response.status_code,
                                   "ms": round(elapsed * 1000, 1),
                                   "user_id": user.pk if user is not None and user.is_authenticated else None})
            return response
        finally:
            request_id.reset(token)


def route_label(match) -> str:
    """The URL pattern, not the path (/customers/<int:customer_id>/), so the label set stays small."""
    if match is None:
        return "unmatched"
    return "/" + (match.route or match.view_name or "unmatched")
