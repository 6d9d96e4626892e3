"""Every API operation that declares security refuses an anonymous caller with 401 (and the error
format), whatever app it belongs to: new endpoints are covered the day they are mounted."""

from __future__ import annotations

import re

import pytest

from kehu.api import api

pytestmark = pytest.mark.django_db


def _secured_operations():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if op.get("security"):
                yield pytest.param(path, method, id=f"{method.upper()} {path}")


@pytest.mark.parametrize(("path", "method"), list(_secured_operations()))
def test_anonymous_caller_gets_401_on_every_secured_operation(client, path, method):
    url = re.sub(r"\{[^}]+\}", "1", path)
    response = getattr(client, method)(url, content_type="application/json")
    assert response.status_code == 401, (method, url, response.status_code)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_public_operations_are_only_the_intended_ones():
    """Only login and the public complaint form/tracking are reachable without credentials."""
    public = {(m, p) for p, ms in api.get_openapi_schema()["paths"].items() for m, op in ms.items()
              if not op.get("security")}
    assert public == {("post", "/api/v1/auth/token"), ("post", "/api/v1/public/complaints"),
                      ("post", "/api/v1/public/complaints/track")}
