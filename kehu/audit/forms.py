from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.web import StyledForm


class AuditFilterForm(StyledForm):
    action = forms.CharField(label=_("Action"), required=False, max_length=64,
                             widget=forms.TextInput(attrs={"placeholder": "contact.reveal"}))
    actor = forms.CharField(label=_("Actor (username)"), required=False, max_length=150)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=64,
                                  widget=forms.TextInput(attrs={"placeholder": "customers.contact"}))
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def selector_args(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        return {k: (data.get(k) or "").strip() or None for k in ("action", "actor", "object_type", "object_id")}
