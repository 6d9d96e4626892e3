"""HTML views of the customer archive: parse → call a selector/service → render. Scope, masking,
validation and audit all live in the services and selectors."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from itertools import groupby
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.models import Department, User
from kehu.access.roles import Perm
from kehu.concurrency.forms import (
    add_version_fields,
    conflict_rows,
    form_expected,
    refreshed_data,
    user_changed_fields,
)
from kehu.concurrency.versioning import VersionConflict
from kehu.customers import selectors, services
from kehu.customers.forms import (
    BASIS_FIELD_MAP,
    CUSTOM_PREFIX,
    REGION_FIELDS,
    ConsentForm,
    ContactEditForm,
    ContactForm,
    CustomerFilterForm,
    CustomerForm,
    CustomFieldForm,
    TagForm,
)
from kehu.customers.models import (
    Consent,
    ConsentStatus,
    Contact,
    ContactRole,
    Customer,
    CustomerKind,
    Stage,
    Status,
)
from kehu.customers.review.models import ItemState, ReviewItem
from kehu.customers.validation import InvalidValue, normalize_uscc
from kehu.errors import BadRequest, Conflict, DomainError, Forbidden, Invalid, NotFound
from kehu.web import form_errors_from, is_htmx, page, render_page

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 20
COMPLAINT_PAGE_SIZE = 20
FILTER_KEYS = ("q", "industry", "city", "stage", "status", "tag", "owner", "department", "grade_policy", "grade",
               "mine", "ordering")
# Column → the direction a first click sorts in (names A→Z, dates newest first).
SORTABLE = {"name": "name", "updated_at": "-updated_at", "created_at": "-created_at"}


def _require(request, perm: str) -> None:
    """Refuse a page (403) to a role the service would refuse anyway, before showing its form."""
    if not request.user.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def _form_error_status(form, exc: DomainError) -> int:
    """A service refusal outside the form's reach (403/404) is a page error; the rest go on the form."""
    if exc.status in (403, 404):
        raise exc
    return exc.status


# ---------------------------------------------------------------- list

@page
@require_http_methods(["GET"])
def customer_list(request):
    actor = request.user
    tags = list(selectors.tag_list(actor=actor))
    owners = list(selectors.customer_owner_filter_list(actor=actor))
    departments = list(selectors.customer_department_filter_list(actor=actor))
    grades = selectors.grade_filter_choices()
    form = CustomerFilterForm(request.GET or None, tags=tags, owners=owners, departments=departments, grades=grades)
    form.is_valid()
    args = form.selector_args()
    result, count = selectors.customer_list_counted(actor=actor, limit=PAGE_SIZE, **args)
    filters = {k: v for k, v in args.items() if k in FILTER_KEYS and v not in (None, "", False)}
    if filters.get("mine"):
        filters["mine"] = "1"
    if filters.get("ordering") == "-updated_at":
        filters.pop("ordering")
    context = {
        "form": form,
        "page": result,
        "customers": result.items,
        "count": count,
        "ordering": args["ordering"],
        "columns": _sort_columns(args["ordering"], filters),
        "filtered": any(k != "ordering" for k in filters),
        # 我的客户 is a filter only for someone who sees more than their own customers.
        "show_scope_filters": len(owners) > 1 or len(departments) > 1,
        "show_grade_filters": bool(grades),
        "grade_groups": grades,
        # One grading policy in force: its name goes without saying in the grade column.
        "single_grade_policy": len(grades) == 1,
        "mine_url": "?" + urlencode({k: v for k, v in filters.items() if k != "mine"} | (
            {} if args["mine"] else {"mine": "1"})),
        "next_url": f"?{urlencode({**filters, 'cursor': result.next})}" if result.next else None,
        "prev_url": f"?{urlencode({**filters, 'cursor': result.prev})}" if result.prev else None,
        "first_url": f"?{urlencode(filters)}" if result.prev else None,
    }
    return render_page(request, "customers/list.html", "customers/_customer_rows.html", context)


def _sort_columns(ordering: str, filters: dict) -> dict:
    columns = {}
    for field, first in SORTABLE.items():
        if ordering == first:
            target = first[1:] if first.startswith("-") else f"-{first}"
        else:
            target = first
        columns[field] = {
            "url": "?" + urlencode({**filters, "ordering": target}),
            "active": ordering.lstrip("-") == field,
            "descending": ordering.startswith("-"),
        }
    return columns


# ---------------------------------------------------------------- 360° page

@page
@require_http_methods(["GET"])
def customer_detail(request, customer_id: int):
    try:
        context = _detail_context(request, customer_id)
    except NotFound:
        try:
            return _assigned_detail(request, customer_id)
        except NotFound:
            pass
        # A merged-away customer's old link leads to the record that absorbed it, with a notice.
        target = selectors.customer_merged_into(actor=request.user, customer_id=customer_id)
        if target is None:
            raise
        messages.info(request, _("Customer #%(old)s was merged into this record.") % {"old": customer_id})
        return redirect("customers:detail", target)
    context["merges"] = _merges_absorbed(request, context["customer"])  # customers/merge_banner.html
    context["can_merge"] = request.user.has_kehu_perm(Perm.CUSTOMER_MERGE)
    return render(request, "customers/detail.html", context)


