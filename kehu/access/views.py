from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.forms import LoginForm
from kehu.access.services import login_check
from kehu.errors import DomainError


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
                target = "customers:list"
            return redirect(target)
    return render(request, "access/login.html", {"form": form}, status=200 if not form.errors else 400)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("access:login")
