"""What the ownership records tell the commission split about a deal (kehu.sales.facts.DealFacts).

* registered_rep_id — another rep held a valid registration when the deal's rep served (the deal was
  recorded): their claim started before and had neither lapsed nor ended by then;
* referrer_id — the employee whose referral of this customer the project manager confirmed;
* forgotten_rep_id — a rep who was found later to have received the customer first: a dispute raised
  after the deal's rep served, decided with a share for the raiser;
* returned_within_month_after_no_deal / previous_rep_id — another rep's hold of the customer ended
  without a deal less than a month before the deal's rep registered it."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.sales.ownership import rules
from kehu.sales.ownership.models import Claim, Dispute, DisputeState, Referral, ReferralState


def ownership_facts(deal, facts) -> None:
    served_at = deal.created_at
    other = (Claim.objects.filter(customer_id=deal.customer_id, started_at__lte=served_at, valid_until__gt=served_at)
             .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=served_at)).exclude(rep_id=deal.rep_id)
             .order_by("started_at", "id").values_list("rep_id", flat=True).first())
    if other is not None:
        facts.registered_rep_id = other
        facts.notes.append(_("Another rep held a valid registration when the deal's rep served."))
    referrer = (Referral.objects.filter(customer_id=deal.customer_id, state=ReferralState.CONFIRMED)
                .exclude(referrer_id=deal.rep_id).order_by("-decided_at", "-id")
                .values_list("referrer_id", flat=True).first())
    if referrer is not None:
        facts.referrer_id = referrer
        facts.notes.append(_("Referred by an employee (confirmed by the project manager)."))
    found = (Dispute.objects.filter(customer_id=deal.customer_id, state=DisputeState.DECIDED,
                                    created_at__gt=served_at, raiser_share__gt=0)
             .exclude(raised_by_id=deal.rep_id).order_by("decided_at", "id")
             .values_list("raised_by_id", flat=True).first())
    if found is not None:
        facts.forgotten_rep_id = found
        facts.notes.append(_("A rep who received the customer first was found later (dispute decided)."))
    mine = (Claim.objects.filter(customer_id=deal.customer_id, rep_id=deal.rep_id, started_at__lte=served_at)
            .order_by("-started_at", "-id").values_list("started_at", flat=True).first())
    if mine is not None:
        prev = (Claim.objects.filter(customer_id=deal.customer_id, ended_at__isnull=False, ended_at__lte=mine)
                .exclude(rep_id=deal.rep_id).order_by("-ended_at", "-id").values_list("rep_id", "ended_at").first())
        if prev is not None:
            ended_day = timezone.localtime(prev[1]).date()
            back_day = timezone.localtime(mine).date()
            no_deal = not deal.__class__.objects.filter(customer_id=deal.customer_id, rep_id=prev[0]).exclude(
                stage="cancelled").exists()
            if no_deal and back_day < rules.add_months(ended_day, 1):
                facts.returned_within_month_after_no_deal = True
                facts.previous_rep_id = prev[0]
                facts.notes.append(_("The customer came back within a month after a visit without a deal."))