def _assigned_detail(request, customer_id: int) -> HttpResponse:
    """The page of a customer outside the user's scope that the user is assigned to work on: masked, read-only
    (no edit, delete or reveal; writes stay refused by the services), without consents and timeline; audited."""
    customer = services.customer_open_assigned(actor=request.user, customer_id=customer_id)
    contacts = list(customer.contacts.all())
    names = {c.pk: c.name for c in contacts}
    for c in contacts:
        c.superior_name = names.get(c.reports_to_id, "")
    labels = {d.key: d.label for d in selectors.custom_field_list(actor=request.user)}
    context = {
        "customer": customer, "is_person": customer.kind == CustomerKind.PERSON, "tags": list(customer.tags.all()),
        "custom_values": [(labels.get(k, k), _display(v)) for k, v in sorted(customer.custom.items())],
        "contacts": contacts, "org_chart": _org_chart(contacts), "consents": [], "timeline": [],
        "history_next": None, "complaints": [], "merges": [], "read_only": True,
        # The page's buttons follow these (the context processor's values are the user's role in general).
        "can_write_customers": False, "can_delete_customers": False, "can_handle_privacy": False,
        "can_merge": False, "can_handle_complaints": False,
    }
    return render(request, "customers/detail.html", context)


def _detail_context(request, customer_id: int, *, consent_form: ConsentForm | None = None) -> dict:
    customer = selectors.customer_detail(actor=request.user, customer_id=customer_id)
    contacts = list(customer.contacts.all())
    names = {c.pk: c.name for c in contacts}
    for c in contacts:
        c.superior_name = names.get(c.reports_to_id, "")
    history = selectors.history_list(actor=request.user, customer_id=customer_id, limit=HISTORY_PAGE_SIZE)
    definitions = list(selectors.custom_field_list(actor=request.user))
    labels = {d.key: d.label for d in definitions}
    return {
        "customer": customer,
        "is_person": customer.kind == CustomerKind.PERSON,
        "tags": list(customer.tags.all()),
        "custom_values": [(labels.get(k, k), _display(v)) for k, v in sorted(customer.custom.items())],
        "contacts": contacts,
        "org_chart": _org_chart(contacts),
        "consents": list(customer.consents.all()),
        "consent_form": consent_form or ConsentForm(contacts=customer.contacts.order_by("id")),
        "timeline": _timeline(history.items, contacts, labels),
        "history_next": history.next,
        "complaints": _complaints(request, customer_id),
        "service_level": _service_level(customer.pk),
    }


def _service_level(customer_id: int):
    """What the customer's grade earns (one query; None when ungraded or its grade has no service policy)."""
    from kehu.grading.selectors import service_policy_for

    return service_policy_for(customer_id)


def _complaints(request, customer_id: int) -> list:
    """The customer's complaints in the actor's scope, for those who handle complaints."""
    if not request.user.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        return []
    from kehu.service_desk.selectors import complaint_list

    return complaint_list(actor=request.user, customer=customer_id, ordering="-received_at",
                          limit=COMPLAINT_PAGE_SIZE).items


@page
@require_http_methods(["GET"])
def customer_history(request, customer_id: int):
    """Older timeline entries, appended under the ones shown (htmx)."""
    history = selectors.history_list(actor=request.user, customer_id=customer_id, limit=HISTORY_PAGE_SIZE,
                                     cursor=request.GET.get("cursor") or None)
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    labels = {d.key: d.label for d in selectors.custom_field_list(actor=request.user)}
    context = {"customer": customer, "timeline": _timeline(history.items, list(customer.contacts.all()), labels),
               "history_next": history.next}
    return render(request, "customers/_timeline_items.html", context)


def _org_chart(contacts: list[Contact]) -> list[dict]:
    """The decision chain as a forest: roots are contacts without a superior among the contacts."""
    by_id = {c.pk: c for c in contacts}
    children: dict[int, list[Contact]] = defaultdict(list)
    roots = []
    for c in contacts:
        if c.reports_to_id in by_id and c.reports_to_id != c.pk:
            children[c.reports_to_id].append(c)
        else:
            roots.append(c)
    seen: set[int] = set()

    def node(c: Contact) -> dict:
        seen.add(c.pk)
        return {"contact": c, "children": [node(k) for k in children[c.pk] if k.pk not in seen]}

    forest = [node(r) for r in roots]
    # A loop (which the services refuse) would leave contacts unreachable: show them as roots.
    forest += [node(c) for c in contacts if c.pk not in seen]
    return forest


# ---------------------------------------------------------------- timeline formatting

