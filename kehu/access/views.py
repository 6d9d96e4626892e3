import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.access import selectors, services, throttle
from kehu.access.forms import LoginForm, PasswordChangeForm, TokenForm
from kehu.access.middleware import LOGIN_AT
from kehu.access.services import login_check
from kehu.errors import DomainError, NotFound
from kehu.web import form_errors_from, page

KNOWN_COOKIE, KNOWN_SALT = "kehu_known_login", "kehu.access.known-login"


def _known_accounts(request) -> list[str]:
    """The accounts this browser logged in as (a signed cookie set at each login: such a browser is a
    known place, never counted with strangers' failures)."""
    value = request.get_signed_cookie(KNOWN_COOKIE, default="", salt=KNOWN_SALT,
                                      max_age=throttle.conf()["known_days"] * 86400)
    return [a for a in value.split(".") if a]


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        account = throttle.account_id(username)
        try:
            user = login_check(request=request, username=username, password=form.cleaned_data["password"],
                               known_device=account in _known_accounts(request))
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 429 if exc.status == 429 else 400
            retry_after = getattr(exc, "retry_after", None)
        else:
            login(request, user)
            request.session[LOGIN_AT] = int(time.time())  # the absolute session lifetime counts from here
            target = request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
                target = settings.LOGIN_REDIRECT_URL  # the workbench
            response = redirect(target)
            known = [account] + [a for a in _known_accounts(request) if a != account]
            response.set_signed_cookie(KNOWN_COOKIE, ".".join(known[:5]), salt=KNOWN_SALT,
                                       max_age=throttle.conf()["known_days"] * 86400, httponly=True,
                                       secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
            return response
    if form.errors and status == 200:
        status = 400
    response = render(request, "access/login.html", {"form": form, "throttled": status == 429}, status=status)
    if retry_after:
        response["Retry-After"] = str(int(retry_after))
    return response


@require_POST
def logout_view(request):
    logout(request)
    return redirect("access:login")


# ---------------------------------------------------------------- personal API tokens

@page
@require_http_methods(["GET", "POST"])
def token_list(request):
    """My API tokens; creating one shows its clear key in this response only (it is never stored)."""
    form = TokenForm(request.POST or None)
    created, key, status = None, None, 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                created, key = services.token_create(actor=request.user, name=form.cleaned_data["name"])
            except DomainError as exc:
                status = exc.status
                form_errors_from(form, exc)
            else:
                status, form = 200, TokenForm()
    context = {"form": form, "tokens": list(selectors.token_list(actor=request.user)), "created": created,
               "key": key}
    response = render(request, "access/tokens.html", context, status=status)
    add_never_cache_headers(response)
    return response


@page
@require_POST
def token_revoke(request, token_id: int):
    token = services.token_revoke(actor=request.user, token_id=token_id)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("access:tokens")


# ---------------------------------------------------------------- passwords

@page
@require_http_methods(["GET", "POST"])
def password_change(request):
    """Change my password (also where a temporary password from a reset must be replaced)."""
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.password_change(actor=request.user, old_password=form.cleaned_data["old_password"],
                                         new_password=form.cleaned_data["new_password"])
            except DomainError as exc:
                status = exc.status
                form_errors_from(form, exc)
            else:
                update_session_auth_hash(request, request.user)  # stay logged in here
                messages.success(request, _("Your password has been changed."))
                return redirect("access:password_change")
    response = render(request, "access/password_change.html",
                      {"form": form, "forced": request.user.must_change_password}, status=status)
    add_never_cache_headers(response)
    return response


@page
@require_GET
def user_admin_list(request):
    """Users, for administrators: where a password is reset."""
    q = (request.GET.get("q") or "").strip()[:100]
    users = list(selectors.user_manage_list(actor=request.user, q=q)[:500])
    return render(request, "access/users.html", {"users": users, "q": q})


@page
@require_POST
def password_reset(request, user_id: int):
    """Set a temporary password (shown in this response only); the user must change it at next login."""
    user, temporary = services.password_reset(actor=request.user, user_id=user_id)
    response = render(request, "access/password_reset_done.html", {"target": user, "temporary": temporary})
    add_never_cache_headers(response)
    return response


@page
@require_GET
def user_token_list(request, user_id: int):
    """One user's API tokens, for administrators, who may revoke any of them."""
    target, tokens = selectors.token_list_of_user(actor=request.user, user_id=user_id)
    response = render(request, "access/user_tokens.html", {"target": target, "tokens": list(tokens[:200])})
    add_never_cache_headers(response)
    return response


@page
@require_POST
def user_token_revoke(request, user_id: int, token_id: int):
    target, tokens = selectors.token_list_of_user(actor=request.user, user_id=user_id)
    if not tokens.filter(pk=token_id).exists():
        raise NotFound(_("No such token."))
    token = services.token_revoke(actor=request.user, token_id=token_id)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("access:user_tokens", user_id=target.pk)


@page
@require_POST
def user_deactivate(request, user_id: int):
    user = services.user_deactivate(actor=request.user, user_id=user_id)
    messages.success(request, _("%(user)s is deactivated; their sessions and API tokens have ended.") % {"user": user})
    return redirect("access:users")


@page
@require_POST
def user_reactivate(request, user_id: int):
    user = services.user_reactivate(actor=request.user, user_id=user_id)
    messages.success(request, _("%(user)s can log in again.") % {"user": user})
    return redirect("access:users")
