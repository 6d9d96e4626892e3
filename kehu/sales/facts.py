"""The facts about how a won deal came about that the commission rules split on (佣金分配依据).

ORM-free. The commission app builds a ``DealFacts`` for a deal and asks every registered provider to
fill in what it knows: the ownership app (registrations, referrals, receptions, the visitor register)
is the main provider. The split engine (sales.commissions) reads only this object, so each rule is a
pure function tested without a database.

    from kehu.sales.facts import register_facts_provider

    @register_facts_provider
    def ownership_facts(deal, facts):      # deal: sales.Deal; fill fields, return nothing
        facts.registered_rep_id = ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class DealFacts:
    deal_id: int
    customer_id: int
    receiving_rep_id: int  # the rep who received the customer and closed (Deal.rep)
    signed_on: dt.date | None = None
    customer_is_company: bool = False  # 公司客户: came through the company's own channels, not a rep's
    arranged_by_company: bool = False  # the company arranged the reception (公司安排)
    followed_up_by_other_staff: bool = False  # other staff (not the rep) did the follow-up
    referrer_id: int | None = None  # employee who referred the customer (推荐/带客), confirmed
    first_receiver_id: int | None = None  # the rep first receiving a new customer who then asked for another
    designated_rep_id: int | None = None  # the rep the customer asked for mid-visit (指定接待)
    registered_rep_id: int | None = None  # holder of a registration valid when the deal's rep served
    forgotten_rep_id: int | None = None  # a rep who had received the customer before, found out later
    same_day_other_rep_id: int | None = None  # another rep who received the same customer the same day
    spouse_rep_id: int | None = None  # rep who registered the customer's spouse separately
    spouse_registered_first: bool = False  # the spouse's registration came before this customer's
    returned_within_month_after_no_deal: bool = False  # came back < 1 month after a visit without a deal
    previous_rep_id: int | None = None  # the rep of that earlier visit
    notes: list[str] = field(default_factory=list)  # provider explanations shown beside the split


_providers: list[Callable] = []


def register_facts_provider(fn: Callable) -> Callable:
    """Register fn(deal, facts) that fills DealFacts fields it knows about (idempotent)."""
    if fn not in _providers:
        _providers.append(fn)
    return fn


def facts_for(deal) -> DealFacts:
    """DealFacts for a deal, filled by every registered provider in registration order."""
    facts = DealFacts(deal_id=deal.pk, customer_id=deal.customer_id, receiving_rep_id=deal.rep_id,
                      signed_on=deal.signed_on)
    for fn in list(_providers):
        fn(deal, facts)
    return facts