OBJECT_LABELS = {"customer": Customer._meta.verbose_name, "contact": Contact._meta.verbose_name,
                 "consent": Consent._meta.verbose_name,
                 "reviewitem": pgettext_lazy("change object", "Periodic review item")}
TIMELINE_MODELS = {"customer": Customer, "contact": Contact, "consent": Consent, "reviewitem": ReviewItem}
ACTION_LABELS = {
    "create": pgettext_lazy("change action", "created"),
    "update": pgettext_lazy("change action", "changed"),
    "delete": pgettext_lazy("change action", "deleted"),
    "withdraw": pgettext_lazy("change action", "withdrawn"),
    "erase": pgettext_lazy("change action", "personal data erased"),
    "merge": pgettext_lazy("change action", "merged"),
    "merge_undo": pgettext_lazy("change action", "merge undone"),
    "review": pgettext_lazy("change action", "reviewed"),
}
# Never show an internal code: an object or action the timeline does not know yet reads generically.
UNKNOWN_OBJECT = pgettext_lazy("change object", "Record")
UNKNOWN_ACTION = pgettext_lazy("change action", "changed")
CHOICES = {
    "kind": dict(CustomerKind.choices),
    "stage": dict(Stage.choices),
    "status": dict(Status.choices) | dict(ConsentStatus.choices),
    "role": dict(ContactRole.choices),
    "state": dict(ItemState.choices),
}
FIELD_ALIASES = {"mobile": "mobile_masked", "id_number": "id_number_masked"}


def _field_label(model, key: str, custom_labels: dict) -> str:
    if key == "tags":
        return str(Customer._meta.get_field("tags").verbose_name)
    if key == "custom":
        return str(Customer._meta.get_field("custom").verbose_name)
    try:
        return str(model._meta.get_field(FIELD_ALIASES.get(key, key)).verbose_name)
    except FieldDoesNotExist:
        return custom_labels.get(key, key)


