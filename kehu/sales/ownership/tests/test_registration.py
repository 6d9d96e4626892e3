"""Registration and ownership (客户登记 / 报备), the public pool (公海), referrals and disputes — each rule of
seed 004 named in its own test."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.audit.models import AuditEntry
from kehu.customers.models import ChangeRecord, Customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.sales.ownership import services
from kehu.sales.ownership.models import (
    Channel,
    Claim,
    Dispute,
    MoveKind,
    PoolMove,
    Referral,
    Registration,
    Verification,
)
from kehu.sales.ownership.tests.conftest import at


def owner(customer) -> int:
    return Customer.objects.get(pk=customer.pk).owner_id


def test_first_registration_makes_the_rep_the_owner(org, book, policy):
    reg = services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, channel=Channel.VISIT,
                                       now=at(2026, 3, 15))
    assert owner(book["huaxing"]) == org.rep2.pk
    claim = Claim.objects.get(customer=book["huaxing"], ended_at__isnull=True)
    assert (claim.rep_id, claim.registration_id) == (org.rep2.pk, reg.pk)
    assert claim.valid_until == at(2026, 4, 15, 0, 0)
    assert ChangeRecord.objects.filter(customer=book["huaxing"], changes__owner=[org.rep.pk, org.rep2.pk]).exists()
    entry = AuditEntry.objects.get(action="registration.create", object_id=str(reg.pk))
    assert entry.changes["owner"] == [org.rep.pk, org.rep2.pk]  # the owner change, in the registration's entry


def test_second_registration_within_validity_is_refused(org, book, policy):
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    with pytest.raises(Conflict) as err:
        services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, channel=Channel.CALL,
                                     now=at(2026, 4, 14, 23, 59))
    assert err.value.code == "already_registered"
    assert owner(book["huaxing"]) == org.rep.pk
    assert Registration.objects.filter(customer=book["huaxing"]).count() == 1
    with pytest.raises(Conflict) as err:
        services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 20))
    assert err.value.code == "already_registered_by_you"


def test_registration_after_the_validity_lapsed_wins(org, book, policy):
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 4, 15, 0, 0))
    assert owner(book["huaxing"]) == org.rep2.pk
    ended = Claim.objects.get(customer=book["huaxing"], rep=org.rep)
    assert ended.end_reason == "lapsed"


def test_validity_window_of_two_months_policy(org, book, policy, settings):
    settings.KEHU_OWNERSHIP = {**policy, "valid_months": 2}
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    with pytest.raises(Conflict):
        services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 5, 14, 20))
    services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 5, 15, 0, 0))
    assert owner(book["huaxing"]) == org.rep2.pk


def test_registration_of_a_new_customer_creates_it_and_registers_it(org, policy):
    reg = services.registration_create(actor=org.rep, new_customer={"name": "苏州工业园区华晟电子有限公司",
                                                                     "kind": "organization"}, now=at(2026, 3, 2))
    assert reg.customer.owner_id == org.rep.pk and Claim.objects.filter(customer=reg.customer).count() == 1


def test_registration_input_is_checked(org, book, policy):
    with pytest.raises(Invalid):
        services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, channel="pool")
    with pytest.raises(Invalid):
        services.registration_create(actor=org.rep)
    with pytest.raises(NotFound):
        services.registration_create(actor=org.rep, customer_id=10**9)
    with pytest.raises(Forbidden):
        services.registration_create(actor=org.finance, customer_id=book["huaxing"].pk)


def test_follow_up_renews_the_registration_when_the_policy_says_so(org, book, policy, settings):
    from kehu.engagement.services import interaction_create

    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk,
                                 now=dt.datetime.now(dt.UTC) - dt.timedelta(days=20))
    before = Claim.objects.get(customer=book["huaxing"]).valid_until
    interaction_create(actor=org.rep, data={"customer": book["huaxing"].pk, "channel": "phone",
                                            "summary": "电话回访，客户考虑扩产", "occurred_at": dt.datetime.now(dt.UTC)})
    after = Claim.objects.get(customer=book["huaxing"]).valid_until
    assert after > before
    settings.KEHU_OWNERSHIP = {**policy, "renew_on_followup": False}
    services.registration_create(actor=org.rep2, customer_id=book["yongxing"].pk,
                                 now=dt.datetime.now(dt.UTC) - dt.timedelta(days=20))
    before = Claim.objects.get(customer=book["yongxing"]).valid_until
    interaction_create(actor=org.rep2, data={"customer": book["yongxing"].pk, "channel": "phone",
                                             "summary": "电话回访", "occurred_at": dt.datetime.now(dt.UTC)})
    assert Claim.objects.get(customer=book["yongxing"]).valid_until == before


# ---------------------------------------------------------------- append-only register


def test_registration_records_are_never_altered_or_destroyed(org, book, policy):
    reg = services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    reg.note = "改过"
    with pytest.raises(RuntimeError):
        reg.save()
    with pytest.raises(RuntimeError):
        reg.delete()
    public = [n for n in dir(services) if n.startswith("registration_")]
    assert not [n for n in public if n.endswith(("_update", "_delete", "_edit", "_remove"))]
    assert Registration.objects.get(pk=reg.pk).note == ""


def test_a_correction_is_a_new_record_referencing_the_corrected_one(org, book, policy):
    reg = services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, channel=Channel.CALL,
                                       now=at(2026, 3, 15))
    fixed = services.registration_correct(actor=org.rep, registration_id=reg.pk, channel=Channel.VISIT,
                                          note="实为到访，误录为来电")
    assert fixed.pk != reg.pk and fixed.corrects_id == reg.pk and fixed.channel == "visit"
    assert Registration.objects.get(pk=reg.pk).channel == "call"
    with pytest.raises(NotFound):  # another rep's register is out of scope
        services.registration_correct(actor=org.rep2, registration_id=reg.pk, note="x")


def test_project_manager_verifies_registrations_once_and_never_their_own(org, book, policy):
    reg = services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    services.registration_verify(actor=org.manager, registration_id=reg.pk, verdict="confirmed")
    assert Verification.objects.get(registration=reg).verified_by_id == org.manager.pk
    with pytest.raises(Conflict) as err:
        services.registration_verify(actor=org.manager, registration_id=reg.pk, verdict="rejected", note="重复")
    assert err.value.code == "already_verified"
    with pytest.raises(Forbidden):
        services.registration_verify(actor=org.rep2, registration_id=reg.pk, verdict="confirmed")
    own = services.registration_create(actor=org.manager, customer_id=book["dongfang"].pk, now=at(2026, 3, 15))
    with pytest.raises(Forbidden):
        services.registration_verify(actor=org.manager, registration_id=own.pk, verdict="confirmed")
    with pytest.raises(NotFound):
        services.registration_verify(actor=org.north_manager, registration_id=reg.pk, verdict="confirmed")


def test_rejected_registration_returns_the_customer_to_the_pool(org, book, policy):
    reg = services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    services.registration_verify(actor=org.manager, registration_id=reg.pk, verdict="rejected", note="未实际到访")
    assert owner(book["huaxing"]) == services.pool_owner().pk
    assert PoolMove.objects.filter(customer=book["huaxing"], kind=MoveKind.REJECT).exists()


# ---------------------------------------------------------------- public pool


def test_lapse_at_the_validity_boundary_at_shanghai_midnight_returns_to_the_pool(org, book, policy):
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15, 18, 30))
    assert services.pool_sweep(now=at(2026, 4, 14, 23, 59, 59))["lapsed"] == 0
    assert owner(book["huaxing"]) == org.rep.pk
    assert services.pool_sweep(now=at(2026, 4, 15, 0, 0, 0))["lapsed"] == 1
    c = Customer.objects.get(pk=book["huaxing"].pk)
    assert c.owner_id == services.pool_owner().pk and c.department_id == org.depts["east"].pk
    move = PoolMove.objects.get(customer=book["huaxing"], kind=MoveKind.LAPSE)
    assert (move.rep_id, move.at) == (org.rep.pk, at(2026, 4, 15, 0, 0))
    assert not Claim.objects.filter(customer=book["huaxing"], ended_at__isnull=True).exists()


def test_customer_without_follow_up_for_n_days_returns_to_the_pool(org, book, policy):
    from kehu.engagement.services import interaction_create

    Customer.objects.filter(pk__in=[c.pk for c in book.values()]).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=90))
    interaction_create(actor=org.rep, data={"customer": book["dongfang"].pk, "channel": "phone",
                                            "summary": "电话沟通报价", "occurred_at": dt.datetime.now(dt.UTC)
                                            - dt.timedelta(days=3)})
    services.registration_create(actor=org.rep2, customer_id=book["yongxing"].pk)
    Customer.objects.filter(pk=book["yanshan"].pk).update(stage="customer")
    result = services.pool_sweep(now=dt.datetime.now(dt.UTC))
    assert result["idle"] == 1  # 华星 only: 东方 followed up, 甬兴 registered, 燕山 a signed customer
    assert owner(book["huaxing"]) == services.pool_owner().pk
    assert {owner(book["dongfang"]), owner(book["yongxing"]), owner(book["yanshan"])} == {
        org.rep.pk, org.rep2.pk, org.north_rep.pk}
    assert PoolMove.objects.get(customer=book["huaxing"]).kind == MoveKind.IDLE
    assert services.pool_sweep(now=dt.datetime.now(dt.UTC))["idle"] == 0


def test_a_lapsed_registration_moves_its_customer_once_not_again_as_idle(org, book, policy):
    """The sweep's two rules overlap (a lapsed prospect without follow-up is also idle): one move, the lapse."""
    Customer.objects.filter(pk__in=[c.pk for c in book.values()]).update(created_at=at(2026, 1, 5))
    Customer.objects.filter(pk__in=[book["yongxing"].pk, book["yanshan"].pk]).update(stage="customer")
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    result = services.pool_sweep(now=at(2026, 4, 15, 0, 0))
    assert (result["lapsed"], result["idle"]) == (1, 1)  # 华星 lapsed; 东方 idle (never registered)
    assert list(PoolMove.objects.filter(customer=book["huaxing"]).values_list("kind", flat=True)) == ["lapse"]
    assert list(PoolMove.objects.filter(customer=book["dongfang"]).values_list("kind", flat=True)) == ["idle"]
    pool = services.pool_owner().pk
    assert owner(book["huaxing"]) == owner(book["dongfang"]) == pool
    assert services.pool_sweep(now=at(2026, 4, 15, 1, 0)) == {"lapsed": 0, "idle": 0, "referrals_lapsed": 0,
                                                              "disputes_escalated": 0}


