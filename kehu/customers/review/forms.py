"""Forms of the review pages (mirror the API schemas)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customers.review.services import MAX_DUE_DAYS, MAX_STALE_MONTHS
from kehu.web import StyledForm


class RunForm(StyledForm):
    stale_months = forms.IntegerField(label=_("Stale after (months)"), min_value=1, max_value=MAX_STALE_MONTHS,
                                      required=False, help_text=_("Records neither updated nor confirmed for this long."))
    due_days = forms.IntegerField(label=_("Due within (working days)"), min_value=1, max_value=MAX_DUE_DAYS,
                                  required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ResolveForm(forms.Form):
    state = forms.ChoiceField(choices=[("confirmed", "confirmed"), ("fixed", "fixed"),
                                       ("not_applicable", "not_applicable")])
    note = forms.CharField(max_length=500, required=False)


class ReassignForm(StyledForm):
    source = forms.TypedChoiceField(label=_("Hand over the customers of"), coerce=int)
    targets = forms.TypedMultipleChoiceField(label=_("To"), coerce=int,
                                             widget=forms.SelectMultiple(attrs={"size": 6}))
    strategy = forms.ChoiceField(label=_("Allocation"), choices=[("even", _("Evenly (balance current counts)")),
                                                                ("random", _("Random draw (随机抽数分配)"))])
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput)
    city = forms.CharField(label=_("Only customers in city"), required=False, max_length=50)
    industry = forms.CharField(label=_("Only customers in industry"), required=False, max_length=50)

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(u.pk, f"{u} · {u.department.name if u.department_id else ''}"
                    + ("" if u.is_active else f" ({_('inactive')})")) for u in users]
        self.fields["source"].choices = [("", _("— choose the user who hands over —"))] + choices
        self.fields["targets"].choices = [c for c, u in zip(choices, users, strict=True) if u.is_active]

    def service_args(self) -> dict:
        d = self.cleaned_data
        return {"source_id": d["source"], "target_ids": d["targets"], "strategy": d["strategy"], "seed": d.get("seed"),
                "filters": {"city": d.get("city") or None, "industry": d.get("industry") or None}}
