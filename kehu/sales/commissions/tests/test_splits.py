"""The split engine (ORM-free): every rule of seed 004 as a named test with hand-computed amounts, the
precedence when several facts hold, and hypothesis proving the shares always sum to exactly 100 % and
the amounts to the commission base to the fen."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.sales.commissions import splits
from kehu.sales.commissions.splits import RuleSpec
from kehu.sales.facts import DealFacts

REP, REP2, REP3, REFERRER = 11, 12, 13, 21  # 张伟, 刘洋, 陈静, 行政部 王芳


def facts(**kw) -> DealFacts:
    return DealFacts(deal_id=1, customer_id=1, receiving_rep_id=REP, **kw)


def table(result) -> list[tuple]:
    return [(s.role, s.user_id, s.percent, s.amount) for s in result.shares]


RULES = splits.default_rules()


def test_referral_by_an_employee_gives_the_referrer_30_and_the_receiving_rep_70():
    """004 第11篇 8: 成交佣金的30%为介绍人的佣金，70%为接待客户的售楼员的佣金."""
    r = splits.split(facts(referrer_id=REFERRER), RULES, D("10000.00"))
    assert r.rule == "referral"
    assert table(r) == [("receiving", REP, D("70.00"), D("7000.00")), ("referrer", REFERRER, D("30.00"), D("3000.00"))]
    assert "员工介绍客户" in r.explanation_zh and "第11篇" in r.explanation_zh


def test_company_customer_followed_by_the_rep_70_rep_30_pool():
    """第12篇 6(1) 3): 售楼员全程跟进成交的，该售楼员得70%，30%作为公佣."""
    r = splits.split(facts(customer_is_company=True), RULES, D("8888.88"))
    assert r.rule == "company_customer"
    # pool 30 % of 8888.88 = 2666.664 → 2666.66 (truncated); the rep takes the remainder 6222.22
    assert table(r) == [("receiving", REP, D("70.00"), D("6222.22")), ("pool", None, D("30.00"), D("2666.66"))]


def test_company_customer_arranged_by_the_company_30_rep_70_pool():
    """第12篇 6(1) 4): 公司直接安排成交，售楼员负责售后跟进的，该售楼员得30%，70%作为公佣."""
    r = splits.split(facts(customer_is_company=True, arranged_by_company=True), RULES, D("10000.00"))
    assert r.rule == "company_arranged"
    assert table(r) == [("receiving", REP, D("30.00"), D("3000.00")), ("pool", None, D("70.00"), D("7000.00"))]


def test_company_customer_followed_up_by_other_staff_all_to_the_pool():
    """第12篇 6(1) 5): 交由其他员工主要（非售楼员）跟进售后手续的，成交佣金全部作为公佣处理."""
    r = splits.split(facts(customer_is_company=True, arranged_by_company=True, followed_up_by_other_staff=True),
                     RULES, D("5432.10"))
    assert r.rule == "company_other_staff"
    assert table(r) == [("pool", None, D("100.00"), D("5432.10"))]
    assert "company_arranged" in r.superseded and "company_customer" in r.superseded


def test_new_customer_asking_for_another_rep_mid_visit_first_70_designated_30():
    """第12篇 5 2): 傭金的70%歸最先接待的售樓員，30%歸被指定接待的售樓員 (the designated rep closed)."""
    f = facts(first_receiver_id=REP2, designated_rep_id=REP)
    r = splits.split(f, RULES, D("100.01"))
    assert r.rule == "designated_mid_visit"
    # first receiver 70 % of 100.01 = 70.007 → 70.00; the designated (receiving) rep: 30.01
    assert table(r) == [("first_receiver", REP2, D("70.00"), D("70.00")), ("designated", REP, D("30.00"), D("30.01"))]


def test_another_rep_within_the_first_reps_validity_80_20():
    """第14篇 3(2): 若b屬建檔有效期，提成為a:80%，b:20%."""
    r = splits.split(facts(registered_rep_id=REP2), RULES, D("12345.67"))
    assert r.rule == "within_validity"
    # b: 20 % of 12345.67 = 2469.134 → 2469.13; a: 12345.67 − 2469.13 = 9876.54
    assert table(r) == [("receiving", REP, D("80.00"), D("9876.54")), ("registered", REP2, D("20.00"), D("2469.13"))]


def test_forgotten_rep_found_later_half_each_remainder_to_the_receiving_rep():
    """第14篇 3(7): 若屬建檔有效期，獎金a:50%，b:50%."""
    r = splits.split(facts(forgotten_rep_id=REP2), RULES, D("0.03"))
    assert r.rule == "forgotten_rep"
    assert table(r) == [("receiving", REP, D("50.00"), D("0.02")), ("forgotten", REP2, D("50.00"), D("0.01"))]


def test_same_day_double_reception_half_each():
    """第14篇 (二) 5: 如果當日成交，獎金則五五分成."""
    r = splits.split(facts(same_day_other_rep_id=REP2), RULES, D("9999.99"))
    assert r.rule == "same_day_double"
    assert table(r) == [("receiving", REP, D("50.00"), D("5000.00")), ("same_day", REP2, D("50.00"), D("4999.99"))]


def test_spouses_registered_separately_half_each_in_the_vanke_policy():
    """第12篇 7 4): 夫妻客……由甲、乙共同接待，傭金雙方各得一半."""
    r = splits.split(facts(spouse_rep_id=REP2), RULES, D("20000.00"))
    assert r.rule == "spouses"
    assert table(r) == [("receiving", REP, D("50.00"), D("10000.00")), ("spouse", REP2, D("50.00"), D("10000.00"))]


def _first_receiver_rules():
    return [dataclasses.replace(r, variant=splits.SPOUSES_FIRST_RECEIVER) if r.code == "spouses" else r
            for r in RULES]


def test_spouses_first_receiver_variant_gives_all_to_the_spouses_earlier_rep():
    """第14篇 3(11): 家庭有一方先來看房，另一方後來看房，成交後以先接待者為準."""
    r = splits.split(facts(spouse_rep_id=REP2, spouse_registered_first=True), _first_receiver_rules(),
                     D("20000.00"))
    assert r.rule == "spouses"
    assert table(r) == [("spouse", REP2, D("100.00"), D("20000.00"))]
    assert "先接待者" in r.explanation_zh


def test_spouses_first_receiver_variant_keeps_all_with_the_receiving_rep_who_came_first():
    r = splits.split(facts(spouse_rep_id=REP2, spouse_registered_first=False), _first_receiver_rules(),
                     D("20000.00"))
    assert table(r) == [("receiving", REP, D("100.00"), D("20000.00"))]


def test_returning_within_a_month_after_no_deal_new_rep_follows_and_the_commission_is_halved():
    """第12篇 3 7) i: 在之後1個月內認出來的，客戶由新售樓員負責跟進，成交傭金由原售樓員和新售樓員平分."""
    r = splits.split(facts(returned_within_month_after_no_deal=True, previous_rep_id=REP2), RULES, D("15000.00"))
    assert r.rule == "returned_within_month"
    assert table(r) == [("receiving", REP, D("50.00"), D("7500.00")), ("previous", REP2, D("50.00"), D("7500.00"))]
    assert "减半" in r.explanation_zh


def test_no_special_fact_the_receiving_rep_takes_all():
    r = splits.split(facts(), RULES, D("3210.00"))
    assert r.rule == "default"
    assert table(r) == [("receiving", REP, D("100.00"), D("3210.00"))]
    assert r.superseded == ()


# ---------------------------------------------------------------- precedence

def test_precedence_company_customer_before_referral_and_the_referral_is_named_as_superseded():
    r = splits.split(facts(customer_is_company=True, referrer_id=REFERRER), RULES, D("10000.00"))
    assert r.rule == "company_customer"
    assert r.superseded == ("referral",)
    assert "员工介绍客户" in r.explanation_zh  # named as not applying


def test_precedence_valid_registration_80_20_before_forgotten_and_same_day():
    r = splits.split(facts(registered_rep_id=REP2, forgotten_rep_id=REP3, same_day_other_rep_id=REP3), RULES,
                     D("1000.00"))
    assert r.rule == "within_validity"
    assert r.superseded == ("forgotten_rep", "same_day_double")


def test_precedence_is_data_a_rule_moved_first_applies_first():
    moved = [dataclasses.replace(r, precedence=1) if r.code == "same_day_double" else r for r in RULES]
    r = splits.split(facts(registered_rep_id=REP2, same_day_other_rep_id=REP3), moved, D("1000.00"))
    assert r.rule == "same_day_double"


def test_an_inactive_rule_is_skipped_for_the_next_one():
    off = [dataclasses.replace(r, active=False) if r.code == "referral" else r for r in RULES]
    r = splits.split(facts(referrer_id=REFERRER, same_day_other_rep_id=REP2), off, D("1000.00"))
    assert r.rule == "same_day_double"


def test_a_rule_whose_two_parties_are_the_same_rep_does_not_apply():
    r = splits.split(facts(registered_rep_id=REP), RULES, D("1000.00"))
    assert r.rule == "default"


def test_the_shares_are_data_an_edited_referral_share_is_used():
    edited = [dataclasses.replace(r, share=D("65.50")) if r.code == "referral" else r for r in RULES]
    r = splits.split(facts(referrer_id=REFERRER), edited, D("1000.00"))
    assert table(r) == [("receiving", REP, D("65.50"), D("655.00")), ("referrer", REFERRER, D("34.50"), D("345.00"))]


def test_every_rule_switched_off_still_pays_the_receiving_rep():
    r = splits.split(facts(referrer_id=REFERRER), [dataclasses.replace(r, active=False) for r in RULES], D("10"))
    assert r.rule == "default" and table(r) == [("receiving", REP, D("100.00"), D("10.00"))]


def test_manual_split_must_sum_to_100():
    with pytest.raises(ValueError):
        splits.manual_split(D("100"), [("receiving", REP, D("60")), ("other", REP2, D("30"))], reason="x")
    r = splits.manual_split(D("100.00"), [("receiving", REP, D("60")), ("other", REP2, D("40"))], reason="争议裁定")
    assert table(r) == [("receiving", REP, D("60"), D("60.00")), ("other", REP2, D("40"), D("40.00"))]
    assert "争议裁定" in r.explanation_zh


# ---------------------------------------------------------------- properties

user_ids = st.one_of(st.none(), st.sampled_from([REP, REP2, REP3, REFERRER]))
fact_values = st.fixed_dictionaries({
    "customer_is_company": st.booleans(), "arranged_by_company": st.booleans(),
    "followed_up_by_other_staff": st.booleans(), "referrer_id": user_ids, "first_receiver_id": user_ids,
    "designated_rep_id": user_ids, "registered_rep_id": user_ids, "forgotten_rep_id": user_ids,
    "same_day_other_rep_id": user_ids, "spouse_rep_id": user_ids, "spouse_registered_first": st.booleans(),
    "returned_within_month_after_no_deal": st.booleans(), "previous_rep_id": user_ids})
shares = st.integers(min_value=0, max_value=10000).map(lambda n: D(n) / 100)
bases = st.integers(min_value=0, max_value=10**12).map(lambda n: D(n) / 100)


@st.composite
def rule_sets(draw):
    order = draw(st.permutations(splits.CODES))
    return [RuleSpec(code=c, share=draw(shares), precedence=i + 1, active=draw(st.booleans()),
                     variant=draw(st.sampled_from(["split", "first_receiver"])) if c == "spouses" else "")
            for i, c in enumerate(order)]


@settings(max_examples=200, deadline=None)
@given(values=fact_values, rules=rule_sets(), base=bases)
def test_splits_always_sum_to_100_percent_and_to_the_base_to_the_fen(values, rules, base):
    r = splits.split(facts(**values), rules, base)
    assert sum(s.percent for s in r.shares) == D("100")
    assert sum(s.amount for s in r.shares) == base
    assert all(s.amount >= 0 and s.amount == s.amount.quantize(D("0.01")) for s in r.shares)
    assert all(s.percent > 0 for s in r.shares)
    people = [s.user_id for s in r.shares]
    assert len(people) == len(set(people))  # nobody twice (and the pool at most once)
    # every line but the remainder-taker is the truncated share: at most one fen per line below the exact
    exact = {s.user_id: base * s.percent / 100 for s in r.shares}
    assert all(abs(s.amount - exact[s.user_id]) < D("0.01") * len(r.shares) for s in r.shares)
    assert r.explanation_zh.startswith("适用规则")


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.integers(min_value=1, max_value=9999), min_size=1, max_size=6), base=bases)
def test_amounts_sum_to_the_base_for_any_shares_summing_to_100(lines, base):
    total = sum(lines)
    pcts = [D(n) * 100 / total for n in lines]
    pcts = [p.quantize(D("0.01")) for p in pcts]
    pcts[0] += D("100") - sum(pcts)
    rows = [("receiving" if i == 0 else "other", i + 1, p) for i, p in enumerate(pcts) if p > 0]
    out = splits.amounts(base, rows)
    assert sum(s.amount for s in out) == base
    assert all(s.amount >= 0 for s in out)


def test_the_explanation_lists_the_providers_notes_with_one_full_stop():
    """Each provider's note is a sentence; the explanation closes the list of them once (no "。。")."""
    facts = DealFacts(deal_id=1, customer_id=1, receiving_rep_id=7,
                      notes=["接待：该客户为公司客户（公司渠道介绍）。", "Referred by an employee."])
    result = splits.split(facts, splits.default_rules(), D("100"))
    assert "。。" not in result.explanation_zh and ".。" not in result.explanation_zh
    assert result.explanation_zh.endswith("依据：接待：该客户为公司客户（公司渠道介绍）；Referred by an employee。")