def test_a_claim_whose_holder_no_longer_owns_the_customer_does_not_block_a_registration(org, book, policy):
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    Customer.objects.filter(pk=book["huaxing"].pk).update(owner=org.rep2)  # reassigned by other means
    services.registration_create(actor=org.north_rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 20))
    assert owner(book["huaxing"]) == org.north_rep.pk
    assert Claim.objects.get(customer=book["huaxing"], rep=org.rep).end_reason == "owner_changed"
    assert Claim.objects.get(customer=book["huaxing"], ended_at__isnull=True).rep_id == org.north_rep.pk


def test_a_registration_hands_the_customers_open_review_item_to_the_new_owner(org, book, policy):
    from kehu.customers.review.models import ReviewItem, ReviewRun

    run = ReviewRun.objects.create(started_by=org.manager, stale_months=12, due_days=5, due_date=dt.date(2026, 3, 31))
    item = ReviewItem.objects.create(run=run, customer=book["huaxing"], assignee=org.rep,
                                     department=org.depts["east"], stale=True, due_date=dt.date(2026, 3, 31))
    done = ReviewItem.objects.create(run=run, customer=book["dongfang"], assignee=org.rep, stale=True,
                                     due_date=dt.date(2026, 3, 31), state="fixed", resolved_by=org.rep,
                                     resolved_at=at(2026, 3, 10))
    services.registration_create(actor=org.north_rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    services.registration_create(actor=org.north_rep, customer_id=book["dongfang"].pk, now=at(2026, 3, 15))
    item.refresh_from_db()
    assert (item.assignee_id, item.department_id) == (org.north_rep.pk, org.north_rep.department_id)
    assert ReviewItem.objects.get(pk=done.pk).assignee_id == org.rep.pk  # a resolved item stays where it was


def test_the_previous_owner_is_notified_with_the_registration_and_not_when_it_is_refused(org, book, policy):
    from kehu.notifications.models import Notification

    reg = services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 3, 15))
    note = Notification.objects.get(user=org.rep)  # written in the registration's own transaction
    assert note.link == f"/ownership/registrations/{reg.pk}/" and str(org.rep2) in note.title
    with pytest.raises(Conflict):
        services.registration_create(actor=org.north_rep, customer_id=book["huaxing"].pk, now=at(2026, 3, 16))
    assert not Notification.objects.filter(user=org.rep2).exists()


