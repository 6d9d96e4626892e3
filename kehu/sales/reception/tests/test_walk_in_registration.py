"""From the walk-in to the registration (来人登记 → 客户登记, seed 004 第12篇 3): the rep the rotation gave the visitor
registers them from the register entry and becomes the owner — through the ownership app's registration, so
first registration wins; nobody else registers someone else's walk-in; the phone is kept only with the visitor's
agreement; a visit refused mid-way waits for the manager."""

from __future__ import annotations

import pytest

from kehu.audit.models import AuditEntry
from kehu.customers.models import Customer
from kehu.customers.tests.factories import org_customer
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.sales.ownership.models import Channel, Claim, Registration
from kehu.sales.reception import services
from kehu.sales.reception.models import Outcome, RegisterEntry

from .conftest import at, walk_in


def test_the_rotations_rep_registers_a_new_walk_in_and_becomes_its_owner(office):
    entry = walk_in(office, actor=office.rep2, visitor_name="孙丽", visitor_phone="13912345678")
    assert entry.rep == office.rep  # the rotation's first turn
    done = services.entry_register(
        actor=office.rep, entry_id=entry.pk, kind="person", phone_consent=True, now=at(10, 30)
    )
    customer = Customer.objects.get(pk=done.customer_id)
    assert (customer.name, customer.kind, customer.owner_id, customer.status) == (
        "孙丽",
        "person",
        office.rep.pk,
        "active",
    )
    assert customer.source == office.sources["passing_by"].name
    assert customer.mobile_masked.endswith("5678")
    reg = Registration.objects.get(customer=customer)
    assert (reg.rep_id, reg.channel) == (office.rep.pk, Channel.VISIT)
    assert f"{entry.pk}" in reg.note
    assert Claim.objects.get(customer=customer, ended_at__isnull=True).rep_id == office.rep.pk
    entry.refresh_from_db()
    assert (entry.customer_id, entry.outcome) == (customer.pk, Outcome.REGISTERED)
    assert AuditEntry.objects.filter(action="reception.entry_register", object_id=str(entry.pk)).exists()
    assert AuditEntry.objects.filter(action="registration.create").exists()


def test_the_visitors_phone_is_kept_only_when_they_agreed(office):
    entry = walk_in(office, actor=office.rep2, visitor_name="钱女士", visitor_phone="13812345678")
    done = services.entry_register(actor=office.rep, entry_id=entry.pk, kind="person", now=at(10, 30))
    assert done.customer.mobile_masked == ""


def test_a_company_walk_in_is_registered_as_a_company(office):
    entry = walk_in(office, actor=office.rep2, visitor_name="杭州新禾贸易有限公司采购部 沈经理")
    done = services.entry_register(
        actor=office.rep, entry_id=entry.pk, kind="organization", name="杭州新禾贸易有限公司", now=at(10, 30)
    )
    assert (done.customer.name, done.customer.kind, done.customer.owner_id) == (
        "杭州新禾贸易有限公司",
        "organization",
        office.rep.pk,
    )


def test_only_the_receiving_rep_registers_the_walk_in(office):
    entry = walk_in(office, actor=office.rep2, visitor_name="周先生")
    assert entry.rep == office.rep
    for other in (office.manager, office.executive):
        with pytest.raises(Forbidden):
            services.entry_register(actor=other, entry_id=entry.pk, now=at(10, 30))
    entry.refresh_from_db()
    assert entry.customer_id is None and entry.outcome == Outcome.OPEN
    assert not Registration.objects.exists() and not Customer.objects.filter(name="周先生").exists()