def _display(value, names: dict | None = None, choices: dict | None = None) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "、".join(_display(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}={_display(v)}" for k, v in value.items()) or "—"
    if names is not None and value in names:
        return names[value]
    if choices is not None and value in choices:
        return str(choices[value])
    return str(value)


def _timeline(records, contacts: list[Contact], custom_labels: dict) -> list[dict]:
    """ChangeRecords as rows a person reads: what, who, when, each field old → new."""
    models = TIMELINE_MODELS
    user_ids, dept_ids = set(), set()
    for r in records:
        for key, field in (("owner", user_ids), ("department", dept_ids)):
            pair = r.changes.get(key)
            if isinstance(pair, list):
                field.update(v for v in pair if isinstance(v, int))
    names = {
        "owner": {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {},
        "department": dict(Department.objects.filter(pk__in=dept_ids).values_list("pk", "name")) if dept_ids else {},
        "reports_to": {c.pk: c.name for c in contacts},
    }
    rows = []
    for r in records:
        model = models.get(r.object_type, Customer)
        changes = []
        for key, pair in r.changes.items():
            if key == "custom" and isinstance(pair, list) and len(pair) == 2:
                old, new = (pair[0] or {}), (pair[1] or {})
                for k in sorted(set(old) | set(new)):
                    if old.get(k) != new.get(k):
                        changes.append((custom_labels.get(k, k), _display(old.get(k)), _display(new.get(k))))
                continue
            old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            old_text = _display(old, names.get(key), CHOICES.get(key))
            new_text = _display(new, names.get(key), CHOICES.get(key))
            if old_text != new_text:  # a field created empty says nothing
                changes.append((_field_label(model, key, custom_labels), old_text, new_text))
        rows.append({"record": r, "object_label": OBJECT_LABELS.get(r.object_type, UNKNOWN_OBJECT),
                     "action_label": ACTION_LABELS.get(r.action, UNKNOWN_ACTION), "changes": changes,
                     "actor_label": _actor_label(r)})
    return rows


def _actor_label(record) -> str:
    """Who wrote a timeline entry: the person's display name (the login name only when they have
    none), "System" for background work; a deleted user keeps the name stored with the entry."""
    if record.actor_id and record.actor is not None:
        return str(record.actor)
    if not record.actor_name or record.actor_name == "system":
        return _("System")
    return record.actor_name


# ---------------------------------------------------------------- create and edit

def _customer_form(request, *, data=None, initial=None, customer=None) -> CustomerForm:
    owners = selectors.assignable_owner_list(actor=request.user)
    form = CustomerForm(data, initial=initial, owners=owners, tags=selectors.tag_list(actor=request.user),
                        custom_fields=list(selectors.custom_field_list(actor=request.user)),
                        editing=customer is not None)
    if customer is None:
        # Possible duplicates are looked up as the name is typed (debounced), before anything is saved.
        form.fields["name"].widget.attrs.update({
            "hx-get": reverse("customers:duplicate_hint"), "hx-trigger": "input changed delay:500ms, change",
            "hx-target": "#duplicate-hint", "hx-include": "[name=uscc], [name=kind]", "autocomplete": "off"})
    if customer is not None:
        # Owner left empty keeps the current one (who may no longer be assignable).
        form.fields["owner"].required = False
        form.fields["owner"].empty_label = _("Unchanged (%(owner)s)") % {"owner": customer.owner}
        form.fields["mobile"].widget.attrs["placeholder"] = customer.mobile_masked
        form.fields["id_number"].widget.attrs["placeholder"] = customer.id_number_masked
    return form


@page
@require_http_methods(["GET", "POST"])
def customer_create(request):
    form = _customer_form(request, data=request.POST or None, initial={"owner": request.user.pk})
    status, duplicates, restorable = 200, None, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                customer = services.customer_create(actor=request.user, data=form.service_data())
            except services.PossibleDuplicate as exc:
                # Not an error of the form: the duplicates are shown above it, to open one or confirm.
                status, duplicates = exc.status, {"candidates": exc.candidates, "elsewhere": exc.elsewhere}
            except services.UsccOfDeletedCustomer as exc:
                status = _form_error_status(form, exc)
                form_errors_from(form, exc, field_map=form.field_map(exc.fields))
                restorable = exc.restorable
            except DomainError as exc:
                status = _form_error_status(form, exc)
                form_errors_from(form, exc, field_map=form.field_map(exc.fields))
            else:
                messages.success(request, _("Customer “%(name)s” registered.") % {"name": customer.name})
                _warn(request, customer)
                return redirect("customers:detail", customer_id=customer.pk)
    return render(request, "customers/customer_form.html",
                  {"form": form, "customer": None, "duplicates": duplicates, "restorable": restorable}, status=status)


@page
@require_http_methods(["GET"])
def customer_duplicate_hint(request):
    """The create form's live hint (htmx): customers with the same name core as the name being typed, those in
    the user's scope by name, the others only counted."""
    _require(request, Perm.CUSTOMER_WRITE)
    name = (request.GET.get("name") or "").strip()[:200]
    found, elsewhere = [], 0
    if name and request.GET.get("kind", CustomerKind.ORGANIZATION) == CustomerKind.ORGANIZATION:
        try:
            uscc = normalize_uscc(request.GET["uscc"]) if request.GET.get("uscc") else ""
        except InvalidValue:  # half typed: not a filter yet
            uscc = ""
        found, elsewhere = selectors.customer_name_duplicates(actor=request.user, name=name, uscc=uscc)
    if not (found or elsewhere):
        return HttpResponse("")
    return render(request, "customers/_possible_duplicates.html",
                  {"duplicates": {"candidates": found, "elsewhere": elsewhere}})


def _warn(request, obj) -> None:
    """A write's warnings (e.g. the same mobile on another person) as messages on the next page."""
    for w in getattr(obj, "warnings", ()):
        messages.warning(request, w["message"])


@page
@require_POST
def customer_restore(request, customer_id: int):
    """Restore a soft-deleted customer (offered when its USCC is registered again)."""
    customer = services.customer_restore(actor=request.user, customer_id=customer_id)
    messages.success(request, _("Customer “%(name)s” restored.") % {"name": customer.name})
    return redirect("customers:detail", customer_id=customer.pk)


@page
@require_http_methods(["GET", "POST"])
def customer_edit(request, customer_id: int):
    """Edit a customer. Only the fields this user changed are written, and only if nobody changed the same
    fields since the page was loaded (kehu.concurrency.forms); otherwise both values are shown."""
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    form = _customer_edit_form(request, customer, data=request.POST or None)
    status, conflict = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            changed = user_changed_fields(form)
            try:
                updated = services.customer_update(actor=request.user, customer_id=customer.pk,
                                                   data=_changed_customer_data(form.service_data(), changed),
                                                   expected=form_expected(form))
            except VersionConflict as exc:
                status = 409
                customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
                fresh = _customer_edit_form(request, customer)
                form = _customer_edit_form(request, customer, data=refreshed_data(request.POST, fresh_form=fresh,
                                                                                  keep=changed))
                form.is_valid()
                conflict = conflict_rows(mine=form, theirs=fresh,
                                         names=_customer_form_fields(exc.conflicting, changed))
            except DomainError as exc:
                status = _form_error_status(form, exc)
                form_errors_from(form, exc, field_map=form.field_map(exc.fields))
            else:
                messages.success(request, _("Changes saved."))
                _warn(request, updated)
                return redirect("customers:detail", customer_id=customer.pk)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer, "conflict": conflict},
                  status=status)


def _customer_edit_form(request, customer, data=None) -> CustomerForm:
    initial = {f: getattr(customer, f) for f in CustomerForm.PLAIN}
    initial["tags"] = [t.pk for t in customer.tags.all()]
    initial.update({f"custom_{k}": ("true" if v else "false") if isinstance(v, bool) else v
                    for k, v in customer.custom.items()})
    form = _customer_form(request, data=data, initial=initial, customer=customer)
    add_version_fields(form, version=customer.version)
    return form


