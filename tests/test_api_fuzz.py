"""API fuzzing from the OpenAPI document (schemathesis): whatever a client sends, the API never
answers 500 — bad input gets a 4xx in the one error format."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from kehu.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def error_format_for_4xx(ctx, response, case):
    """Every 4xx body is {"error": {"code", "message", "fields"}}."""
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert set(body) == {"error"}, body
        assert {"code", "message", "fields"} <= set(body["error"]), body
    return None


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    """Schemathesis calls the WSGI app directly; Django's end-of-request hook would close the
    test transaction's PostgreSQL connection. Django's own test client disconnects it the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(org):
    from kehu.access.services import token_create
    from kehu.customers import services

    # Something to find, update and reveal, so generated ids sometimes hit real rows.
    for name in ("浙江华星石化有限公司", "上海远航物流有限公司"):
        c = services.customer_create(actor=org.admin, data={"name": name})
        services.contact_create(actor=org.admin, customer_id=c.pk, data={"name": "王强", "mobile": "13812345678",
                                "basis": {"basis": "contract", "purpose": "合同履行"}})
    return token_create(actor=org.admin, name="fuzz")[1]


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_answers_500_and_errors_keep_their_format(case, admin_token):
    if case.path == "/api/v1/auth/token":
        case.headers = case.headers or {}
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"},
                           checks=[not_a_server_error, error_format_for_4xx])
