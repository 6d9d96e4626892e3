"""HTML forms of the approval pages; the rules (who may decide, what a delegation may be) are the
services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.access.models import User
from kehu.approvals.models import Decision
from kehu.web import StyledForm


class DecideForm(StyledForm):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices)
    comment = forms.CharField(label=_("Comment"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Required to reject or return")}))


class CommentForm(StyledForm):
    comment = forms.CharField(label=_("Comment"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))


class DelegationForm(StyledForm):
    delegate = forms.ModelChoiceField(label=_("Delegate"), queryset=User.objects.none())
    starts_at = forms.DateTimeField(label=_("Starts at"), required=False,
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    help_text=_("Empty: now."))
    ends_at = forms.DateTimeField(label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. Business trip to Shenzhen")}))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = (User.objects.filter(is_active=True).exclude(pk=actor.pk)
                                            .order_by("department__path", "username"))
