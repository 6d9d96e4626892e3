"""The symposium plan form (the other actions are small forms in the detail page)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.engagement.symposia.models import Topic
from kehu.web import StyledForm


class SymposiumForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_at = forms.CharField(label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.CharField(label=_("Ends at"), required=False,
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    place = forms.CharField(label=_("Place"), max_length=200)
    topics = forms.MultipleChoiceField(label=_("Agenda topics"), choices=Topic.choices,
                                       widget=forms.CheckboxSelectMultiple, required=False)
    agenda = forms.CharField(label=_("Agenda notes"), required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 4}))

    def data_for_service(self) -> dict:
        d = self.cleaned_data
        return {"title": d["title"], "starts_at": d["starts_at"], "ends_at": d.get("ends_at") or None,
                "place": d["place"], "topics": list(d.get("topics") or []), "agenda": d.get("agenda") or ""}
