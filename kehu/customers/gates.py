"""May business be done with this customer? (准入 / 暂停业务往来 / 取消资格)

Every write path that commits the company to a customer — an order, a deal, a deposit, an allocation,
a claim from the public pool — calls ``ensure_business_allowed`` before writing. A customer whose
status is not ``active`` is refused with a 409 whose code names the status (a claim is prospecting and
is also allowed while the customer waits for admission); apps that know *why*
(qualification: the expired document; the blacklist: the disqualification) register an explainer
that adds the reason to the message. Complaints, service requests and follow-ups never call this:
they stay open to every customer.

    from kehu.customers.gates import Action, ensure_business_allowed
    ensure_business_allowed(customer, Action.ORDER)   # raises Conflict when refused

For set-based paths (imports of thousands of rows) ``blocked_ids(ids)`` answers in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _

from kehu.errors import Conflict


class Action:
    ORDER = "order"
    DEAL = "deal"
    DEPOSIT = "deposit"
    ALLOCATION = "allocation"
    CLAIM = "claim"

    ALL = (ORDER, DEAL, DEPOSIT, ALLOCATION, CLAIM)


# Prospecting stays open to a customer waiting for admission (待准入): a rep may claim it from the pool.
PROSPECTING = (Action.CLAIM,)


class BusinessBlocked(Conflict):
    code = "customer_blocked"


# explainer(customer, action) -> str | None: a sentence naming the reason (e.g. "危险化学品经营许可证
# 已于 2026-11-30 过期"), or None when this app has nothing to say about the customer.
_explainers: list[Callable] = []


def register_explainer(fn: Callable) -> Callable:
    """Register fn(customer, action) -> str | None (idempotent); usually from AppConfig.ready()."""
    if fn not in _explainers:
        _explainers.append(fn)
    return fn


def _status_message(status: str) -> tuple[str, str]:
    if status == "pending":
        return "customer_pending", _("The customer has not been admitted yet (account opening is pending).")
    if status == "suspended":
        return "customer_suspended", _("Business with this customer is suspended.")
    if status == "disqualified":
        return "customer_disqualified", _("This customer has been disqualified.")
    return "customer_blocked", _("Business with this customer is not allowed.")


def refusal(customer, action: str) -> BusinessBlocked | None:
    """The error that refuses ``action`` for ``customer``, or None when business is allowed."""
    if action not in Action.ALL:
        raise ValueError(f"unknown business action {action!r}")
    if customer.deleted_at is None and (customer.status == "active"
                                        or (customer.status == "pending" and action in PROSPECTING)):
        return None
    if customer.deleted_at is not None:
        return BusinessBlocked(_("The customer has been deleted."), code="customer_deleted")
    code, message = _status_message(customer.status)
    reasons = [r for fn in list(_explainers) if (r := fn(customer, action))]
    if reasons:
        message = f"{message} {' '.join(reasons)}"
    return BusinessBlocked(message, code=code)


def ensure_business_allowed(customer, action: str) -> None:
    """Raise BusinessBlocked (409, code customer_pending / customer_suspended / customer_disqualified)
    unless business of this kind may be done with the customer."""
    err = refusal(customer, action)
    if err is not None:
        raise err


def blocked_ids(customer_ids: Iterable[int]) -> dict[int, str]:
    """{customer id: status} of those among ``customer_ids`` that business is refused for (orders, deals,
    deposits, allocations: not for claims); one query."""
    from kehu.customers.models import Customer

    ids = list({int(i) for i in customer_ids})
    out: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for pk, status, deleted_at in Customer.objects.filter(pk__in=chunk).exclude(
                status="active", deleted_at__isnull=True).values_list("pk", "status", "deleted_at"):
            out[pk] = "deleted" if deleted_at is not None else status
    return out