def _to_pool(org, *customers):
    for c in customers:
        services.pool_release(actor=org.manager, customer_id=c.pk, reason="长期未跟进")


def test_every_claim_and_release_is_recorded(org, book, policy):
    services.pool_release(actor=org.rep, customer_id=book["huaxing"].pk, reason="客户无意向")
    reg = services.pool_claim(actor=org.rep2, customer_id=book["huaxing"].pk)
    assert reg.channel == Channel.POOL and owner(book["huaxing"]) == org.rep2.pk
    kinds = list(PoolMove.objects.filter(customer=book["huaxing"]).order_by("at", "id").values_list("kind", "rep_id"))
    assert kinds == [("release", org.rep.pk), ("claim", org.rep2.pk)]
    assert AuditEntry.objects.filter(action="pool.release").count() == 1
    with pytest.raises(Conflict) as err:
        services.pool_claim(actor=org.rep, customer_id=book["dongfang"].pk)
    assert err.value.code == "not_in_pool"


def test_daily_claim_limit(org, book, policy):
    _to_pool(org, book["huaxing"], book["dongfang"], book["yongxing"])
    services.pool_claim(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 3, 16, 9))
    services.pool_claim(actor=org.rep2, customer_id=book["dongfang"].pk, now=at(2026, 3, 16, 10))
    with pytest.raises(Conflict) as err:
        services.pool_claim(actor=org.rep2, customer_id=book["yongxing"].pk, now=at(2026, 3, 16, 23, 59))
    assert err.value.code == "claim_limit_reached"
    services.pool_claim(actor=org.rep2, customer_id=book["yongxing"].pk, now=at(2026, 3, 17, 0, 0))


