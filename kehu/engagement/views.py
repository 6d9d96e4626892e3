"""Follow-up pages (跟进记录): the list (mine / my team's, overdue), quick entry on a phone, the detail with its
next step and attachments, the managers' team overdue view, and the customer 360 page's card. Parse → call a
service/selector → render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.roles import Perm, Scope
from kehu.customers.selectors import customer_base, customer_get, customer_search_filter
from kehu.engagement import selectors, services
from kehu.engagement.api import attachment_response
from kehu.engagement.forms import QUICK_CHANNELS, FilterForm, InteractionForm
from kehu.engagement.models import Channel, Interaction
from kehu.errors import Forbidden, Invalid
from kehu.web import form_submit, page

PAGE_SIZE = 30
SEARCH_LIMIT = 8


def _can_write(user) -> bool:
    return user.has_kehu_perm(Perm.INTERACTION_WRITE)


def _is_team_viewer(user) -> bool:
    return user.role_spec.scope in (Scope.SUBTREE, Scope.ALL)


@page
@require_http_methods(["GET"])
def interaction_list_page(request):
    user = request.user
    team = _is_team_viewer(user)
    view = request.GET.get("view") or ("team" if team else "mine")
    owners = []
    if team:
        from kehu.customers.selectors import customer_owner_filter_list

        owners = list(customer_owner_filter_list(actor=user))
    form = FilterForm(request.GET or None, owners=owners)
    filters: dict = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {k: data.get(k) or None for k in ("channel", "owner", "date_from", "date_to", "customer")}
        filters["overdue"] = bool(data.get("overdue"))
    customer = None
    if filters.get("customer"):
        customer = customer_get(actor=user, customer_id=filters["customer"])
    page_ = selectors.interaction_list(actor=user, mine=(view == "mine"), limit=PAGE_SIZE,
                                       cursor=request.GET.get("cursor") or None,
                                       **{k: v for k, v in filters.items() if v not in (None, False)})
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "engagement/list.html", {
        "items": page_.items, "next": page_.next, "form": form, "view": view, "team": team,
        "can_write": _can_write(user), "today": timezone.localdate(), "customer": customer,
        "query": query.urlencode(), "overdue": filters.get("overdue", False)})


def _recent_customers(user) -> list:
    """The actor's last few customers contacted (one tap on the quick entry form)."""
    rows = (selectors.interaction_base(actor=user).filter(owner_id=user.pk).order_by("-occurred_at", "-id")
            .values_list("customer_id", "customer__name")[:30])
    seen: dict[int, str] = {}
    for pk, name in rows:
        seen.setdefault(pk, name)
    return list(seen.items())[:5]


@page
@require_http_methods(["GET", "POST"])
def interaction_new(request):
    user = request.user
    services.require_write(user)
    customer = None
    raw = request.POST.get("customer") or request.GET.get("customer")
    if raw and str(raw).isdigit():
        customer = customer_base(actor=user).filter(pk=int(raw)).prefetch_related("contacts").first()
    contacts = list(customer.contacts.all()) if customer else []
    form, status = InteractionForm(initial={"customer": customer.pk if customer else None,
                                            "channel": request.GET.get("channel") or ""}, contacts=contacts), 200
    if request.method == "POST":
        form = InteractionForm(request.POST, request.FILES, contacts=contacts)

        def write():
            data = dict(form.cleaned_data)
            photo = data.pop("photo", None)
            if customer is None:
                raise Invalid(_("Choose a customer."), fields={"customer": [_("Choose a customer.")]})
            data["customer"] = customer.pk
            data["contacts"] = [int(c) for c in data.get("contacts") or []]
            files = [(photo.name, photo.chunks())] if photo else None
            return services.interaction_create(actor=user, data=data, files=files)

        ok, result, status = form_submit(form, write)
        if ok:
            interaction, replayed = result
            messages.success(request, _("Follow-up saved.") if not replayed else _("This follow-up was saved before."))
            if request.POST.get("another"):
                return redirect(reverse("engagement:create"))
            return redirect("engagement:detail", interaction.pk)
    return render(request, "engagement/form.html", {
        "form": form, "customer": customer, "recent": _recent_customers(user),
        "channels": [(c.value, c.label) for c in Channel], "quick_channels": [c.value for c in QUICK_CHANNELS],
        "interaction": None}, status=status)


@page
@require_http_methods(["GET"])
def customer_search(request):
    """Customers in scope matching the search box (name, pinyin, initials, phone), as one-tap choices (htmx)."""
    q = (request.GET.get("q") or "").strip()[:100]
    found = []
    if q:
        found = list(customer_search_filter(customer_base(actor=request.user), q).only("id", "name", "city")
                     .order_by("name_sort", "id")[:SEARCH_LIMIT])
    return render(request, "engagement/_customer_choices.html", {"found": found, "q": q})


@page
@require_http_methods(["GET"])
def interaction_detail(request, interaction_id: int):
    user = request.user
    interaction = selectors.interaction_get(actor=user, interaction_id=interaction_id)
    return render(request, "engagement/detail.html", _detail_context(user, interaction))


