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


class MeetingForm(StyledForm):
    """The record of the managers' meeting (经理办公会) that decides a meeting step."""

    held_on = forms.DateField(label=_("Meeting date"), widget=forms.DateInput(attrs={"type": "date"},
                                                                             format="%Y-%m-%d"))
    participants = forms.ModelMultipleChoiceField(label=_("Participants"), queryset=User.objects.none(),
                                                  widget=forms.SelectMultiple(attrs={"size": 6}))
    minutes = forms.CharField(label=_("Minutes"), max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 5, "placeholder": _(
                                  "What was discussed and decided, and why")}))
    decision = forms.ChoiceField(label=_("Decision of the meeting"), choices=Decision.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participants"].queryset = (User.objects.filter(is_active=True)
                                                .select_related("department").order_by("department__path", "id"))
        self.fields["participants"].label_from_instance = lambda u: (
            f"{u} · {u.department.name}" if u.department_id else str(u))


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
