"""What reception knows about how a won deal came about (kehu.sales.facts.DealFacts), from the register:

- ``first_receiver_id`` / ``designated_rep_id``: a new customer who, mid-visit, asked for another rep and
  was handed to them by the manager (seed 004 第12篇 5 2): first receiver 70 %, designated 30 %);
- ``same_day_other_rep_id``: another rep received the same customer the same day as the deal's rep
  (第14篇 (二) 5: 当日成交，奖金五五分成);
- ``customer_is_company``: the customer came through a company channel (公司客户, 第12篇 6(1) 1));
- ``arranged_by_company``: the company arranged the deal itself (第12篇 6(1) 4)).

- ``spouse_rep_id`` / ``spouse_registered_first``: the desk recorded the visitor as the spouse of a customer
  registered separately (``RegisterEntry.spouse_of``, either way round) and that customer is another rep's
  (第12篇 7 4): 50/50; 第14篇 3(11): the first receiver); who registered first is read from the ownership
  register, else from the first walk-ins.

Only walk-ins count (a call never decides who a customer belongs to, 第12篇 3 13)). Registered in
apps.py ready(); two queries per deal, three more when a spouse is on record."""

from __future__ import annotations

from django.db.models import Min, Q
from django.utils.translation import gettext as _


def reception_facts(deal, facts) -> None:
    from kehu.sales.reception.models import EntryKind, Refusal, RegisterEntry

    entries = list(RegisterEntry.objects.filter(customer_id=deal.customer_id, kind=EntryKind.WALK_IN)
                   .select_related("source").order_by("at", "id")
                   .only("id", "day", "rep_id", "first_receiver_id", "refusal", "arranged_by_company",
                         "source__company")[:500])
    if not entries:
        _spouse_facts(deal, facts)
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
    _spouse_facts(deal, facts)


def _first_seen(customer_ids) -> dict:
    """customer id → when it was first registered (the ownership register), else first received at the desk."""
    from kehu.sales.ownership.models import Registration
    from kehu.sales.reception.models import EntryKind, RegisterEntry

    seen = dict(Registration.objects.filter(customer_id__in=customer_ids).values("customer_id")
                .annotate(first=Min("registered_at")).values_list("customer_id", "first"))
    missing = [c for c in customer_ids if c not in seen]
    if missing:
        seen.update(RegisterEntry.objects.filter(customer_id__in=missing, kind=EntryKind.WALK_IN)
                    .values("customer_id").annotate(first=Min("at")).values_list("customer_id", "first"))
    return seen


def _spouse_facts(deal, facts) -> None:
    from kehu.access.roles import Perm
    from kehu.customers.models import Customer
    from kehu.sales.reception.models import EntryKind, RegisterEntry

    me = deal.customer_id
    pairs = (RegisterEntry.objects.filter(kind=EntryKind.WALK_IN, spouse_of__isnull=False, customer__isnull=False)
             .filter(Q(customer_id=me) | Q(spouse_of_id=me)).values_list("customer_id", "spouse_of_id")[:50])
    spouses = sorted({b if a == me else a for a, b in pairs} - {me})
    if not spouses:
        return
    for spouse in Customer.objects.filter(pk__in=spouses, deleted_at__isnull=True).select_related("owner") \
            .order_by("id"):
        rep = spouse.owner
        if rep.pk == deal.rep_id or not rep.is_active or not rep.has_kehu_perm(Perm.SALES_WRITE):
            continue  # the same rep's household, or the spouse is in the pool: no second rep to share with
        seen = _first_seen([me, spouse.pk])
        facts.spouse_rep_id = rep.pk
        facts.spouse_registered_first = bool(seen.get(spouse.pk) and (
            seen.get(me) is None or seen[spouse.pk] < seen[me]))
        facts.notes.append(_("Reception: the customer's spouse %(spouse)s was registered separately by %(rep)s.")
                           % {"spouse": spouse.name, "rep": str(rep)})
        return
