"""What every HTML view shares: login for pages and htmx requests, DomainError → HTTP status, and
domain errors → form errors. Views stay parse → call a service/selector → render."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

from kehu.errors import DomainError

ERROR_TITLES = {
    400: _("Bad request"),
    401: _("Please log in"),
    403: _("Access denied"),
    404: _("Not found"),
    409: _("Conflict"),
    422: _("Not valid"),
    429: _("Too many attempts"),
}


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render_page(request: HttpRequest, full: str, fragment: str, context: dict, status: int = 200) -> HttpResponse:
    """The fragment for htmx, the full page otherwise; the response varies on the htmx header so a
    cache (or the browser's back button) never serves one for the other."""
    response = render(request, fragment if is_htmx(request) else full, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    context = {"status": exc.status, "title": ERROR_TITLES.get(exc.status, _("Error")), "message": exc.message}
    return render_page(request, "error.html", "_error.html", context, status=exc.status)


def page(view):
    """Decorate an HTML view: anonymous visitors go to the login page (htmx requests are redirected
    as a whole page, not swapped into a fragment), and a DomainError becomes its HTTP status with
    the message rendered — outside the actor's scope a record is a 404 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            if is_htmx(request):
                current = request.headers.get("HX-Current-URL", "")
                target = urlsplit(current).path or request.get_full_path()
                response = HttpResponse(status=204)
                response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': target})}"
                return response
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return render_error(request, exc)

    return wrapper


def form_errors_from(form: forms.Form, exc: DomainError, *, field_map: dict[str, str] | None = None) -> None:
    """Put a service's error on the form: each field message on its field (unknown fields, and the
    overall message, as non-field errors)."""
    field_map = field_map or {}
    for key, messages in exc.fields.items():
        name = field_map.get(key, key)
        for message in messages:
            if name in form.fields:
                form.add_error(name, message)
            elif message != exc.message:
                form.add_error(None, message)
    form.add_error(None, exc.message)


def form_submit(form: forms.Form, write, *, field_map: dict[str, str] | None = None) -> tuple[bool, object, int]:
    """Validate a bound form, then run ``write()`` (one service call): ``(ok, result, status)``.
    Invalid input answers 400; a refused write puts its message on the form and answers its own 4xx;
    403 and 404 propagate so @page shows them. On success the caller redirects."""
    if not form.is_valid():
        return False, None, 400
    try:
        return True, write(), 200
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        form_errors_from(form, exc, field_map=field_map)
        return False, None, exc.status


class StyledForm(forms.Form):
    """A form whose widgets carry Tabler's classes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            self.style(field)

    @staticmethod
    def style(field: forms.Field) -> forms.Field:
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
        return field

    def add_error(self, field, error):
        super().add_error(field, error)
        # Bootstrap shows the red border and the message below the widget for .is-invalid.
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
