from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.audit.labels import action_choices
from kehu.web import StyledForm


class AuditFilterForm(StyledForm):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.CharField(label=_("Who (name)"), required=False, max_length=150,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. 张伟")}))
    date_from = forms.DateField(label=_("Date from"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=_("Date to"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=64,
                                  widget=forms.TextInput(attrs={"placeholder": "customers.contact"}))
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions")), *action_choices()]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end is before the start."))
        return data

    def selector_args(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        args = {k: (data.get(k) or "").strip() or None for k in ("action", "actor", "object_type", "object_id")}
        args.update({k: data.get(k) or None for k in ("date_from", "date_to")})
        return args
