"""The follow-up forms: quick entry on a phone (customer, channel, one line, optional photo and location, the
rest folded away) and the list's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.engagement.models import Channel, Direction
from kehu.web import StyledForm

QUICK_CHANNELS = [Channel.VISIT, Channel.PHONE, Channel.WECHAT, Channel.WECOM, Channel.EMAIL, Channel.MEETING]


class InteractionForm(StyledForm):
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, widget=forms.RadioSelect)
    summary = forms.CharField(label=_("What was said"), max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 2, "maxlength": 4000}))
    photo = forms.FileField(label=_("Photo"), required=False, widget=forms.ClearableFileInput(
        attrs={"accept": "image/*,application/pdf", "capture": "environment"}))
    next_step = forms.CharField(label=_("Next step"), max_length=500, required=False)
    next_step_due = forms.DateField(label=_("Next step due"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND)
    occurred_at = forms.DateTimeField(label=_("Contact time"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                 format="%Y-%m-%dT%H:%M"),
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"])
    contacts = forms.MultipleChoiceField(label=_("Contacts involved"), required=False,
                                         widget=forms.CheckboxSelectMultiple)
    outcome = forms.CharField(label=_("Outcome"), max_length=4000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    latitude = forms.DecimalField(widget=forms.HiddenInput, required=False, max_digits=12, decimal_places=8)
    longitude = forms.DecimalField(widget=forms.HiddenInput, required=False, max_digits=12, decimal_places=8)
    location_accuracy_m = forms.FloatField(widget=forms.HiddenInput, required=False)
    client_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, contacts=(), edit: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].choices = [(str(c.pk), f"{c.name} {c.title or ''}".strip()) for c in contacts]
        if edit:
            for name in ("customer", "photo", "latitude", "longitude", "location_accuracy_m", "client_key"):
                del self.fields[name]


class FilterForm(StyledForm):
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("All channels")),
                                                                             *Channel.choices])
    owner = forms.TypedChoiceField(label=_("Account manager"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(label=_("Date from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Date to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)
    overdue = forms.BooleanField(label=_("Overdue next steps only"), required=False)

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Everyone in my scope")),
                                        *[(u.pk, u.display_name or u.username) for u in owners]]
