from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from kehu.access.context import current_ip


class RequestContextMiddleware:
    """Remember the client IP for the audit log while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(request.META.get("REMOTE_ADDR"))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


class ChineseFirstMiddleware:
    """Pages are Chinese unless the user chose English with the language switch (a cookie): a
    browser's Accept-Language is not a choice. The API still honours Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """After an administrator's reset, every page sends the user to change the temporary password
    first (logging out, static files and the API are left alone; the API refuses the user's tokens:
    a reset revokes them)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = (reverse("access:password_change"), reverse("access:logout"), reverse("access:login"))
            path = request.path
            if path not in allowed and not path.startswith(("/static/", "/api/")):
                if request.headers.get("HX-Request") == "true":
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = allowed[0]
                    return response
                return redirect(allowed[0])
        return self.get_response(request)
