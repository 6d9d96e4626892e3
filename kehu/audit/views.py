"""The audit log viewer, for the roles holding audit.read (the selector refuses everyone else)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from kehu.audit import selectors
from kehu.audit.forms import AuditFilterForm
from kehu.audit.labels import action_label
from kehu.pagination import paginate
from kehu.web import page

PAGE_SIZE = 50


@page
@require_http_methods(["GET"])
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    form.is_valid()
    filters = form.selector_args()
    qs = selectors.audit_list(actor=request.user, action=filters["action"], object_type=filters["object_type"],
                              object_id=filters["object_id"], actor_query=filters["actor"],
                              date_from=filters["date_from"], date_to=filters["date_to"])
    cursor = request.GET.get("cursor") or None
    result = paginate(qs, ordering="-id", allowed={"id": int}, limit=PAGE_SIZE, cursor=cursor)
    params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v}
    context = {
        "form": form,
        "entries": [{"entry": e, "changes": _changes(e.changes), "label": action_label(e.action)}
                    for e in result.items],
        "filtered": bool(params),
        "next_url": f"?{urlencode({**params, 'cursor': result.next})}" if result.next else None,
        "first_url": f"?{urlencode(params)}" if cursor else None,
    }
    return render(request, "audit/list.html", context)


def _changes(changes) -> list[tuple[str, str, str | None]]:
    """(field, old, new) for [old, new] pairs; (key, value, None) for plain values."""
    if not isinstance(changes, dict):
        return [("", str(changes), None)]
    rows = []
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            rows.append((key, _text(value[0]), _text(value[1])))
        else:
            rows.append((key, _text(value), None))
    return rows


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)
