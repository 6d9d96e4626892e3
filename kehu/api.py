"""The one Ninja API: authentication, the error format, and each app's router."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DataError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth

from kehu.access.services import token_authenticate
from kehu.errors import DomainError

log = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    """`Authorization: Bearer <personal API token>`."""

    def authenticate(self, request, token):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class NulRefusingParser(Parser):
    """Ninja's JSON parser, refusing NUL characters in bodies and query strings: PostgreSQL cannot
    store or compare them, so they are bad input (400) on every database rather than a database error
    on one and silently stored on the other."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if _has_nul(data):
            raise ValueError("NUL character")  # Ninja answers 400 "Cannot parse request body"
        return data

    def parse_querydict(self, data, list_fields, request):
        parsed = super().parse_querydict(data, list_fields, request)
        if _has_nul(parsed):
            raise HttpError(400, _("A value contains a NUL character."))
        return parsed


api = NinjaAPI(
    title="Kehu API",
    version="1",
    description="客户管理系统 REST API. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}.",
    auth=[BearerToken(), django_auth],
    docs_url="/docs",
    urls_namespace="api",
    parser=NulRefusingParser(),
)


def error_response(request, status: int, code: str, message: str, fields: dict | None = None):
    return api.create_response(request, {"error": {"code": code, "message": message, "fields": fields or {}}},
                               status=status)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    response = error_response(request, exc.status, exc.code, exc.message, exc.fields)
    if getattr(exc, "retry_after", None):  # a throttled login says when to come back
        response["Retry-After"] = str(int(exc.retry_after))
    return response


@api.exception_handler(AuthenticationError)
def _not_authenticated(request, exc):
    return error_response(request, 401, "not_authenticated",
                          _("Authentication required: log in or send a Bearer token."))


@api.exception_handler(AuthorizationError)
def _forbidden(request, exc):
    return error_response(request, 403, "forbidden", _("You are not allowed to do this."))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    code = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 429: "too_many_requests"}.get(exc.status_code, "error")
    return error_response(request, exc.status_code, code, str(exc))


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "payload", "data")]
        fields.setdefault(".".join(loc) or "__all__", []).append(err.get("msg", "invalid"))
    return error_response(request, 422, "invalid", _("Some fields are not valid."), fields)


@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def _unstorable_value(request, exc: Exception):
    # Input the database cannot hold (an id beyond 64 bits, a NUL character on PostgreSQL) is the
    # client's mistake, not ours: 400, never 500.
    return error_response(request, 400, "bad_request", _("A value is out of range or contains characters that "
                                                          "cannot be stored."))


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    log.exception("unexpected error in %s %s", request.method, request.path)
    if settings.DEBUG:
        raise exc
    return error_response(request, 500, "server_error", _("Something went wrong on our side."))


from kehu.access.api import router as access_router  # noqa: E402
from kehu.approvals.api import router as approvals_router  # noqa: E402
from kehu.audit.api import router as audit_router  # noqa: E402
from kehu.customers.api import router as customers_router  # noqa: E402
from kehu.customers.review.api import router as review_router  # noqa: E402
from kehu.engagement.api import router as engagement_router  # noqa: E402
from kehu.engagement.care.api import router as care_router  # noqa: E402
from kehu.engagement.symposia.api import router as symposia_router  # noqa: E402
from kehu.engagement.visits.api import router as visits_router  # noqa: E402
from kehu.grading.allocation.api import router as allocation_router  # noqa: E402
from kehu.grading.api import router as grading_router  # noqa: E402
from kehu.imports.api import router as imports_router  # noqa: E402
from kehu.imports.export_api import router as exports_router  # noqa: E402
from kehu.notifications.api import router as notifications_router  # noqa: E402
from kehu.orders.api import router as orders_router  # noqa: E402
from kehu.orders.import_api import router as order_imports_router  # noqa: E402
from kehu.qualification.api import router as qualification_router  # noqa: E402
from kehu.qualification.assessments.api import router as assessments_router  # noqa: E402
from kehu.qualification.blacklist.api import router as blacklist_router  # noqa: E402
from kehu.sales.api import router as sales_router  # noqa: E402
from kehu.sales.commissions.api import router as commissions_router  # noqa: E402
from kehu.sales.ownership.api import router as ownership_router  # noqa: E402
from kehu.sales.reception.api import router as reception_router  # noqa: E402
from kehu.service_desk.api import router as service_desk_router  # noqa: E402
from kehu.service_desk.inspections.api import router as inspections_router  # noqa: E402
from kehu.service_desk.tickets.api import router as tickets_router  # noqa: E402
from kehu.surveys.actions.api import router as survey_actions_router  # noqa: E402
from kehu.surveys.api import router as surveys_router  # noqa: E402
from kehu.workbench.api import router as workbench_router  # noqa: E402
from kehu.workdays.api import router as workdays_router  # noqa: E402

api.add_router("", access_router)
api.add_router("", exports_router)  # before customers: /customers/export must win over /customers/{customer_id}
api.add_router("", customers_router)
api.add_router("", audit_router)
api.add_router("", workdays_router)
api.add_router("", service_desk_router)
api.add_router("", approvals_router)
api.add_router("", notifications_router)
api.add_router("", imports_router)
api.add_router("", review_router)
api.add_router("", inspections_router)
api.add_router("", tickets_router)
api.add_router("", workbench_router)
api.add_router("", grading_router)
api.add_router("", allocation_router)
api.add_router("", orders_router)
api.add_router("", order_imports_router)
api.add_router("", engagement_router)
api.add_router("", visits_router)
api.add_router("", symposia_router)
api.add_router("", care_router)
api.add_router("", sales_router)
api.add_router("", ownership_router)
api.add_router("", reception_router)
api.add_router("", commissions_router)
api.add_router("", qualification_router)
api.add_router("", blacklist_router)
api.add_router("", assessments_router)
api.add_router("", surveys_router)
api.add_router("", survey_actions_router)

from kehu.concurrency.api_hooks import install as install_concurrency  # noqa: E402

install_concurrency(api)  # Idempotency-Key on creates, ETag / If-Match on versioned records


class ApiErrorFormatMiddleware:
    """Responses under /api/ that Django or Ninja produce outside our handlers (405 for a wrong
    method, 404 for an unknown path) get the same JSON error format as everything else."""

    MESSAGES = {404: ("not_found", gettext_lazy("Not found.")),
                405: ("method_not_allowed", gettext_lazy("Method not allowed."))}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.path.startswith("/api/") and response.status_code in self.MESSAGES
                and not response.get("Content-Type", "").startswith("application/json")):
            code, message = self.MESSAGES[response.status_code]
            formatted = error_response(request, response.status_code, code, str(message))
            if response.has_header("Allow"):
                formatted["Allow"] = response["Allow"]
            return formatted
        return response
