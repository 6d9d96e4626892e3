"""What reception knows about how a won deal came about (kehu.sales.facts.DealFacts), from the register:

- ``first_receiver_id`` / ``designated_rep_id``: a new customer who, mid-visit, asked for another rep and
  was handed to them by the manager (seed 004 第12篇 5 2): first receiver 70 %, designated 30 %);
- ``same_day_other_rep_id``: another rep received the same customer the same day as the deal's rep
  (第14篇 (二) 5: 当日成交，奖金五五分成);
- ``customer_is_company``: the customer came through a company channel (公司客户, 第12篇 6(1) 1));
- ``arranged_by_company``: the company arranged the deal itself (第12篇 6(1) 4)).

Only walk-ins count (a call never decides who a customer belongs to, 第12篇 3 13)). Registered in
apps.py ready(); two queries per deal."""

from __future__ import annotations

from django.utils.translation import gettext as _


def reception_facts(deal, facts) -> None:
    from kehu.sales.reception.models import EntryKind, Refusal, RegisterEntry

    entries = list(RegisterEntry.objects.filter(customer_id=deal.customer_id, kind=EntryKind.WALK_IN)
                   .select_related("source").order_by("at", "id")
                   .only("id", "day", "rep_id", "first_receiver_id", "refusal", "arranged_by_company",
                         "source__company")[:500])
    if not entries:
        return
    if any(e.source.company for e in entries):
        facts.customer_is_company = True
        facts.notes.append(_("Reception: the customer came through a company channel."))
    if any(e.arranged_by_company for e in entries):
        facts.arranged_by_company = True
        facts.notes.append(_("Reception: the company arranged this customer's deal."))
    designated = [e for e in entries if e.refusal == Refusal.DESIGNATED and e.first_receiver_id
                  and e.first_receiver_id != e.rep_id]
    if designated:
        e = designated[0]
        facts.first_receiver_id, facts.designated_rep_id = e.first_receiver_id, e.rep_id
        facts.notes.append(_("Reception: the customer asked for another rep mid-visit (entry %(id)s).")
                           % {"id": e.pk})
    # same-day double reception: the deal's rep and another rep received the customer on one day
    days_of_rep = {e.day for e in entries if e.rep_id == deal.rep_id}
    for e in entries:
        if e.day in days_of_rep and e.rep_id != deal.rep_id and e.rep_id != facts.designated_rep_id \
                and e.rep_id != facts.first_receiver_id:
            facts.same_day_other_rep_id = e.rep_id
            facts.notes.append(_("Reception: another rep received the customer the same day (%(day)s).")
                               % {"day": e.day.isoformat()})
            break
