"""HTML forms of service requests and the on-duty roster. They parse what a browser sends; the rules
(which step is allowed, what it needs, who may do it) are the services' and come back as errors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.service_desk.tickets.models import STATE_LABELS, Kind, Priority, TicketChannel
from kehu.service_desk.tickets.workflow import STATES
from kehu.web import StyledForm

ALL = _("All")
WEEKDAY_CHOICES = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")),
                   (6, _("Sun"))]


def _blank(choices) -> list:
    return [("", ALL), *choices]


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} · {obj.department}" if obj.department_id else str(obj)


class TicketFilterForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(Kind.choices))
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=_blank([(s, STATE_LABELS[s]) for s in STATES]))
    breached = forms.ChoiceField(label=_("Overdue"), required=False,
                                 choices=_blank([("yes", _("Overdue only")), ("no", _("Not overdue"))]))
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("", _("Most recently received first")), ("priority", _("Customer's response priority first"))])
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def selector_args(self) -> dict:
        """The valid filters as selectors.ticket_list arguments (an invalid one is ignored)."""
        data = getattr(self, "cleaned_data", {})
        return {"kind": data.get("kind") or None, "state": data.get("state") or None,
                "breached": {"yes": True, "no": False}.get(data.get("breached") or ""),
                "customer": data.get("customer") or None, "cursor": data.get("cursor") or None,
                "ordering": "response_priority" if data.get("sort") == "priority" else "-received_at"}

    def filters(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        return {k: data[k] for k in ("kind", "state", "breached", "sort", "customer") if data.get(k)}


class TicketForm(StyledForm):
    """Mirrors schemas.TicketIn: a request received by the user filling it in."""

    customer = forms.IntegerField(label=pgettext_lazy("complaint", "Customer"), widget=forms.HiddenInput,
                                  error_messages={"required": _("Choose the customer.")})
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.REPAIR, widget=forms.RadioSelect)
    channel = forms.ChoiceField(label=_("Channel"), choices=TicketChannel.choices, initial=TicketChannel.PHONE)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL,
                                 help_text=_("An emergency is always urgent."))
    contact_name = forms.CharField(label=_("Contact person"), required=False, max_length=100)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Request details"), max_length=10000, widget=forms.Textarea(attrs={"rows": 5}))

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


# ---------------------------------------------------------------- one form per step

class StepForm(StyledForm):
    """The fields one step needs; action and the version the agent saw travel hidden."""

    action_name = ""
    title = ""
    submit = ""
    danger = False
    action = forms.CharField(widget=forms.HiddenInput, max_length=20)
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, ticket, **kwargs):
        kwargs.setdefault("initial", {}).update(action=self.action_name, expected_version=ticket.version)
        kwargs.setdefault("auto_id", f"id_{self.action_name}_%s")  # several step forms share a page
        super().__init__(*args, **kwargs)
        self.ticket = ticket

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("action", "expected_version")}


class AcceptForm(StepForm):
    action_name, title, submit = "accept", _("Accept the request"), _("Accept")


class StartForm(StepForm):
    action_name, title, submit = "start", _("Start the work"), _("Start")


class ResolveForm(StepForm):
    action_name, title, submit = "resolve", _("Record the resolution"), _("Resolved")
    resolution = forms.CharField(label=_("Resolution"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))


class InformForm(StepForm):
    action_name, title, submit = "inform", _("Tell the customer the result"), _("Record that the customer was told")
    informed_via = forms.ChoiceField(label=_("How the customer was told"),
                                     choices=[("", "—"), *TicketChannel.choices])
    informed_at = forms.DateTimeField(label=_("When"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      help_text=_("Empty: now."))
    informed_note = forms.CharField(label=_("What the customer was told"), max_length=5000,
                                    widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(StepForm):
    action_name, title, submit = "close", _("Close after the customer confirmed"), _("Close")
    confirmation = forms.CharField(label=_("Customer confirmation"), max_length=5000,
                                   widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text=_("Who confirmed, how, and what they said."))


class ReopenForm(StepForm):
    action_name, title, submit = "reopen", _("Reopen (the customer is not satisfied)"), _("Reopen")
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class CancelForm(StepForm):
    action_name, title, submit, danger = "cancel", _("Cancel the request"), _("Cancel the request"), True
    reason = forms.CharField(label=_("Reason"), max_length=2000)


STEP_FORMS: dict[str, type[StepForm]] = {f.action_name: f for f in (
    AcceptForm, StartForm, ResolveForm, InformForm, CloseForm, ReopenForm, CancelForm)}


class AssignForm(StyledForm):
    """Mirrors schemas.TicketAssignIn."""

    user = UserChoiceField(label=_("Assignee"), queryset=None, empty_label="—")
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, handlers, ticket, **kwargs):
        kwargs.setdefault("initial", {}).update(expected_version=ticket.version, user=ticket.assignee_id)
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = handlers


class DutyForm(StyledForm):
    """Mirrors schemas.DutyIn."""

    user = UserChoiceField(label=_("On duty"), queryset=None, empty_label="—")
    department = forms.ModelChoiceField(label=_("Department"), queryset=None, required=False,
                                        empty_label=_("Every department"))
    start_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end_date = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    weekdays = forms.TypedMultipleChoiceField(label=_("Weekdays"), choices=WEEKDAY_CHOICES, coerce=int,
                                              required=False, widget=forms.CheckboxSelectMultiple,
                                              help_text=_("None ticked: every day."))
    start_time = forms.TimeField(label=_("From (time)"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label=_("Until (time)"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                               help_text=_("Earlier than the start: the shift runs past midnight; the same: all day."))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, handlers, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = handlers
        self.fields["department"].queryset = departments

    def service_data(self) -> dict:
        d = dict(self.cleaned_data)
        d["user"] = d["user"].pk
        d["department"] = d["department"].pk if d.get("department") else None
        return d
