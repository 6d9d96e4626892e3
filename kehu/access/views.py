from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access import selectors, services
from kehu.access.forms import LoginForm, TokenForm
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
