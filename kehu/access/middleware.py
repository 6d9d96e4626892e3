import time
from functools import partial

from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    _get_user_session_key,
    get_user,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import auser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from kehu.access import authcache
from kehu.access.client_ip import client_ip
from kehu.access.context import current_ip


class RequestContextMiddleware:
    """Remember the client IP for the audit log while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
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
    first, and the API (with the session) answers 403 except for changing the password; the user's
    tokens were revoked by the reset and no new one is issued until then."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = (reverse("access:password_change"), reverse("access:logout"), reverse("access:login"))
            path = request.path
            if path.startswith("/api/") and not path.endswith("/auth/password"):
                return JsonResponse({"error": {"code": "password_change_required",
                                               "message": str(_("Change your temporary password first.")),
                                               "fields": {}}}, status=403)
            if path not in allowed and not path.startswith(("/static/", "/api/")):
                if request.headers.get("HX-Request") == "true":
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = allowed[0]
                    return response
                return redirect(allowed[0])
        return self.get_response(request)


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware (saving on every request, so the cookie age is an idle timeout),
    except that a background read — an htmx or fetch() GET that a page makes (header badges, charts, a
    duplicate hint while typing, a list filtered in place) — saves the session at most once a minute.
    Such reads still count as activity, but the several requests a page fires at once no longer all
    write the session row."""

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if (_background_read(request) and not session.modified
                    and now - session.get(SAVED_AT, 0) < BACKGROUND_SAVE_SECONDS):
                patch_vary_headers(response, ("Cookie",))
                return response
            if session.get(SAVED_AT) != now:
                session[SAVED_AT] = now
        return super().process_response(request, response)


SAVED_AT = "_kehu_saved_at"
BACKGROUND_SAVE_SECONDS = 60


def _background_read(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted") \
            and not request.headers.get("HX-History-Restore-Request"):
        return True
    # fetch()/XMLHttpRequest from a page: browsers send Sec-Fetch-Dest "empty" (a navigation says "document")
    return request.headers.get("Sec-Fetch-Dest") == "empty"


LOGIN_AT = "_kehu_login_at"


class AbsoluteSessionMiddleware:
    """A session ends KEHU_SESSION_MAX_HOURS after its login, however active it is (the idle timeout
    alone would let a session live for ever). Pages go to the login page, the API answers 401."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.contrib.auth import logout

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            started = request.session.get(LOGIN_AT)
            if started is None:  # a session from before this rule: its clock starts now
                request.session[LOGIN_AT] = now
            elif now - started > settings.KEHU_SESSION_MAX_HOURS * 3600:
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": {"code": "session_expired",
                                                   "message": str(_("Your session has ended; please log in again.")),
                                                   "fields": {}}}, status=401)
                if request.headers.get("HX-Request") == "true":
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse(settings.LOGIN_URL)
                    return response
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class NoStoreMiddleware:
    """Responses that may carry personal data — every API answer and every page seen logged in — are
    not to be kept by browsers or proxies (Cache-Control: no-store), so the back button or a shared
    computer does not show a customer's data after logout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(("/static/",)):
            return response
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response


def _session_user(request):
    """django.contrib.auth.get_user, with the user row from kehu.access.authcache when it is there (the same
    session checks: the backend, the session hash, an inactive user is nobody)."""
    from django.conf import settings

    try:
        user_id = _get_user_session_key(request)
        backend_path = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS or not authcache.ttl():
        return get_user(request)
    backend = load_backend(backend_path)
    if type(backend) is not ModelBackend:
        return get_user(request)
    user = authcache.user_get(user_id)
    session_hash = request.session.get(HASH_SESSION_KEY)
    if user is not None and backend.user_can_authenticate(user) and session_hash \
            and constant_time_compare(session_hash, user.get_session_auth_hash()):
        return user
    # Django's own path on the row itself (fallback secrets, cycling, flushing), then cached for the next request
    user = get_user(request)
    if user.is_authenticated:
        authcache.user_put(user)
    return user


class CachedAuthenticationMiddleware:
    """Django's AuthenticationMiddleware, the session's user read through kehu.access.authcache (no query per
    request once cached; lazily, so a request that never looks at the user costs nothing)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = SimpleLazyObject(lambda: _session_user(request))
        request.auser = partial(auser, request)
        return self.get_response(request)