_CUSTOMER_RECORD_KEYS = {*CustomerForm.PLAIN, "owner", "tags", "custom", "mobile", "id_number",
                         *(f"{f}_code" for f in REGION_FIELDS)}


def _changed_customer_data(data: dict, changed: set[str]) -> dict:
    """The service data reduced to the fields this user changed (blank mobile / ID number were already
    left out: they keep the stored value); the legal basis and the duplicate confirmation always pass."""
    out = {k: v for k, v in data.items() if k not in _CUSTOMER_RECORD_KEYS or k in changed
           or k in ("mobile", "id_number")}
    custom = {k: v for k, v in (data.get("custom") or {}).items() if CUSTOM_PREFIX + k in changed}
    if custom:
        out["custom"] = custom
    if changed & set(REGION_FIELDS):
        out.update({k: v for k, v in data.items() if k.endswith("_code") and k[:-5] in REGION_FIELDS})
    return out


def _customer_form_fields(service_keys, changed: set[str]) -> list[str]:
    """The form fields behind the service's field names (region codes → the selects, custom → each
    custom field this user changed)."""
    names = []
    for key in service_keys:
        if key == "custom":
            names += sorted(n for n in changed if n.startswith(CUSTOM_PREFIX))
        elif key.endswith("_code") and key[:-5] in REGION_FIELDS:
            names.append(key[:-5])
        elif key != "department":
            names.append(key)
    return list(dict.fromkeys(names))


@page
@require_http_methods(["GET", "POST"])
def customer_delete(request, customer_id: int):
    """Confirm, then soft-delete the customer (roles holding customer.delete)."""
    _require(request, Perm.CUSTOMER_DELETE)
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    if request.method == "POST":
        services.customer_delete(actor=request.user, customer_id=customer.pk)
        messages.success(request, _("Customer “%(name)s” deleted.") % {"name": customer.name})
        return redirect("customers:list")
    return _confirm(request, customer=customer, title=_("Delete customer"), action=_("Delete customer"),
                    message=_("“%(name)s” leaves every list; its unified social credit code stays reserved for it, "
                              "so it can be restored. Its history and the audit log are kept.") % {"name": customer.name})


def _confirm(request, *, customer, title: str, action: str, message: str, subject: str = "") -> HttpResponse:
    """The confirmation page of a destructive POST (the form posts back to the same URL)."""
    return render(request, "customers/confirm.html", {"customer": customer, "title": title, "action": action,
                                                       "message": message, "subject": subject})


# ---------------------------------------------------------------- contacts

@page
@require_http_methods(["GET", "POST"])
def contact_create(request, customer_id: int):
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    form = ContactForm(request.POST or None, contacts=customer.contacts.order_by("id"))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                contact = services.contact_create(actor=request.user, customer_id=customer.pk,
                                                  data=form.service_data())
            except DomainError as exc:
                status = _form_error_status(form, exc)
                form_errors_from(form, exc, field_map=BASIS_FIELD_MAP)
            else:
                _warn(request, contact)
                messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#contacts")
    return render(request, "customers/contact_form.html", {"form": form, "customer": customer}, status=status)


