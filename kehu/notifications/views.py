"""The notifications page behind the bell. Parse → call a service/selector → render."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from kehu.notifications import selectors, services
from kehu.web import page


@page
@require_GET
def notification_page(request):
    show_all = request.GET.get("all") == "1"
    result = selectors.notification_list(actor=request.user, unread=not show_all,
                                         cursor=request.GET.get("cursor") or None)
    return render(request, "notifications/list.html", {"page": result, "items": result.items, "show_all": show_all})


@page
@require_POST
def notification_read(request, notification_id: int):
    item = services.notification_mark_read(actor=request.user, notification_id=notification_id)
    # "Open" follows the notification's link, when it points into this site.
    if request.POST.get("follow") and item.link and url_has_allowed_host_and_scheme(
            item.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(item.link)
    return redirect("notifications:list")


@page
@require_POST
def notification_read_all(request):
    services.notification_mark_all_read(actor=request.user)
    return redirect("notifications:list")
