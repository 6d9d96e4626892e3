from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.access import selectors, services
from kehu.access.forms import LoginForm, PasswordChangeForm, TokenForm
from kehu.access.services import login_check
from kehu.errors import DomainError
from kehu.web import form_errors_from, page


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = login_check(request=request, username=form.cleaned_data["username"],
                               password=form.cleaned_data["password"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user)
            target = request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
                target = settings.LOGIN_REDIRECT_URL  # the workbench
            return redirect(target)
    return render(request, "access/login.html", {"form": form}, status=200 if not form.errors else 400)


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
