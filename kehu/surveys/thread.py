"""Survey responses in the customer 360 page's thread (kehu/customers/profile.py): for those who manage
surveys or enter answers, the customer's answered surveys with their overall and NPS scores."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.scopes import scope_q
from kehu.customers.profile import ThreadItem, thread_provider
from kehu.surveys import selectors
from kehu.surveys.models import Answer, Channel, Response


@thread_provider("survey", label=gettext_lazy("Satisfaction surveys"))
def survey_thread(actor, customer_id, before, limit):
    if not (selectors.can_manage(actor) or selectors.can_enter(actor)):
        return []
    qs = Response.objects.filter(scope_q(actor, owner_field="customer__owner", department_field="customer__department"),
                                 customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("submitted_at", "survey"))
    rows = list(qs.order_by("-submitted_at", "-id").values_list("id", "submitted_at", "campaign_id", "campaign__name",
                                                                "channel")[:limit])
    scores: dict[int, dict[str, int]] = {}
    for response_id, kind, number in Answer.objects.filter(
            response_id__in=[r[0] for r in rows], question__kind__in=["nps", "rating_10"], number__isnull=False
    ).values_list("response_id", "question__kind", "number"):
        scores.setdefault(response_id, {})[kind] = number
    out = []
    for pk, at, campaign_id, name, channel in rows:
        s = scores.get(pk, {})
        parts = [str(Channel(channel).label)] if channel in Channel.values else []
        if "rating_10" in s:
            parts.append(_("overall %(n)d/10") % {"n": s["rating_10"]})
        if "nps" in s:
            parts.append(_("recommend %(n)d/10") % {"n": s["nps"]})
        url = reverse("surveys:campaign", args=[campaign_id]) if selectors.can_manage(actor) else ""
        out.append(ThreadItem(kind="survey", id=pk, at=at, title=name, url=url, detail=" · ".join(parts),
                              badge=_("Survey"), alert=bool(s.get("nps") is not None and s["nps"] <= 6)))
    return out
