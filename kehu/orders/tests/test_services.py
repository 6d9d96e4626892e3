"""Orders, payments and payment terms (004 第13篇 第九、十条: 款到发货 or a credit limit)."""

import datetime as dt
from decimal import Decimal

import pytest

from kehu.approvals.models import ApprovalRequest
from kehu.approvals.services import approval_decide
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.orders import services
from kehu.orders.models import HeldOrder, Order, Payment

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


def order_data(**extra):
    data = {"order_date": "2026-06-10", "product_line": "聚乙烯 PE", "quantity": "120.5", "unit": "t",
            "amount": "1000000.00", "channel": "direct"}
    data.update(extra)
    return data


def test_order_in_kg_is_converted_to_tonnes_and_audited(org, east_customer):
    r = services.order_create(actor=org.rep, customer_id=east_customer.pk,
                              data=order_data(quantity="2500", unit="kg"), today=TODAY)
    assert r.created and r.order.quantity_t == Decimal("2.500")
    assert AuditEntry.objects.filter(action="order.create", object_id=str(r.order.pk)).exists()


def test_order_in_pieces_has_no_tonnage(org, east_customer):
    r = services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(unit="piece"), today=TODAY)
    assert r.order.quantity_t is None


def test_order_needs_positive_quantity_and_non_negative_amount(org, east_customer):
    with pytest.raises(Invalid) as exc:
        services.order_create(actor=org.rep, customer_id=east_customer.pk,
                              data=order_data(quantity="0", amount="-1"), today=TODAY)
    assert set(exc.value.fields) == {"quantity", "amount"}


def test_order_of_customer_outside_scope_is_not_found(org, north_customer):
    with pytest.raises(NotFound):
        services.order_create(actor=org.rep, customer_id=north_customer.pk, data=order_data(), today=TODAY)


def test_order_without_order_write_is_forbidden(org, east_customer):
    for user in (org.finance, org.agent, org.analyst, org.auditor):
        with pytest.raises(Forbidden):
            services.order_create(actor=user, customer_id=east_customer.pk, data=order_data(), today=TODAY)


def test_erp_replay_of_same_external_id_returns_existing_order(org, east_customer):
    first = services.order_create(actor=org.admin, customer_id=east_customer.pk, source="erp",
                                  data=order_data(external_id="SO-1", quantity="120.500"), today=TODAY)
    again = services.order_create(actor=org.admin, customer_id=east_customer.pk, source="erp",
                                  data=order_data(external_id="SO-1"), today=TODAY)
    assert first.created and not again.created and again.order.pk == first.order.pk
    assert Order.objects.count() == 1


def test_erp_conflicting_replay_is_refused(org, east_customer):
    services.order_create(actor=org.admin, customer_id=east_customer.pk, source="erp",
                          data=order_data(external_id="SO-1"), today=TODAY)
    with pytest.raises(Conflict) as exc:
        services.order_create(actor=org.admin, customer_id=east_customer.pk, source="erp",
                              data=order_data(external_id="SO-1", amount="2"), today=TODAY)
    assert exc.value.code == "external_id_conflict"


def test_same_external_id_from_another_source_is_another_order(org, east_customer):
    services.order_create(actor=org.admin, customer_id=east_customer.pk, source="erp",
                          data=order_data(external_id="X-1"), today=TODAY)
    r = services.order_create(actor=org.admin, customer_id=east_customer.pk, source="import",
                              data=order_data(external_id="X-1"), today=TODAY)
    assert r.created


def test_prepay_customer_with_unpaid_due_amount_is_refused(org, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="prepay")
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2026-06-01", "amount": "5000"})
    with pytest.raises(services.PaymentTermsRefused) as exc:
        services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY)
    assert exc.value.status == 409 and exc.value.code == "payment_terms"
    assert "款到发货" in exc.value.message


def test_prepay_customer_with_everything_paid_may_order(org, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="prepay")
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2026-06-01", "paid_date": "2026-06-01", "amount": "5000"})
    assert services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY).created


def test_credit_customer_above_limit_is_refused(org, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="credit",
                               credit_limit="1500000", credit_days=30)
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2026-07-01", "amount": "600000"})
    with pytest.raises(services.PaymentTermsRefused) as exc:
        services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY)
    assert "超过信用额度" in exc.value.message  # says which term is broken


def test_credit_customer_exactly_at_limit_may_order(org, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="credit",
                               credit_limit="1600000", credit_days=30)
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2026-07-01", "amount": "600000"})
    assert services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY).created