@page
@require_http_methods(["GET", "POST"])
def contact_edit(request, contact_id: int):
    """Edit a contact: only the fields this user changed, refused when someone changed them meanwhile."""
    _require(request, Perm.CUSTOMER_WRITE)
    contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
    customer = contact.customer
    form = _contact_edit_form(contact, data=request.POST or None)
    status, conflict = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            changed = user_changed_fields(form)
            data = {k: v for k, v in form.service_data().items()
                    if k not in _CONTACT_RECORD_KEYS or k in changed or k in ContactEditForm.KEPT_WHEN_BLANK}
            try:
                _warn(request, services.contact_update(actor=request.user, contact_id=contact.pk, data=data,
                                                       expected=form_expected(form)))
            except VersionConflict as exc:
                status = 409
                contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
                fresh = _contact_edit_form(contact)
                form = _contact_edit_form(contact, data=refreshed_data(request.POST, fresh_form=fresh, keep=changed))
                form.is_valid()
                conflict = conflict_rows(mine=form, theirs=fresh, names=exc.conflicting)
            except DomainError as exc:
                status = _form_error_status(form, exc)
                form_errors_from(form, exc, field_map=BASIS_FIELD_MAP)
            else:
                messages.success(request, _("Changes saved."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#contacts")
    return render(request, "customers/contact_form.html",
                  {"form": form, "customer": customer, "contact": contact, "conflict": conflict}, status=status)


_CONTACT_RECORD_KEYS = {"name", "title", "role", "email", "wechat", "traits", "preferences", "reports_to", "mobile",
                        "birthday"}


def _contact_edit_form(contact, data=None) -> ContactEditForm:
    form = ContactEditForm(data, initial=ContactEditForm.initial_from(contact), contact=contact,
                           contacts=contact.customer.contacts.order_by("id"))
    add_version_fields(form, version=contact.version)
    return form


@page
@require_http_methods(["GET", "POST"])
def contact_delete(request, contact_id: int):
    _require(request, Perm.CUSTOMER_WRITE)
    contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
    if request.method == "POST":
        services.contact_delete(actor=request.user, contact_id=contact.pk)
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
        return redirect(reverse("customers:detail", args=[contact.customer_id]) + "#contacts")
    return _confirm(request, customer=contact.customer, title=_("Delete contact"), action=_("Delete contact"),
                    subject=contact.name,
                    message=_("The contact leaves the customer and its org chart; whoever reported to them "
                              "then reports to nobody. The timeline keeps that they were deleted."))


@page
@require_POST
def contact_reveal(request, contact_id: int):
    """One contact's mobile in clear (audited by the service); a role below the field's level gets
    a 403 fragment shown in place of the button."""
    try:
        value = services.contact_reveal(actor=request.user, contact_id=contact_id, field="mobile")
    except Forbidden as exc:
        response = render(request, "customers/_reveal_refused.html", {"message": exc.message}, status=403)
    else:
        response = render(request, "customers/_revealed.html", {"value": value, "tel": True})
    add_never_cache_headers(response)
    return response


@page
@require_POST
def customer_reveal(request, customer_id: int):
    """A person customer's mobile or ID number in clear (audited by the service)."""
    field = request.POST.get("field", "mobile")
    try:
        value = services.customer_reveal(actor=request.user, customer_id=customer_id, field=field)
    except Forbidden as exc:
        response = render(request, "customers/_reveal_refused.html", {"message": exc.message}, status=403)
    else:
        response = render(request, "customers/_revealed.html", {"value": value, "tel": field == "mobile"})
    add_never_cache_headers(response)
    return response


# ---------------------------------------------------------------- consents

@page
@require_POST
def consent_create(request, customer_id: int):
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    form = ConsentForm(request.POST, contacts=customer.contacts.order_by("id"))
    status = 400
    if form.is_valid():
        try:
            services.consent_create(actor=request.user, customer_id=customer.pk, data=form.service_data())
        except DomainError as exc:
            status = _form_error_status(form, exc)
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect(reverse("customers:detail", args=[customer.pk]) + "#consents")
    context = _detail_context(request, customer.pk, consent_form=form)
    context["consent_form_open"] = True
    return render(request, "customers/detail.html", context, status=status)


@page
@require_POST
def consent_withdraw(request, consent_id: int):
    consent = services.consent_withdraw(actor=request.user, consent_id=consent_id)
    if is_htmx(request):
        return render(request, "customers/_consent_row.html", {"consent": consent})
    messages.success(request, _("Consent withdrawn."))
    return redirect(reverse("customers:detail", args=[consent.customer_id]) + "#consents")


# ---------------------------------------------------------------- data-subject rights (PIPL)

@page
@require_POST
def contact_export(request, contact_id: int):
    """Everything held on one contact, as a JSON download (audited by the service)."""
    data = services.subject_export(actor=request.user, contact_id=contact_id)
    return _json_download(data, f"contact-{contact_id}")


@page
@require_POST
def customer_export(request, customer_id: int):
    """Everything held on a person customer and their contacts, as a JSON download (audited)."""
    data = services.subject_export(actor=request.user, customer_id=customer_id)
    return _json_download(data, f"customer-{customer_id}")


def _json_download(data: dict, stem: str) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    filename = f"kehu-personal-data-{stem}-{timezone.localdate():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)  # personal data in clear: no cache keeps a copy
    return response


@page
@require_http_methods(["GET", "POST"])
def contact_erase(request, contact_id: int):
    _require(request, Perm.PRIVACY)
    contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
    if request.method == "POST":
        services.subject_erase(actor=request.user, contact_id=contact.pk)
        messages.success(request, _("The contact's personal data was erased."))
        return redirect(reverse("customers:detail", args=[contact.customer_id]) + "#contacts")
    if contact.erased_at is not None:
        raise Conflict(_("Already erased."))
    return _confirm(request, customer=contact.customer, title=_("Erase personal data"),
                    action=_("Erase personal data"), subject=contact.name, message=_erase_message())


@page
@require_http_methods(["GET", "POST"])
def customer_erase(request, customer_id: int):
    """Erasing a person customer closes the record: it leaves the archive, so the list is next."""
    _require(request, Perm.PRIVACY)
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    if request.method == "POST":
        services.subject_erase(actor=request.user, customer_id=customer.pk)
        messages.success(request, _("The customer's personal data was erased and the record closed."))
        return redirect("customers:list")
    if customer.kind != CustomerKind.PERSON:
        raise Invalid(_("Only a person customer can be erased; erase its contacts one by one."))
    return _confirm(request, customer=customer, title=_("Erase personal data"), action=_("Erase personal data"),
                    subject=customer.name, message=_erase_message())


def _erase_message() -> str:
    return _("Name, mobile, ID number, birthday, traits and every other personal value are cleared for good, "
             "also in the timeline. The audit log keeps only that the erasure happened and who did it. "
             "This cannot be undone: export the data first if the person asked for a copy.")



# ---------------------------------------------------------------- catalogue: tags and custom fields

@page
@require_http_methods(["GET"])
def catalog(request):
    _require(request, Perm.CATALOG_MANAGE)
    return _catalog_page(request)


@page
@require_POST
def catalog_tag_create(request):
    _require(request, Perm.CATALOG_MANAGE)
    form = TagForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            tag = services.tag_create(actor=request.user, **form.service_data())
        except DomainError as exc:
            status = _form_error_status(form, exc)
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Tag “%(name)s” added.") % {"name": tag})
            return redirect(reverse("customers:catalog") + "#tags")
    return _catalog_page(request, tag_form=form, status=status)


@page
@require_POST
def catalog_field_create(request):
    _require(request, Perm.CATALOG_MANAGE)
    form = CustomFieldForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            definition = services.custom_field_define(actor=request.user, **form.service_data())
        except DomainError as exc:
            status = _form_error_status(form, exc)
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Custom field “%(label)s” added.") % {"label": definition.label})
            return redirect(reverse("customers:catalog") + "#custom-fields")
    return _catalog_page(request, field_form=form, status=status)


def _catalog_page(request, *, tag_form=None, field_form=None, status=200) -> HttpResponse:
    tags = selectors.tag_list(actor=request.user)
    categories = [(category, list(group)) for category, group in groupby(tags, key=lambda t: t.category)]
    context = {
        "categories": categories,
        "definitions": list(selectors.custom_field_list(actor=request.user)),
        "tag_form": tag_form or TagForm(),
        "field_form": field_form or CustomFieldForm(),
    }
    return render(request, "customers/catalog.html", context, status=status)


# ---------------------------------------------------------------- duplicates and merge

DUPLICATE_PAGE_SIZE = 30
ACTION_LABELS["merge_undo"] = pgettext_lazy("change action", "merge undone")
RULE_LABELS = {"uscc": pgettext_lazy("duplicate rule", "Same USCC"),
               "id_number": pgettext_lazy("duplicate rule", "Same ID number"),
               "mobile": pgettext_lazy("duplicate rule", "Same mobile"),
               "name": pgettext_lazy("duplicate rule", "Similar name")}


def _merges_absorbed(request, customer) -> list[dict]:
    """The 360° page's "merged from …" rows, with whether each can still be undone."""
    from kehu.customers.merge import undo_days

    now = timezone.now()
    rows = []
    for m in selectors.customer_merges_absorbed(actor=request.user, customer_id=customer.pk):
        until = m.at + dt.timedelta(days=undo_days())
        rows.append({"merge": m, "until": until, "undoable": m.undone_at is None and until > now})
    return rows


def _evidence(candidate) -> list[str]:
    out = []
    for r in candidate.reasons:
        label = str(RULE_LABELS.get(r.get("rule"), r.get("rule")))
        out.append(f"{label} {r['score']:.0f}" if "score" in r else label)
    return out


@page
@require_http_methods(["GET"])
def duplicate_queue(request):
    """The review queue: open candidate pairs in scope, highest score first, evidence side by side."""
    state = request.GET.get("state") or "open"
    if state not in ("open", "dismissed", "merged"):
        state = "open"
    result = selectors.duplicate_list(actor=request.user, state=state, limit=DUPLICATE_PAGE_SIZE,
                                      cursor=request.GET.get("cursor") or None)
    pairs = [{"c": d, "evidence": _evidence(d)} for d in result.items]
    context = {"pairs": pairs, "state": state, "page": result,
               "next_url": f"?{urlencode({'state': state, 'cursor': result.next})}" if result.next else None}
    return render_page(request, "customers/duplicates.html", "customers/_duplicate_rows.html", context)


@page
@require_POST
def duplicate_scan_start(request):
    from kehu.customers.tasks import duplicate_scan_task

    _require(request, Perm.CUSTOMER_MERGE)
    duplicate_scan_task(request.user.pk)
    messages.success(request, _("A duplicate scan was started; new pairs appear here when it finishes."))
    return redirect("customers:duplicates")


@page
@require_POST
def duplicate_dismiss(request, candidate_id: int):
    from kehu.customers import merge as merge_services

    merge_services.duplicate_dismiss(actor=request.user, candidate_id=candidate_id)
    if is_htmx(request):
        return HttpResponse("")  # the row disappears from the queue
    messages.success(request, _("Marked as not a duplicate; this pair will not be proposed again."))
    return redirect("customers:duplicates")


@page
@require_POST
def duplicate_check(request, customer_id: int):
    from kehu.customers import merge as merge_services

    found = merge_services.duplicate_check(actor=request.user, customer_id=customer_id)
    if found:
        messages.warning(request, _("%(n)d possible duplicate(s) found.") % {"n": len(found)})
        return redirect(f"{reverse('customers:duplicates')}")
    messages.success(request, _("No duplicates found."))
    return redirect("customers:detail", customer_id)


def _merge_rows(survivor, loser, picked: dict) -> list[dict]:
    from kehu.customers.merge import MERGE_FIELDS

    def show(c, f):
        if f == "owner":
            return str(c.owner)
        if f in ("mobile", "id_number"):
            return getattr(c, f"{f}_masked")
        if f == "custom":
            return json.dumps(c.custom, ensure_ascii=False) if c.custom else ""
        value = getattr(c, f)
        display = getattr(c, f"get_{f}_display", None)
        return str(display()) if display and value else value

    rows = []
    for f in MERGE_FIELDS:
        try:
            label = Customer._meta.get_field(f).verbose_name
        except FieldDoesNotExist:
            label = {"mobile": _("Mobile"), "id_number": _("ID number")}.get(f, f)
        a, b = show(survivor, f), show(loser, f)
        rows.append({"field": f, "label": label, "survivor": a, "loser": b, "same": a == b,
                     "pick": picked.get(f, "survivor")})
    return rows


@page
@require_http_methods(["GET", "POST"])
def customer_merge(request, survivor_id: int, loser_id: int):
    """Two records side by side, one radio per field; POST merges the right one into the left one."""
    from kehu.customers import merge as merge_services
    from kehu.customers.merge import MERGE_FIELDS, _choose

    _require(request, Perm.CUSTOMER_MERGE)
    survivor = selectors.customer_get(actor=request.user, customer_id=survivor_id)
    loser = selectors.customer_get(actor=request.user, customer_id=loser_id)
    error = None
    if request.method == "POST":
        choices = {f: request.POST[f"pick_{f}"] for f in MERGE_FIELDS if request.POST.get(f"pick_{f}")}
        try:
            record = merge_services.customer_merge(actor=request.user, survivor_id=survivor.pk, loser_id=loser.pk,
                                                   choices=choices)
        except (Conflict, Invalid) as exc:
            error = exc.message
        else:
            messages.success(request, _("“%(loser)s” was merged into this record. You can undo it within %(d)d days.")
                             % {"loser": loser.name, "d": merge_services.undo_days()})
            return redirect("customers:detail", record.survivor_id)
    picked = _choose(survivor, loser, {})
    context = {"survivor": survivor, "loser": loser, "rows": _merge_rows(survivor, loser, picked), "error": error,
               "counts": _link_counts(loser)}
    return render(request, "customers/merge.html", context, status=422 if error else 200)


def _link_counts(customer) -> list[tuple[str, int]]:
    """What would move with the loser, per kind of record (for the confirmation)."""
    from kehu.customers.merge import merge_links

    out = []
    for model, field in merge_links():
        n = model._base_manager.filter(**{field: customer.pk}).count()
        if n:
            out.append((str(model._meta.verbose_name_plural), n))
    return out


@page
@require_POST
def merge_undo(request, merge_id: int):
    from kehu.customers import merge as merge_services

    record = merge_services.customer_merge_undo(actor=request.user, merge_id=merge_id)
    messages.success(request, _("The merge was undone; “%(loser)s” is a separate record again.")
                     % {"loser": record.loser.name})
    return redirect("customers:detail", record.survivor_id)


# ---------------------------------------------------------------- cascading 省/市/区 choices

@page
@require_http_methods(["GET"])
def region_options(request):
    """The <option>s of the select below the one changed (htmx): a province's cities, a city's
    districts; choosing a province also empties the district select (out of band)."""
    from kehu.customers import regions

    province, city = request.GET.get("province"), request.GET.get("city")
    if province is not None:
        options, clear_district = regions.cities(province), True
    elif city is not None:
        options, clear_district = regions.districts(city), False
    else:
        raise BadRequest(_("Say which province or city."), fields={"province": [_("Required.")]})
    return render(request, "customers/_region_options.html",
                  {"options": options, "clear_district": clear_district})


# ---------------------------------------------------------------- the thread (往来记录)

THREAD_PAGE_SIZE = 20


@page
@require_http_methods(["GET"])
def customer_thread(request, customer_id: int):
    """The customer's follow-ups, complaints, service requests and inspections, newest first (htmx; each app
    provides its items through kehu/customers/profile.py)."""
    from kehu.customers.profile import customer_thread as thread

    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    items, nxt = thread(actor=request.user, customer_id=customer.pk, before=request.GET.get("before") or None,
                        limit=THREAD_PAGE_SIZE)
    template = "customers/_thread_items.html" if request.GET.get("before") else "customers/_thread.html"
    return render(request, template, {"customer": customer, "thread": items, "thread_next": nxt})
