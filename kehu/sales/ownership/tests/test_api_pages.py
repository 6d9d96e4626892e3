"""The ownership API and pages: codes and data, scope (another rep's registration is not found), bounded
queries; the workbench to-dos, the 360 thread entries, the deal facts provider and the demo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.customers.models import Customer
from kehu.sales.ownership import services
from kehu.sales.ownership.models import Claim, Dispute, Registration
from kehu.sales.ownership.tests.conftest import at


def test_register_by_api_then_second_rep_gets_409_already_registered(org, book, policy, api_client):
    r = api_client.as_user(org.rep2).post("/ownership/registrations", {"customer": book["huaxing"].pk,
                                                                        "channel": "visit", "note": "到访看样"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["customer"], body["rep"], body["channel"], body["verdict"]) == (book["huaxing"].pk, org.rep2.pk,
                                                                                 "visit", None)
    again = api_client.as_user(org.rep2).get(f"/ownership/registrations/{body['id']}").json()
    moments = ("registered_at", "valid_until")
    assert {k: v for k, v in again.items() if k not in moments} == {k: v for k, v in body.items() if k not in moments}
    assert all(dt.datetime.fromisoformat(again[k]) == dt.datetime.fromisoformat(body[k]) for k in moments)
    r = api_client.as_user(org.rep).post("/ownership/registrations", {"customer": book["huaxing"].pk})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_registered"
    r = api_client.as_user(org.rep).post("/ownership/registrations", {"customer": book["huaxing"].pk,
                                                                       "channel": "fax"})
    assert r.status_code == 422


def test_registration_outside_scope_is_not_found(org, book, policy, api_client):
    reg = services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk)
    assert api_client.as_user(org.rep).get(f"/ownership/registrations/{reg.pk}").status_code == 200
    assert api_client.as_user(org.manager).get(f"/ownership/registrations/{reg.pk}").status_code == 200
    for outsider in (org.rep2, org.north_rep, org.north_manager):
        r = api_client.as_user(outsider).get(f"/ownership/registrations/{reg.pk}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert api_client.as_user(org.finance).get(f"/ownership/registrations/{reg.pk}").status_code == 403
    assert api_client.as_user(org.rep2).get("/ownership/registrations").json()["items"] == []


def test_registration_list_filters_and_bounded_queries(org, book, policy, api_client, django_assert_max_num_queries):
    for key in ("huaxing", "dongfang"):
        services.registration_create(actor=org.rep, customer_id=book[key].pk)
    services.registration_create(actor=org.rep2, customer_id=book["yongxing"].pk)
    client = api_client.as_user(org.manager)
    client.get("/ownership/registrations")  # token warm-up
    with django_assert_max_num_queries(8):
        r = client.get("/ownership/registrations", {"unverified": "true", "limit": 2})
    assert r.status_code == 200 and len(r.json()["items"]) == 2 and r.json()["next"]
    second = client.get("/ownership/registrations", {"unverified": "true", "limit": 2, "cursor": r.json()["next"]})
    assert len(second.json()["items"]) == 1
    assert len(client.get("/ownership/registrations", {"rep": org.rep2.pk}).json()["items"]) == 1
    assert client.get("/ownership/registrations", {"limit": 100000}).status_code == 400


def test_verify_claim_release_referral_and_dispute_by_api(org, book, policy, api_client):
    reg = services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk)
    r = api_client.as_user(org.manager).post(f"/ownership/registrations/{reg.pk}/verify", {"verdict": "confirmed"})
    assert r.status_code == 200 and r.json()["verdict"] == "confirmed"
    r = api_client.as_user(org.rep).post(f"/ownership/customers/{book['dongfang'].pk}/release", {"reason": "无意向"})
    assert r.status_code == 201 and r.json()["kind"] == "release"
    r = api_client.as_user(org.rep2).get("/ownership/pool")
    assert [c["id"] for c in r.json()["items"]] == [book["dongfang"].pk]
    assert "mobile" not in r.json()["items"][0]
    r = api_client.as_user(org.rep2).post(f"/ownership/pool/{book['dongfang'].pk}/claim", {})
    assert r.status_code == 201 and r.json()["channel"] == "pool"
    moves = api_client.as_user(org.rep2).get("/ownership/pool-moves").json()["items"]
    assert [m["kind"] for m in moves] == ["claim"]
    r = api_client.as_user(org.north_rep).post("/ownership/disputes", {"customer": book["huaxing"].pk,
                                                                        "statement": "我先接待"})
    assert r.status_code == 201
    d = r.json()["id"]
    assert api_client.as_user(org.rep2).get(f"/ownership/disputes/{d}").status_code == 404
    r = api_client.as_user(org.manager).post(f"/ownership/disputes/{d}/decide",
                                             {"winner": org.rep.pk, "raiser_share": 20, "reason": "报备在先"})
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["raiser_share"], r.json()["holder_share"]) == ("decided", 20, 80)
    r = api_client.as_user(org.rep).post("/ownership/referrals", {"customer": book["huaxing"].pk, "relation": "friend",
                                                                   "expected_visit_on": str(timezone.localdate())})
    assert r.status_code == 201 and r.json()["state"] == "pending"


def test_bad_input_answers_4xx_in_the_error_format(org, book, policy, api_client):
    c = api_client.as_user(org.rep)
    assert c.post("/ownership/pool/99999999999999999999/claim", {}).status_code in (404, 422)
    assert c.post(f"/ownership/pool/{2**62}/claim", {}).status_code == 404
    r = c.post("/ownership/disputes", {"customer": 2**62, "statement": "x"})
    assert r.status_code == 404 and set(r.json()["error"]) == {"code", "message", "fields"}
    assert c.post("/ownership/referrals", {"customer": book["huaxing"].pk, "relation": "x",
                                           "expected_visit_on": "2020-01-01"}).status_code == 422


# ---------------------------------------------------------------- pages


def test_phone_registration_page_finds_and_registers_in_two_taps(org, book, policy, client):
    client.force_login(org.rep2)
    page = client.get("/ownership/registrations/", {"q": "华星"})
    assert page.status_code == 200
    assert b'data-testid="register-visit"' not in page.content  # 华星 is 张伟's: not in 刘洋's search
    page = client.get("/ownership/registrations/", {"q": "甬兴"})
    assert b'data-testid="register-visit"' in page.content
    r = client.post("/ownership/registrations/", {"customer": book["yongxing"].pk, "channel": "visit", "q": "甬兴"})
    assert r.status_code == 302
    reg = Registration.objects.get(customer=book["yongxing"])
    assert r["Location"].endswith(f"/ownership/registrations/{reg.pk}/")
    assert client.get(r["Location"]).status_code == 200
    r = client.post("/ownership/registrations/", {"new_name": "温州瓯江阀门有限公司", "channel": "call"})
    assert r.status_code == 302 and Registration.objects.filter(customer__name="温州瓯江阀门有限公司").exists()


def test_conflict_on_the_page_offers_a_dispute(org, book, policy, client):
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk)
    client.force_login(org.rep2)
    r = client.post("/ownership/registrations/", {"customer": book["huaxing"].pk, "channel": "visit"})
    assert r.status_code == 400 and b'data-testid="registration-conflict"' in r.content
    r = client.post("/ownership/disputes/", {"customer": book["huaxing"].pk, "statement": "上周我已接待"})
    d = Dispute.objects.get()
    assert r.status_code == 302
    client.force_login(org.manager)
    assert client.get(f"/ownership/disputes/{d.pk}/").status_code == 200
    r = client.post(f"/ownership/disputes/{d.pk}/", {"winner": org.rep2.pk, "raiser_share": "100", "reason": "核实"})
    assert r.status_code == 302 and Customer.objects.get(pk=book["huaxing"].pk).owner_id == org.rep2.pk


def test_pool_referral_and_dispute_pages(org, book, policy, client):
    services.pool_release(actor=org.rep, customer_id=book["dongfang"].pk, reason="无意向")
    client.force_login(org.rep2)
    assert client.get("/ownership/pool/").status_code == 200
    r = client.post("/ownership/pool/", {"customer": book["dongfang"].pk})
    assert r.status_code == 302 and Customer.objects.get(pk=book["dongfang"].pk).owner_id == org.rep2.pk
    for url in ("/ownership/referrals/", "/ownership/disputes/", "/ownership/registrations/?unverified=1"):
        assert client.get(url).status_code == 200
    client.force_login(org.finance)
    assert client.get("/ownership/registrations/").status_code == 403


# ---------------------------------------------------------------- workbench, thread, facts


def test_workbench_todos_for_manager_and_rep(org, book, policy):
    from kehu.sales.ownership import workbench

    now = timezone.now()
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=now - dt.timedelta(days=29))
    services.dispute_raise(actor=org.rep2, customer_id=book["dongfang"].pk, statement="我先接待")
    kw = {"today": timezone.localdate(), "now": now, "limit": 10}
    assert [t.kind for t in workbench.registrations_to_verify(org.manager, **kw)] == ["registration_verify"]
    assert workbench.registrations_to_verify(org.rep, **kw) == []
    assert [t.kind for t in workbench.registrations_lapsing(org.rep, **kw)] == ["registration_lapsing"]
    assert workbench.registrations_lapsing(org.rep2, **kw) == []
    assert [t.kind for t in workbench.disputes_to_decide(org.manager, **kw)] == ["dispute_decide"]
    assert workbench.disputes_to_decide(org.rep, **kw) == []


def test_thread_shows_registrations_and_pool_moves(org, book, policy):
    from kehu.sales.ownership.thread import pool_thread, registration_thread

    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk)
    services.pool_release(actor=org.rep, customer_id=book["huaxing"].pk, reason="无意向")
    assert [i.kind for i in registration_thread(org.rep, book["huaxing"].pk, None, 10)] == ["registration"]
    assert [i.kind for i in pool_thread(org.manager, book["huaxing"].pk, None, 10)] == ["pool_move"]
    assert registration_thread(org.north_rep, book["huaxing"].pk, None, 10) == []


def _deal(org, customer, rep, created_at):
    from kehu.sales.models import Deal

    deal = Deal.objects.create(customer=customer, title="年度框架协议", amount=100000, rep=rep,
                               department=rep.department, created_by=rep)
    Deal.objects.filter(pk=deal.pk).update(created_at=created_at)
    deal.refresh_from_db()
    return deal


def test_facts_registered_rep_when_another_rep_held_a_valid_registration(org, book, policy):
    from kehu.sales.facts import facts_for

    services.registration_create(actor=org.rep, customer_id=book["yongxing"].pk, now=at(2026, 3, 1))
    facts = facts_for(_deal(org, book["yongxing"], org.rep2, at(2026, 3, 20)))
    assert facts.registered_rep_id == org.rep.pk
    assert facts_for(_deal(org, book["yongxing"], org.rep2, at(2026, 4, 2))).registered_rep_id is None
    assert facts_for(_deal(org, book["yongxing"], org.rep, at(2026, 3, 20))).registered_rep_id is None


def test_facts_referrer_of_a_confirmed_referral(org, book, policy):
    from kehu.sales.facts import facts_for

    ref = services.referral_create(actor=org.rep, customer_id=book["dongfang"].pk, relation="relative",
                                   expected_visit_on=timezone.localdate())
    services.registration_create(actor=org.rep2, customer_id=book["dongfang"].pk)
    deal = _deal(org, book["dongfang"], org.rep2, timezone.now())
    assert facts_for(deal).referrer_id is None  # not yet confirmed
    services.referral_decide(actor=org.manager, referral_id=ref.pk, confirm=True)
    assert facts_for(deal).referrer_id == org.rep.pk


def test_facts_forgotten_rep_found_later_by_a_dispute(org, book, policy):
    from kehu.sales.facts import facts_for

    deal = _deal(org, book["huaxing"], org.rep, timezone.now() - dt.timedelta(days=2))
    d = services.dispute_raise(actor=org.rep2, customer_id=book["huaxing"].pk, statement="客户当初是我接待的")
    services.dispute_decide(actor=org.manager, dispute_id=d.pk, winner_id=org.rep.pk, raiser_share=50,
                            reason="双方均有接待记录")
    assert facts_for(deal).forgotten_rep_id == org.rep2.pk


def test_facts_returned_within_a_month_after_no_deal(org, book, policy):
    from kehu.sales.facts import facts_for

    services.registration_create(actor=org.rep, customer_id=book["yongxing"].pk, now=at(2026, 3, 1))
    services.pool_sweep(now=at(2026, 4, 1, 0, 0), idle=False)  # 张伟's registration lapsed, no deal
    services.registration_create(actor=org.rep2, customer_id=book["yongxing"].pk, now=at(2026, 4, 20))
    facts = facts_for(_deal(org, book["yongxing"], org.rep2, at(2026, 4, 25)))
    assert (facts.returned_within_month_after_no_deal, facts.previous_rep_id) == (True, org.rep.pk)
    assert facts.registered_rep_id is None


def test_facts_not_returned_after_more_than_a_month(org, book, policy):
    from kehu.sales.facts import facts_for

    services.registration_create(actor=org.rep, customer_id=book["yongxing"].pk, now=at(2026, 3, 1))
    services.pool_sweep(now=at(2026, 4, 1, 0, 0), idle=False)
    services.registration_create(actor=org.rep2, customer_id=book["yongxing"].pk, now=at(2026, 5, 2))
    facts = facts_for(_deal(org, book["yongxing"], org.rep2, at(2026, 5, 3)))
    assert facts.returned_within_month_after_no_deal is False and facts.previous_rep_id is None


@pytest.mark.slow
def test_demo_loads_a_month_of_registrations_a_lapse_a_claim_a_referral_and_a_dispute(org, book, policy):
    import random

    from kehu.sales.ownership.demo import demo_load

    for i in range(6):
        from kehu.customers.tests.factories import org_customer

        org_customer(org.rep, f"杭州演示客户{i}号有限公司")
    users = {"admin": org.admin, "manager": org.manager, "north_manager": org.north_manager, "rep": org.rep,
             "rep2": org.rep2, "north_rep": org.north_rep}
    summary = demo_load(users=users, rng=random.Random(31))
    assert summary.startswith("ownership:")
    assert "1 lapsed" in summary and "1 claimed" in summary and "1 referral" in summary and "1 dispute" in summary
    assert Registration.objects.count() >= 5 and Claim.objects.filter(end_reason="lapsed").exists()
    assert Dispute.objects.filter(state="open").count() == 1
    assert demo_load(users=users, rng=random.Random(31)).endswith("already there")


def test_the_register_shows_the_last_day_a_registration_protects(org, book, policy, client):
    """A registration made 2026-05-02 under a one-month policy ends at 2026-06-02 00:00 Asia/Shanghai: the
    register and the lapsing list say it is valid through 2026-06-01, as the success message does."""
    reg = services.registration_create(actor=org.rep2, customer_id=book["yongxing"].pk, now=at(2026, 5, 2))
    assert timezone.localtime(reg.valid_until) == timezone.make_aware(dt.datetime(2026, 6, 2))
    assert reg.last_valid_day == dt.date(2026, 6, 1)
    client.force_login(org.rep2)
    page = client.get("/ownership/registrations/").content.decode()
    assert "2026-06-01" in page and "2026-06-02 00:00" not in page