def _detail_context(user, interaction: Interaction) -> dict:
    write = _can_write(user)
    return {"it": interaction, "can_edit": services.can_edit(user, interaction),
            "can_step": write and (services.is_manager(user) or user.pk in (interaction.owner_id,
                                                                             interaction.recorded_by_id)),
            "can_attach": write, "today": timezone.localdate(),
            "overdue": bool(interaction.next_step and interaction.next_step_due and not interaction.next_step_done_at
                            and interaction.next_step_due < timezone.localdate())}


@page
@require_http_methods(["GET", "POST"])
def interaction_edit(request, interaction_id: int):
    user = request.user
    services.require_write(user)
    interaction = selectors.interaction_get(actor=user, interaction_id=interaction_id)
    if not services.can_edit(user, interaction):
        raise Forbidden(_("The edit window has passed, or you did not record this follow-up."))
    contacts = list(interaction.customer.contacts.all())
    initial = {"channel": interaction.channel, "summary": interaction.summary, "outcome": interaction.outcome,
               "next_step": interaction.next_step, "next_step_due": interaction.next_step_due,
               "direction": interaction.direction,
               "occurred_at": timezone.localtime(interaction.occurred_at).replace(tzinfo=None),
               "contacts": [str(c.pk) for c in interaction.contacts.all()]}
    form, status = InteractionForm(initial=initial, contacts=contacts, edit=True), 200
    if request.method == "POST":
        form = InteractionForm(request.POST, contacts=contacts, edit=True)

        def write():
            data = dict(form.cleaned_data)
            data["contacts"] = [int(c) for c in data.get("contacts") or []]
            if data.get("occurred_at") is None:
                data.pop("occurred_at")
            return services.interaction_update(actor=user, interaction_id=interaction_id, data=data)

        ok, _result, status = form_submit(form, write)
        if ok:
            messages.success(request, _("Follow-up corrected."))
            return redirect("engagement:detail", interaction_id)
    return render(request, "engagement/form.html", {
        "form": form, "customer": interaction.customer, "interaction": interaction,
        "channels": [(c.value, c.label) for c in Channel], "quick_channels": [c.value for c in Channel],
        "recent": []}, status=status)


@page
@require_POST
def next_step_done(request, interaction_id: int):
    services.interaction_next_step_done(actor=request.user, interaction_id=interaction_id)
    messages.success(request, _("Next step done."))
    return redirect(request.POST.get("next") if _safe(request.POST.get("next")) else
                    reverse("engagement:detail", args=[interaction_id]))


@page
@require_POST
def next_step_reopen(request, interaction_id: int):
    services.interaction_next_step_reopen(actor=request.user, interaction_id=interaction_id)
    messages.success(request, _("Next step reopened."))
    return redirect("engagement:detail", interaction_id)


def _safe(url) -> bool:
    return isinstance(url, str) and url.startswith("/") and not url.startswith("//")


@page
@require_POST
def attachment_upload(request, interaction_id: int):
    services.require_write(request.user)
    upload = request.FILES.get("file")
    if upload is None:
        raise Invalid(_("Choose a file."), fields={"file": [_("Choose a file.")]})
    try:
        with transaction.atomic():
            services.attachment_add(actor=request.user, interaction_id=interaction_id, file_name=upload.name,
                                    chunks=upload.chunks())
    except Invalid as exc:
        messages.error(request, exc.message)
        interaction = selectors.interaction_get(actor=request.user, interaction_id=interaction_id)
        return render(request, "engagement/detail.html", _detail_context(request.user, interaction),
                      status=exc.status)
    messages.success(request, _("Attachment added."))
    return redirect("engagement:detail", interaction_id)


@page
@require_http_methods(["GET"])
def attachment_download(request, interaction_id: int, attachment_id: int):
    attachment = selectors.attachment_get(actor=request.user, interaction_id=interaction_id,
                                          attachment_id=attachment_id)
    return attachment_response(attachment)


@page
@require_http_methods(["GET"])
def team_overdue_page(request):
    """Managers: the open next steps past their date over the department subtree, per account manager."""
    user = request.user
    if not _is_team_viewer(user):
        raise Forbidden(_("The team's overdue follow-ups are for managers."))
    return render(request, "engagement/team_overdue.html", {
        "items": selectors.team_overdue(actor=user), "by_owner": selectors.team_overdue_by_owner(actor=user),
        "today": timezone.localdate()})


@page
@require_http_methods(["GET"])
def customer_card(request, customer_id: int):
    """The customer 360 page's card: last contact, next open step, a button to record one (htmx)."""
    user = request.user
    customer = customer_get(actor=user, customer_id=customer_id)
    summary = selectors.summary_get(actor=user, customer_id=customer_id)
    today = timezone.localdate()
    return render(request, "engagement/_customer_card.html", {
        "customer": customer, "summary": summary, "can_write": _can_write(user), "today": today,
        "quiet_days": (today - timezone.localtime(summary.last_contact_at).date()).days
        if summary and summary.last_contact_at else None,
        "overdue": bool(summary and summary.next_step_due and summary.next_step_due < today)})


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)