def test_credit_customer_with_overdue_payment_is_refused(org, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="credit",
                               credit_limit="99000000", credit_days=30)
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2026-06-14", "amount": "10"})
    with pytest.raises(services.PaymentTermsRefused) as exc:
        services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY)
    assert "逾期未回款" in exc.value.message


def test_credit_terms_need_limit_and_days(org, east_customer):
    with pytest.raises(Invalid) as exc:
        services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="credit")
    assert set(exc.value.fields) == {"credit_limit", "credit_days"}


def test_payment_terms_only_by_finance_or_admin(org, east_customer):
    with pytest.raises(Forbidden):
        services.payment_terms_set(actor=org.rep, customer_id=east_customer.pk, kind="prepay")
    assert services.payment_terms_set(actor=org.admin, customer_id=east_customer.pk, kind="prepay").kind == "prepay"


def _refusing_terms(org, customer):
    services.payment_terms_set(actor=org.finance, customer_id=customer.pk, kind="prepay")
    services.payment_record(actor=org.finance, customer_id=customer.pk,
                            data={"due_date": "2026-06-01", "amount": "5000"})


def test_order_breaking_terms_goes_through_when_manager_and_finance_approve(org, east_customer):
    _refusing_terms(org, east_customer)
    r = services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY,
                              request_exception=True)
    assert r.order is None and r.held.status == "pending" and Order.objects.count() == 0
    req = ApprovalRequest.objects.get(chain__code="order_terms_exception", object_id=str(r.held.pk))
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    assert Order.objects.count() == 0  # finance still has to approve
    approval_decide(actor=org.finance, request_id=req.pk, decision="approve")
    held = HeldOrder.objects.get(pk=r.held.pk)
    assert held.status == "approved" and held.order.amount == Decimal("1000000.00")
    assert held.order.created_by == org.rep


def test_order_breaking_terms_rejected_creates_nothing(org, east_customer):
    _refusing_terms(org, east_customer)
    r = services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY,
                              request_exception=True)
    req = ApprovalRequest.objects.get(chain__code="order_terms_exception", object_id=str(r.held.pk))
    approval_decide(actor=org.manager, request_id=req.pk, decision="reject", comment="欠款未清")
    assert HeldOrder.objects.get(pk=r.held.pk).status == "rejected" and Order.objects.count() == 0


def test_payment_for_order_defaults_due_date_to_credit_days(org, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="credit",
                               credit_limit="9000000", credit_days=30)
    order = services.order_create(actor=org.rep, customer_id=east_customer.pk, data=order_data(), today=TODAY).order
    p = services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                                data={"order": order.pk, "amount": "1000000"}).payment
    assert p.due_date == dt.date(2026, 7, 10)


def test_payment_replay_is_idempotent_and_conflict_refused(org, east_customer):
    data = {"external_id": "AR-9", "due_date": "2026-06-01", "amount": "10"}
    a = services.payment_record(actor=org.finance, customer_id=east_customer.pk, data=data, source="erp")
    b = services.payment_record(actor=org.finance, customer_id=east_customer.pk, data=data, source="erp")
    assert a.created and not b.created and a.payment.pk == b.payment.pk
    with pytest.raises(Conflict):
        services.payment_record(actor=org.finance, customer_id=east_customer.pk, data=data | {"amount": "11"},
                                source="erp")
    assert Payment.objects.count() == 1


def test_payment_needs_positive_amount_and_payment_write(org, east_customer):
    with pytest.raises(Invalid):
        services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                                data={"due_date": "2026-06-01", "amount": "0"})
    with pytest.raises(Forbidden):
        services.payment_record(actor=org.rep, customer_id=east_customer.pk,
                                data={"due_date": "2026-06-01", "amount": "1"})


def test_marking_paid_clears_the_receivable(org, east_customer):
    p = services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                                data={"due_date": "2026-06-01", "amount": "10"}).payment
    services.payment_mark_paid(actor=org.finance, payment_id=p.pk, paid_date="2026-06-03")
    assert services.receivables(east_customer.pk) == 0
    with pytest.raises(Conflict):
        services.payment_mark_paid(actor=org.finance, payment_id=p.pk, paid_date="2026-06-03")


def test_erp_replay_of_held_order_returns_the_held_order_not_a_second_request(org, east_customer):
    _refusing_terms(org, east_customer)
    data = order_data(external_id="SO-H")
    first = services.order_create(actor=org.rep, customer_id=east_customer.pk, source="erp", data=data,
                                  today=TODAY, request_exception=True)
    again = services.order_create(actor=org.rep, customer_id=east_customer.pk, source="erp", data=data,
                                  today=TODAY, request_exception=True)
    assert again.held.pk == first.held.pk and HeldOrder.objects.count() == 1
