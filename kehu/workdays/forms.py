"""HTML forms of the working-day calendar; the rules (who may edit, what a day may be) are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.web import StyledForm
from kehu.workdays.models import DayKind, DaySource


class DayForm(StyledForm):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=DayKind.choices, initial=DayKind.CLOSURE)
    name = forms.CharField(label=_("Name"), max_length=50,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Annual company meeting")}))
    source = forms.ChoiceField(label=_("Source"), choices=DaySource.choices, initial=DaySource.COMPANY,
                               help_text=_("“Statutory” for days of a published national schedule entered by hand."))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class YearForm(forms.Form):
    year = forms.IntegerField(min_value=1900, max_value=2200, required=False)
