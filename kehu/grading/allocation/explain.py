"""A share's explanation in words (the page shows it under each share; the API returns the raw JSON)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from kehu.grading.allocation.models import ParticipantType

TYPE_LABELS = dict(ParticipantType.choices)


def _pct(value) -> str:
    if value in (None, ""):
        return "—"
    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.1'))}%"


def _t(value) -> str:
    return f"{Decimal(str(value)):,.3f}"


def share_lines(share) -> dict:
    """{"rule": sentence, "inputs": [(label, value, detail, weight, points)], "score": …, "need": …}."""
    e = share.explanation or {}
    cls = TYPE_LABELS.get(e.get("class"), e.get("class", ""))
    rule = e.get("rule")
    data = {"cls": cls, "rank": e.get("class_rank"), "need": _t(e.get("class_need_t", 0)),
            "supply": _t(e.get("class_supply_t", 0))}
    if rule == "full":
        sentence = _("Class %(rank)s (%(cls)s): its plans (%(need)s t) fitted in the %(supply)s t left, so this "
                     "participant got its whole need.") % data
    elif rule == "proportional":
        sentence = _("Class %(rank)s (%(cls)s): %(supply)s t left for %(need)s t of plans, so the class was split "
                     "by weighted score × need; this share is its part.") % data
    elif rule == "capped":
        sentence = _("Class %(rank)s (%(cls)s): %(supply)s t left for %(need)s t of plans; its part by score "
                     "reached its need (plan or capacity), so it got its need and the rest went to the others.") % data
    elif rule == "exhausted":
        sentence = _("Class %(rank)s (%(cls)s): the classes served before it took the whole supply.") % data
    else:
        sentence = _("No need: the plan or the capacity is 0 t.")
    inputs = e.get("inputs", {})
    facts = e.get("facts", {})
    review = facts.get("review", {})
    source = review.get("source")
    if source == "scorecard":
        review_detail = _("Scorecard grade %(grade)s under “%(policy)s” (%(date)s)") % {
            "grade": review.get("grade", ""), "policy": review.get("policy", ""), "date": review.get("graded_at", "")}
    elif source == "hand_scores":
        review_detail = _("Mean of the customer's hand scores")
    else:
        review_detail = _("No review result yet: the default score")
    completion = facts.get("completion", {})
    if inputs.get("completion", {}).get("default"):
        completion_detail = _("No plan in the look-back: the default rate")
        completion_value = _pct(inputs.get("completion", {}).get("value"))
    else:
        completion_detail = _("%(ordered)s t ordered of %(planned)s t planned in %(months)s") % {
            "ordered": _t(completion.get("ordered_t", 0)), "planned": _t(completion.get("planned_t", 0)),
            "months": "、".join(completion.get("plan_months", []))}
        completion_value = _pct(inputs.get("completion", {}).get("value"))
    regularity = facts.get("regularity", {})
    if inputs.get("regularity", {}).get("default"):
        regularity_detail = _("No plans or orders in the look-back: the default")
    elif "cv" in regularity:
        regularity_detail = _("Orders in %(active)s of %(weeks)s weeks; variation of the weekly tonnes %(cv)s "
                              "(regularity = 1 ÷ (1 + variation))") % {
            "active": regularity.get("weeks_with_orders"), "weeks": regularity.get("weeks"), "cv": regularity["cv"]}
    else:
        regularity_detail = _("No orders in the %(weeks)s weeks of the look-back") % {"weeks": regularity.get("weeks")}
    rows = [
        (_("Review score"), inputs.get("review_score", {}).get("value", "—"), review_detail,
         inputs.get("review_score", {}).get("weight"), inputs.get("review_score", {}).get("points")),
        (_("Plan completion rate"), completion_value, completion_detail,
         inputs.get("completion", {}).get("weight"), inputs.get("completion", {}).get("points")),
        (_("Order regularity"), _pct(inputs.get("regularity", {}).get("value")), regularity_detail,
         inputs.get("regularity", {}).get("weight"), inputs.get("regularity", {}).get("points")),
    ]
    plan, capacity = inputs.get("plan"), inputs.get("capacity")
    need = _("Need %(need)s t = the plan %(plan)s t") % {"need": _t(e.get("need_t", 0)), "plan": _t(plan or 0)}
    if capacity is not None:
        need = _("Need %(need)s t = the smaller of the plan %(plan)s t and the capacity %(capacity)s t") % {
            "need": _t(e.get("need_t", 0)), "plan": _t(plan or 0), "capacity": _t(capacity)}
    return {"rule": sentence, "inputs": rows, "score": e.get("score"), "need": need,
            "fill_rate": _pct(e.get("fill_rate")), "lookback": e.get("lookback", [])}
