"""The audit log viewer, for the roles holding audit.read (the selector refuses everyone else)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.apps import apps as django_apps
from django.core.exceptions import FieldDoesNotExist
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kehu.access.models import User
from kehu.audit import selectors
from kehu.audit.forms import AuditFilterForm
from kehu.audit.labels import PERSON_KEYS, action_label, change_label
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
    names = _people_named_in(result.items)
    params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v}
    context = {
        "form": form,
        "entries": [{"entry": e, "changes": _changes(e.changes, names, e.object_type), "label": action_label(e.action)}
                    for e in result.items],
        "filtered": bool(params),
        "unsealed": selectors.audit_unsealed_count(actor=request.user),
        "next_url": f"?{urlencode({**params, 'cursor': result.next})}" if result.next else None,
        "first_url": f"?{urlencode(params)}" if cursor else None,
    }
    return render(request, "audit/list.html", context)


def _people_named_in(entries) -> dict[str, str]:
    """Login name → person's name for the login names recorded in these entries' changes (one query)."""
    logins: set[str] = set()
    for e in entries:
        for key, value in (e.changes.items() if isinstance(e.changes, dict) else ()):
            if key in PERSON_KEYS:
                logins.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    if not logins:
        return {}
    return {u.username: str(u) for u in User.objects.filter(username__in=logins).only("username", "display_name")}


def _choice_labels(object_type: str, key: str) -> dict:
    """The labels of a coded field of the audited model (a complaint's state 'answered' → 已答复客户), read
    from the model's own choices; {} where the key is not such a field."""
    try:
        field = django_apps.get_model(object_type)._meta.get_field(key)
    except (LookupError, ValueError, FieldDoesNotExist):
        return {}
    return {code: label for code, label in (field.flatchoices or ()) if code not in (None, "")}


def _changes(changes, names: dict[str, str] | None = None, object_type: str = "") -> list[tuple[str, str, str | None]]:
    """(field label, old, new) for [old, new] pairs; (label, value, None) for plain values; login names
    shown as people's names, codes by their labels."""
    if not isinstance(changes, dict):
        return [("", str(changes), None)]
    names = names or {}
    rows = []
    for key, value in changes.items():
        codes = _choice_labels(object_type, key) if object_type else {}
        if codes:
            value = [codes.get(v, v) if isinstance(v, str) else v for v in value] if isinstance(value, list) \
                else (codes.get(value, value) if isinstance(value, str) else value)
        if key in PERSON_KEYS:
            value = [names.get(v, v) if isinstance(v, str) else v for v in value] if isinstance(value, list) \
                else names.get(value, value)
        label = change_label(key)
        if isinstance(value, list) and len(value) == 2 and key != "to":
            rows.append((label, _text(value[0]), _text(value[1])))
        else:
            rows.append((label, _text(value), None))
    return rows


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:  # an ISO date-time recorded by a service: shown in local time like the rest of the page
            return f"{timezone.localtime(dt.datetime.fromisoformat(value)):%Y-%m-%d %H:%M}"
        except ValueError:
            return value
    return str(value)
