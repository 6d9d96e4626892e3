"""Helpers for tests elsewhere in the suite: a company customer registered through the service starts pending
account opening; ``admit`` moves it to active the way an approved application does."""

from __future__ import annotations


def admit(customer):
    """Admit a pending customer as the approved account-opening application would (source account_opening)."""
    from kehu.qualification.status import customer_status_change

    if customer.status == "pending":
        customer = customer_status_change(actor=None, customer_id=customer.pk, to="active",
                                          reason="test fixture: admitted", source="account_opening")
    return customer
