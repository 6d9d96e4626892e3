"""Wires versions and idempotency into the one Ninja API, once, for every operation:

- every POST that answers 201 (a create) honours ``Idempotency-Key`` (idempotency.py);
- views marked ``@etag_from_version`` answer with ``ETag: W/"<version>"`` taken from the body;
- views marked ``@if_match`` document the ``If-Match`` header (the view reads it with
  ``expected_from_request``) and answer with the new ETag;
- a VersionConflict becomes 412/409 with the current version, the fields changed since and the ETag;
- the OpenAPI document lists these headers on the operations concerned."""

from __future__ import annotations

import json

from kehu.concurrency.idempotency import HEADER, run_idempotent
from kehu.concurrency.versioning import PreconditionRequired, VersionConflict, etag


def etag_from_version(view):
    """Mark a view whose JSON body carries ``version``: the answer gets the matching ETag."""
    view._kehu_etag = True
    return view


def if_match(view):
    """Mark a write that needs the version read (If-Match or body ``version``): documented and ETagged."""
    view._kehu_etag = True
    view._kehu_if_match = True
    return view


def if_match_optional(view):
    """Mark a step (a POST on an existing record) that checks If-Match / ``expected_version`` when sent."""
    view._kehu_etag = True
    view._kehu_if_match = "optional"
    return view


def _with_etag(response):
    if response.status_code < 300 and response.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
        if isinstance(body, dict) and isinstance(body.get("version"), int):
            response["ETag"] = etag(body["version"])
    return response


def idempotent(view):
    """Mark a POST that creates something without answering 201 (e.g. a request queued for approval,
    202) so that it honours Idempotency-Key like the creates."""
    view._kehu_idempotent = True
    return view


def _is_create(op) -> bool:
    return "POST" in op.methods and (201 in (op.response_models or {})
                                     or getattr(op.view_func, "_kehu_idempotent", False))


def _decorate(bound_run):
    """The API-wide "view" decorator: Ninja calls it with each operation's bound ``run`` when it binds
    the routers; operations that need nothing are returned unchanged."""
    op = bound_run.__self__
    create = _is_create(op)
    etagged = getattr(op.view_func, "_kehu_etag", False)
    mark = getattr(op.view_func, "_kehu_if_match", False)
    headers = (["idempotency"] if create else []) + (["if_match_optional"] if mark == "optional" else
                                                     ["if_match"] if mark else [])
    if headers:  # picked up by the OpenAPI post-processing below
        op.openapi_extra = {**(op.openapi_extra or {}), DOC_MARK: headers}
    if not create and not etagged:
        return bound_run

    def inner(request, kw):
        try:
            temporal_response = op.api.create_temporal_response(request)
            values = op._get_values(request, kw, temporal_response)
            result = op.view_func(request, **values)
            return op._result_to_response(request, result, temporal_response)
        except Exception as exc:  # the same path as Operation.run
            return op.api.on_exception(request, exc)

    def run(request, **kw):
        if not create:
            return _with_etag(bound_run(request, **kw)) if etagged else bound_run(request, **kw)
        error = op._run_checks(request)  # authentication, throttling: before any key is claimed
        if error:
            return error
        response = run_idempotent(op, request, lambda: inner(request, kw))
        return _with_etag(response) if etagged else response

    return run


DOC_MARK = "x-kehu-headers"
HEADER_DOCS = {
    "idempotency": {
        "name": HEADER, "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
        "description": "Any unique string (e.g. a UUID) per intended create. A retry with the same key and body "
                       "answers the first response again (header Idempotent-Replayed: true) without creating "
                       "anything; the same key with another body → 422 idempotency_key_reused; while the first "
                       "is still running → 409 idempotency_in_progress. Keys are per user and expire after "
                       "KEHU_IDEMPOTENCY ttl_hours (24 h by default)."},
    "if_match": {
        "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
        "description": "The ETag from GET (W/\"<version>\"). Required unless the body carries \"version\": "
                       "missing both → 428 precondition_required; stale → 412 version_conflict (409 when the "
                       "version came in the body) with error.current_version and error.changed_fields; "
                       "nothing is saved."},
    "if_match_optional": {
        "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
        "description": "Optional: the ETag from GET (W/\"<version>\"), or expected_version in the body. When sent "
                       "and stale → 412 (409 for the body field) with error.current_version and "
                       "error.changed_fields; nothing is saved."},
}


def install(api) -> None:
    """Hook versions and idempotency into ``api`` (call once, before its URLs are built) and document
    the headers in its OpenAPI document."""
    from kehu.api import error_response

    api.add_decorator(_decorate, mode="view")

    @api.exception_handler(VersionConflict)
    def _version_conflict(request, exc: VersionConflict):
        response = api.create_response(request, exc.as_dict(), status=exc.status)
        if exc.current_version is not None:
            response["ETag"] = etag(exc.current_version)
        return response

    @api.exception_handler(PreconditionRequired)
    def _precondition_required(request, exc: PreconditionRequired):
        return error_response(request, exc.status, exc.code, exc.message, exc.fields)

    original = api.get_openapi_schema

    def get_openapi_schema(*args, **kwargs):
        schema = original(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict):
                    continue
                for doc in operation.pop(DOC_MARK, ()):
                    params = operation.setdefault("parameters", [])
                    if not any(p.get("name") == HEADER_DOCS[doc]["name"] for p in params):
                        params.append(dict(HEADER_DOCS[doc]))
        return schema

    api.get_openapi_schema = get_openapi_schema