def test_a_customer_another_rep_holds_is_refused_and_nothing_is_written(office):
    customer = org_customer(office.rep2, "宁波甬兴塑料有限公司", serial=41)
    from kehu.sales.ownership.services import registration_create

    registration_create(actor=office.rep2, customer_id=customer.pk, now=at(9))
    # the customer asks for 王芳 at the desk (designated); she tries to register him as hers
    entry = walk_in(office, customer=customer.pk, visitor_name="", designated_rep=office.rep3.pk)
    with pytest.raises(Conflict) as exc:
        services.entry_register(actor=office.rep3, entry_id=entry.pk, now=at(10, 30))
    assert exc.value.code == "already_registered"
    entry.refresh_from_db()
    assert entry.outcome == Outcome.OPEN
    assert Customer.objects.get(pk=customer.pk).owner_id == office.rep2.pk
    assert Registration.objects.filter(customer=customer).count() == 1


def test_a_returning_customer_of_the_rep_is_linked_without_a_second_registration(office):
    customer = org_customer(office.rep, "浙江华星石化有限公司", serial=42)
    from kehu.sales.ownership.services import registration_create

    registration_create(actor=office.rep, customer_id=customer.pk, now=at(9))
    entry = walk_in(office, actor=office.rep2, customer=customer.pk, visitor_name="")
    assert entry.rep == office.rep and entry.is_returning
    done = services.entry_register(actor=office.rep, entry_id=entry.pk, now=at(10, 30))
    assert (done.customer_id, done.outcome) == (customer.pk, Outcome.REGISTERED)
    assert Registration.objects.filter(customer=customer).count() == 1
    with pytest.raises(Conflict) as exc:  # and not twice
        services.entry_register(actor=office.rep, entry_id=entry.pk, now=at(10, 40))
    assert exc.value.code == "entry_registered"


def test_a_refused_visit_waits_for_the_manager_then_the_new_rep_registers(office):
    entry = walk_in(office, actor=office.rep2, visitor_name="吴先生")
    services.entry_refuse(actor=office.rep, entry_id=entry.pk, reason="客户希望换一位顾问")
    with pytest.raises(Conflict) as exc:
        services.entry_register(actor=office.rep, entry_id=entry.pk, now=at(10, 30))
    assert exc.value.code == "refusal_pending"
    handed = services.refusal_resolve(actor=office.manager, entry_id=entry.pk, decision="reassigned")
    assert handed.rep == office.rep2
    done = services.entry_register(actor=office.rep2, entry_id=entry.pk, now=at(10, 40))
    assert done.customer.owner_id == office.rep2.pk


def test_bad_input_is_refused_and_nothing_is_written(office):
    entry = walk_in(office, actor=office.rep2, visitor_name="郑女士")
    for kwargs in ({"kind": "robot"}, {"name": "  "}, {"name": "名" * 101}, {"phone_consent": "yes"}):
        with pytest.raises(Invalid):
            services.entry_register(actor=office.rep, entry_id=entry.pk, now=at(10, 30), **kwargs)
    assert RegisterEntry.objects.get(pk=entry.pk).customer_id is None
    assert not Registration.objects.exists()


def test_the_entry_page_registers_and_offers_the_deal_with_the_customer_chosen(office, client):
    entry = walk_in(office, actor=office.rep2, visitor_name="冯先生")
    client.force_login(office.rep2)
    page = client.get(f"/reception/register/{entry.pk}/")
    assert page.status_code in (200, 404)
    assert b"entry-register" not in page.content  # not the receiving rep
    client.force_login(office.rep)
    page = client.get(f"/reception/register/{entry.pk}/")
    assert b'data-testid="entry-register"' in page.content
    response = client.post(
        f"/reception/register/{entry.pk}/",
        {"action": "register", "customer_kind": "person", "customer_name": "冯建国"},
    )
    assert response.status_code == 302
    customer = Customer.objects.get(name="冯建国")
    assert customer.owner_id == office.rep.pk
    page = client.get(f"/reception/register/{entry.pk}/")
    assert b'data-testid="entry-register"' not in page.content
    assert f"/sales/deals/?customer={customer.pk}".encode() in page.content
    deals = client.get(f"/sales/deals/?customer={customer.pk}")
    assert f'<option value="{customer.pk}" selected>'.encode() in deals.content
    # another rep's forged post is refused
    client.force_login(office.rep3)
    assert client.post(f"/reception/register/{entry.pk}/", {"action": "register"}).status_code in (403, 404)


