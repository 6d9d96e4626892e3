"""Helpers for tests elsewhere in the suite: a company customer registered through the service starts pending
account opening (开户审批); ``admit`` makes it an established, already admitted customer — as the customers that
existed before the rule are — without raising its version, so fixtures that hold version 1 stay valid."""

from __future__ import annotations


def admit(customer):
    """Mark a pending customer admitted (a fixture of an established customer; the flow itself is tested in
    kehu/qualification/tests)."""
    from kehu.customers.models import Customer

    if customer.status == "pending":
        Customer.objects.filter(pk=customer.pk, status="pending").update(status="active")
        customer.status = "active"
    return customer