def test_maximum_held_customers(org, book, policy, settings):
    settings.KEHU_OWNERSHIP = {**policy, "max_held": 2}
    _to_pool(org, book["yongxing"])
    with pytest.raises(Conflict) as err:
        services.pool_claim(actor=org.rep, customer_id=book["yongxing"].pk)  # 张伟 holds 华星 and 东方
    assert err.value.code == "max_held_reached"


def test_registering_a_pool_customer_counts_as_a_claim(org, book, policy):
    _to_pool(org, book["huaxing"])
    services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, channel=Channel.CALL)
    assert PoolMove.objects.filter(customer=book["huaxing"], kind=MoveKind.CLAIM, rep=org.rep2).exists()


@pytest.mark.parametrize("status,code", [("suspended", "customer_suspended"),
                                         ("disqualified", "customer_disqualified")])
def test_suspended_or_disqualified_customer_cannot_be_claimed(org, book, policy, status, code):
    _to_pool(org, book["huaxing"])
    Customer.objects.filter(pk=book["huaxing"].pk).update(status=status)
    with pytest.raises(Conflict) as err:
        services.pool_claim(actor=org.rep2, customer_id=book["huaxing"].pk)
    assert err.value.code == code
    assert owner(book["huaxing"]) == services.pool_owner().pk


def test_only_the_owner_or_a_manager_releases(org, book, policy):
    with pytest.raises(NotFound):
        services.pool_release(actor=org.rep2, customer_id=book["huaxing"].pk, reason="x")
    with pytest.raises(Invalid):
        services.pool_release(actor=org.rep, customer_id=book["huaxing"].pk, reason="")


def test_pool_user_cannot_log_in(org, policy):
    pool = services.pool_owner()
    assert not pool.is_active and not pool.has_usable_password()


# ---------------------------------------------------------------- referrals


def test_referral_from_a_private_contact_confirmed_by_the_project_manager(org, book, policy):
    today = dt.date.today()
    ref = services.referral_create(actor=org.rep, customer_id=book["dongfang"].pk, relation="classmate",
                                   expected_visit_on=today)
    reg = services.registration_create(actor=org.rep2, customer_id=book["dongfang"].pk, channel=Channel.VISIT)
    assert reg.channel == Channel.REFERRAL and reg.referral_id == ref.pk
    assert owner(book["dongfang"]) == org.rep2.pk
    ref.refresh_from_db()
    assert (ref.state, ref.rep_id) == ("arrived", org.rep2.pk)
    services.referral_decide(actor=org.manager, referral_id=ref.pk, confirm=True)
    assert Referral.objects.get(pk=ref.pk).state == "confirmed"


def test_referral_needs_a_private_relation(org, book, policy):
    with pytest.raises(Invalid):
        services.referral_create(actor=org.rep, customer_id=book["dongfang"].pk, relation="advertisement",
                                 expected_visit_on=dt.date.today())


