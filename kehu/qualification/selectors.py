"""Reads of admission and qualification, each narrowed to the actor's customer scope ("not found" outside)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.scopes import scope_q
from kehu.customers.models import Customer, Status
from kehu.errors import BadRequest, NotAuthenticated, NotFound
from kehu.pagination import Page, paginate
from kehu.qualification import expiry
from kehu.qualification.models import (
    OPEN_APPLICATION,
    AccountOpening,
    ApplicationStatus,
    CustomerQualification,
    CustomerType,
    Document,
    Verification,
)

DOC_ORDERINGS = {"valid_to": dt.date, "id": int}
APP_ORDERINGS = {"id": int}
CUSTOMER_ORDERINGS = {"id": int}
DOC_STATES = ("expiring", "expired", "pending", "in_force")


def _require_read(actor) -> None:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Please log in."))


def _via_customer(actor) -> Q:
    return scope_q(actor, owner_field="customer__owner", department_field="customer__department") & Q(
        customer__deleted_at__isnull=True)


def _valid_id(value: int) -> bool:
    return isinstance(value, int) and 0 < value < 2**63


def customer_type_list() -> QuerySet[CustomerType]:
    return CustomerType.objects.filter(active=True).order_by("position", "id")


def qualification_of(*, customer_id: int) -> CustomerQualification | None:
    return CustomerQualification.objects.select_related("customer_type").filter(customer_id=customer_id).first()


def document_base(*, actor) -> QuerySet[Document]:
    """Documents of the live customers in the actor's scope."""
    _require_read(actor)
    return Document.objects.filter(_via_customer(actor))


def document_get(*, actor, document_id: int) -> Document:
    """One document in scope, or NotFound (existence never leaks)."""
    doc = (document_base(actor=actor).select_related("customer", "verified_by", "uploaded_by")
           .filter(pk=document_id).first()) if _valid_id(document_id) else None
    if doc is None:
        raise NotFound(_("Document not found."))
    return doc


def document_list(*, actor, customer: int | None = None, state: str | None = None, kind: str | None = None,
                  mine: bool = False, today: dt.date, days: int = 30, ordering: str = "valid_to",
                  limit: int | None = None, cursor: str | None = None) -> Page:
    """Documents in scope: of a customer, by ``state`` (expiring within ``days``, expired in force, awaiting
    verification, in force), kind, of my customers; keyset-paginated."""
    qs = document_base(actor=actor).select_related("customer", "verified_by")
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if kind:
        qs = qs.filter(kind=kind)
    if mine:
        qs = qs.filter(customer__owner_id=actor.pk)
    if state is not None and state not in DOC_STATES:
        raise BadRequest(_("Unknown state."), fields={"state": [_("Allowed: %(a)s") % {"a": ", ".join(DOC_STATES)}]})
    if state == "expiring":
        first, last = expiry.expiring_window(today, days)
        qs = qs.filter(current=True, valid_to__gte=first, valid_to__lte=last)
    elif state == "expired":
        qs = qs.filter(current=True, valid_to__lt=today)
    elif state == "pending":
        qs = qs.filter(verification=Verification.PENDING)
    elif state == "in_force":
        qs = qs.filter(current=True)
    if ordering.lstrip("-") == "valid_to":
        qs = qs.filter(valid_to__isnull=False) if state in ("expiring", "expired") else qs
        if state not in ("expiring", "expired"):
            ordering = "-id"
    return paginate(qs, ordering=ordering, allowed=DOC_ORDERINGS, limit=limit, cursor=cursor)


def customer_documents(*, actor, customer_id: int) -> list[Document]:
    """All versions of a customer's documents (the caller checked the customer is in scope), newest first."""
    return list(document_base(actor=actor).filter(customer_id=customer_id).select_related("verified_by")
                .order_by("kind", "title", "-version")[:500])


def application_base(*, actor) -> QuerySet[AccountOpening]:
    _require_read(actor)
    return AccountOpening.objects.filter(_via_customer(actor))


def application_get(*, actor, application_id: int) -> AccountOpening:
    app = (application_base(actor=actor).select_related("customer", "customer_type", "applicant")
           .filter(pk=application_id).first()) if _valid_id(application_id) else None
    if app is None:
        raise NotFound(_("Application not found."))
    return app


def application_list(*, actor, status: str | None = None, customer: int | None = None, open_only: bool = False,
                     limit: int | None = None, cursor: str | None = None) -> Page:
    qs = application_base(actor=actor).select_related("customer", "customer_type", "applicant")
    if status:
        if status not in ApplicationStatus.values:
            raise BadRequest(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=OPEN_APPLICATION)
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    return paginate(qs, ordering="-id", allowed=APP_ORDERINGS, limit=limit, cursor=cursor)


def pending_customer_list(*, actor, mine: bool = False, limit: int | None = None, cursor: str | None = None) -> Page:
    """Customers pending admission (待准入) in scope."""
    _require_read(actor)
    qs = Customer.objects.filter(scope_q(actor), deleted_at__isnull=True, status=Status.PENDING).select_related("owner")
    if mine:
        qs = qs.filter(owner_id=actor.pk)
    return paginate(qs, ordering="-id", allowed=CUSTOMER_ORDERINGS, limit=limit, cursor=cursor)


def open_application_by_customer(customer_ids: list[int]) -> dict[int, AccountOpening]:
    return {a.customer_id: a for a in AccountOpening.objects.filter(customer_id__in=customer_ids,
                                                                    status__in=OPEN_APPLICATION)}


def plan_missing_list(*, actor, month: dt.date, mine: bool = False, limit: int = 50) -> list[Customer]:
    """Active customers in scope whose type requires a monthly next-month sales plan (独家代理: 每月向公司提供
    下月销售计划) and that have none for ``month`` (kehu.grading.allocation's SalesPlan)."""
    from kehu.grading.allocation.models import SalesPlan

    _require_read(actor)
    typed = CustomerQualification.objects.filter(customer_type__monthly_plan_required=True).values("customer_id")
    qs = Customer.objects.filter(scope_q(actor), deleted_at__isnull=True, status=Status.ACTIVE, pk__in=typed).exclude(
        pk__in=SalesPlan.objects.filter(month=month).values("customer_id"))
    if mine:
        qs = qs.filter(owner_id=actor.pk)
    return list(qs.order_by("id")[:limit])


def pending_without_application(*, actor, limit: int = 50) -> list[Customer]:
    """My customers pending admission with no application under way (one query)."""
    _require_read(actor)
    under_way = AccountOpening.objects.filter(status__in=OPEN_APPLICATION).values("customer_id")
    return list(Customer.objects.filter(scope_q(actor), owner_id=actor.pk, deleted_at__isnull=True,
                                        status=Status.PENDING).exclude(pk__in=under_way).order_by("-id")[:limit])
