"""Payments (回款) entered on the customer's orders page (issue 11: "payments (due date, paid date, amount):
entered in a form"): finance records a receivable and marks it paid, both audited; bad input is refused with
nothing written; a role without payment.write gets 403 from the page as from the API."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.orders.models import Payment

pytestmark = pytest.mark.django_db


def url(customer):
    return f"/customers/{customer.pk}/orders/"


def test_finance_records_a_receivable_then_marks_it_paid(org, client, east_customer):
    client.force_login(org.finance)
    assert 'name="p-due_date"' in client.get(url(east_customer)).content.decode()
    r = client.post(url(east_customer), {"form": "payment", "p-due_date": "2026-07-10", "p-amount": "120000.50"})
    assert r.status_code == 302
    payment = Payment.objects.get()
    assert (str(payment.due_date), payment.paid_date, str(payment.amount)) == ("2026-07-10", None, "120000.50")
    assert AuditEntry.objects.filter(action__startswith="payment.", object_id=str(payment.pk)).exists()
    r = client.post(url(east_customer), {"form": "paid", "payment": payment.pk, "paid_date": "2026-07-08"})
    assert r.status_code == 302
    payment.refresh_from_db()
    assert str(payment.paid_date) == "2026-07-08"
    assert AuditEntry.objects.filter(action="payment.paid", object_id=str(payment.pk)).exists()


@pytest.mark.parametrize("data", [
    {"p-due_date": "2026-07-10", "p-amount": "-5"},  # not a positive amount
    {"p-due_date": "2026-07-10", "p-amount": "0"},
    {"p-due_date": "", "p-amount": "100"},  # the due date is required
    {"p-due_date": "七月十日", "p-amount": "100"},
])
def test_bad_payments_are_refused_on_the_form_and_nothing_is_written(org, client, east_customer, data):
    client.force_login(org.finance)
    before = AuditEntry.objects.count()
    r = client.post(url(east_customer), {"form": "payment", **data})
    assert r.status_code in (400, 422) and 'name="p-amount"' in r.content.decode()  # the form, with its errors
    assert not Payment.objects.exists() and AuditEntry.objects.count() == before


def test_payment_page_needs_payment_write_and_scope(org, client, east_customer, north_customer):
    client.force_login(org.analyst)  # reads orders, records no payment
    r = client.post(url(east_customer), {"form": "payment", "p-due_date": "2026-07-10", "p-amount": "100"})
    assert r.status_code == 403 and not Payment.objects.exists()
    client.force_login(org.rep)  # 东区: 华北区's customer does not exist for them
    assert client.post(url(north_customer), {"form": "payment", "p-due_date": "2026-07-10",
                                             "p-amount": "100"}).status_code == 404
    assert not Payment.objects.exists()