# ---------------------------------------------------------------- spouses registered separately (夫妻分别登记)


def _sign(org, customer, rep):
    """A deal on the customer, its small deposit taken by finance, subscribed and signed: the split is made."""
    from kehu.sales import services as sales
    from kehu.sales.commissions.models import DealSplit

    deal = sales.deal_create(
        actor=rep, data={"customer": customer.pk, "title": "滨江府 3-1201", "amount": "2000000"}
    )
    sales.deposit_record(
        actor=org.finance, deal_id=deal.pk, data={"kind": "small_deposit", "amount": "20000"}
    )
    sales.deal_move(actor=rep, deal_id=deal.pk, data={"to": "subscribed"})
    sales.deal_move(actor=rep, deal_id=deal.pk, data={"to": "signed"})
    return DealSplit.objects.get(deal=deal, current=True)


def _spouses(office):
    """王先生 came on Monday and registered with 张伟; his wife came alone on Wednesday, the desk noted her as his
    spouse, and the rotation gave her to 刘洋, who registered her separately."""
    husband = walk_in(office, actor=office.rep3, visitor_name="王建军")
    assert husband.rep == office.rep
    husband = services.entry_register(actor=office.rep, entry_id=husband.pk, now=at(10, 30)).customer
    wife = walk_in(office, actor=office.rep3, visitor_name="李秀英", spouse_of=husband.pk, hour=11)
    assert wife.rep == office.rep2 and wife.spouse_of_id == husband.pk
    wife = services.entry_register(actor=office.rep2, entry_id=wife.pk, now=at(11, 30)).customer
    return husband, wife


def test_spouses_registered_separately_share_the_commission_half_each(office):
    from kehu.sales.facts import facts_for
    from kehu.sales.models import Deal

    husband, wife = _spouses(office)
    split = _sign(office, wife, office.rep2)
    assert split.rule == "spouses"
    lines = {(line.role, line.user_id, line.share_percent) for line in split.lines.all()}
    assert lines == {("receiving", office.rep2.pk, 50), ("spouse", office.rep.pk, 50)}
    assert "王建军" in split.explanation_zh
    facts = facts_for(Deal.objects.get(pk=split.deal_id))
    assert (facts.spouse_rep_id, facts.spouse_registered_first) == (office.rep.pk, True)


def test_spouses_first_receiver_variant_gives_it_all_to_the_rep_who_received_the_household_first(office):
    from kehu.sales.commissions.services import rule_update

    rule_update(actor=office.manager, code="spouses", data={"variant": "first_receiver"})
    husband, wife = _spouses(office)
    split = _sign(office, wife, office.rep2)  # 刘洋 closes with the wife, but 张伟 received the husband first
    assert [(line.user_id, line.share_percent) for line in split.lines.all()] == [(office.rep.pk, 100)]


def test_a_spouse_of_the_same_rep_or_in_the_pool_changes_nothing(office):
    husband = walk_in(office, actor=office.rep3, visitor_name="陈国栋")
    husband = services.entry_register(actor=office.rep, entry_id=husband.pk, now=at(10, 30)).customer
    wife = walk_in(
        office, actor=office.rep3, visitor_name="周敏", spouse_of=husband.pk, designated_rep=office.rep.pk
    )
    wife = services.entry_register(actor=office.rep, entry_id=wife.pk, now=at(11)).customer
    assert _sign(office, wife, office.rep).rule == "default"


def test_the_spouse_must_be_another_known_customer(office):
    customer = org_customer(office.rep, "杭州东站置业有限公司", serial=43)
    with pytest.raises(Invalid):
        walk_in(office, customer=customer.pk, spouse_of=customer.pk, visitor_name="")
    with pytest.raises(Invalid):
        walk_in(office, spouse_of="abc")