def test_referral_lapses_when_the_customer_does_not_come_that_day(org, book, policy):
    ref = services.referral_create(actor=org.rep, customer_id=book["dongfang"].pk, relation="friend",
                                   expected_visit_on=dt.date.today())
    services.pool_sweep(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert Referral.objects.get(pk=ref.pk).state == "lapsed"
    with pytest.raises(Conflict):
        services.referral_decide(actor=org.manager, referral_id=ref.pk, confirm=True)


def test_a_referred_customer_coming_on_another_day_is_not_a_referral_visit(org, book, policy):
    today = dt.date.today()
    ref = services.referral_create(actor=org.rep, customer_id=book["dongfang"].pk, relation="neighbour",
                                   expected_visit_on=today)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    services.pool_sweep(now=tomorrow)
    assert Referral.objects.get(pk=ref.pk).state == "lapsed"
    reg = services.registration_create(actor=org.rep2, customer_id=book["dongfang"].pk, channel=Channel.VISIT,
                                       now=tomorrow)
    assert (reg.channel, reg.referral_id) == (Channel.VISIT, None)
    assert Referral.objects.get(pk=ref.pk).rep_id is None


def test_a_referral_from_anything_but_a_private_contact_is_refused_by_the_database(org, book, policy):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.create(customer=book["dongfang"], referrer=org.rep, relation="advertisement",
                                expected_visit_on=dt.date.today())


# ---------------------------------------------------------------- disputes


def test_manager_decides_a_dispute_with_a_written_reason_and_split(org, book, policy):
    d = services.dispute_raise(actor=org.rep2, customer_id=book["huaxing"].pk,
                               statement="该客户3月初由我在展会接待，有名片为证")
    assert d.holder_id == org.rep.pk and d.level == 1
    with pytest.raises(Invalid):
        services.dispute_decide(actor=org.manager, dispute_id=d.pk, winner_id=org.rep2.pk, raiser_share=50, reason="")
    with pytest.raises(Invalid):
        services.dispute_decide(actor=org.manager, dispute_id=d.pk, winner_id=org.north_rep.pk, raiser_share=50,
                                reason="x")
    services.dispute_decide(actor=org.manager, dispute_id=d.pk, winner_id=org.rep2.pk, raiser_share=50,
                            reason="展会签到表证明刘洋首次接待")
    d = Dispute.objects.get(pk=d.pk)
    assert (d.state, d.winner_id, d.raiser_share, d.decided_by_id) == ("decided", org.rep2.pk, 50, org.manager.pk)
    assert owner(book["huaxing"]) == org.rep2.pk
    assert AuditEntry.objects.get(action="dispute.decide").changes["split"] == [50, 50]
    assert list(d.events.values_list("action", flat=True)) == ["raised", "decided"]


def test_unresolved_dispute_escalates_to_project_manager_then_sales_director(org, book, policy):
    d = services.dispute_raise(actor=org.rep2, customer_id=book["huaxing"].pk, statement="首次接待是我",
                               now=at(2026, 3, 1, 9))
    services.pool_sweep(now=at(2026, 3, 3, 9, 0, 1))
    assert Dispute.objects.get(pk=d.pk).level == 2
    services.pool_sweep(now=at(2026, 3, 5, 9, 0, 2))
    assert Dispute.objects.get(pk=d.pk).level == 3
    services.pool_sweep(now=at(2026, 3, 9, 9))
    assert Dispute.objects.get(pk=d.pk).level == 3  # the director is the top
    with pytest.raises(Forbidden):
        services.dispute_decide(actor=org.manager, dispute_id=d.pk, winner_id=org.rep.pk, raiser_share=0,
                                reason="维持原归属")
    services.dispute_decide(actor=org.executive, dispute_id=d.pk, winner_id=org.rep.pk, raiser_share=0,
                            reason="维持原归属")
    assert owner(book["huaxing"]) == org.rep.pk
    assert list(Dispute.objects.get(pk=d.pk).events.values_list("action", flat=True)) == [
        "raised", "escalated", "escalated", "decided"]


def test_dispute_rules(org, book, policy):
    with pytest.raises(Conflict):
        services.dispute_raise(actor=org.rep, customer_id=book["huaxing"].pk, statement="x")
    services.dispute_raise(actor=org.rep2, customer_id=book["huaxing"].pk, statement="x")
    with pytest.raises(Conflict):
        services.dispute_raise(actor=org.rep2, customer_id=book["huaxing"].pk, statement="again")


def test_pool_customer_matching_the_blacklist_cannot_be_claimed(org, book, policy):
    """A disqualified company's USCC, listed from a record since deleted, sits on an older duplicate in the
    pool: the claim is refused (seed 004 第13篇 第十七条) and the customer stays in the pool."""
    from kehu.qualification.blacklist.models import BlacklistEntry, ReasonCategory

    _to_pool(org, book["huaxing"])
    BlacklistEntry.objects.create(customer=None, customer_name="浙江华星石化有限公司", uscc=book["huaxing"].uscc,
                                  category=ReasonCategory.values[0], reason="虚开增值税发票")
    with pytest.raises(Conflict) as err:
        services.pool_claim(actor=org.rep2, customer_id=book["huaxing"].pk)
    assert err.value.code == "blacklisted"
    assert owner(book["huaxing"]) == services.pool_owner().pk
    assert not PoolMove.objects.filter(customer=book["huaxing"], kind=MoveKind.CLAIM).exists()
