"""HTML forms of the complaint process. They parse what a browser sends; every rule of the procedure
(which step is allowed, what it needs, who may do it) is the services' and comes back as errors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.service_desk.models import STATE_LABELS, Channel, Severity
from kehu.service_desk.workflow import STATES
from kehu.web import StyledForm

ALL = _("All")


def _blank(choices) -> list:
    return [("", ALL), *choices]


def _user_choice(user) -> str:
    return f"{user} · {user.department}" if user.department_id else str(user)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _user_choice(obj)


class ComplaintFilterForm(StyledForm):
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=_blank([(s, STATE_LABELS[s]) for s in STATES]))
    severity = forms.ChoiceField(label=_("Nature"), required=False, choices=_blank(Severity.choices))
    breached = forms.ChoiceField(label=_("Overdue"), required=False,
                                 choices=_blank([("yes", _("Overdue only")), ("no", _("Not overdue"))]))
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("", _("Soonest due first")), ("priority", _("Customer's response priority first"))])
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def selector_args(self) -> dict:
        """The valid filters as selectors.complaint_list arguments (an invalid one is ignored)."""
        data = getattr(self, "cleaned_data", {})
        breached = {"yes": True, "no": False}.get(data.get("breached") or "")
        return {"state": data.get("state") or None, "severity": data.get("severity") or None,
                "breached": breached, "cursor": data.get("cursor") or None,
                "ordering": "response_priority" if data.get("sort") == "priority" else "due_at"}

    def filters(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        return {k: data[k] for k in ("state", "severity", "breached", "sort") if data.get(k)}


class ComplaintForm(StyledForm):
    """Mirrors schemas.ComplaintIn: a complaint received by the agent filling it in."""

    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    complainant_name = forms.CharField(label=_("Complainant"), max_length=100)
    complainant_phone = forms.CharField(label=_("Phone"), required=False, max_length=30,
                                        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    complainant_company = forms.CharField(label=_("Complainant's organisation"), required=False, max_length=200)
    complainant_uscc = forms.CharField(label=_("Organisation's USCC"), required=False, max_length=18)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=10000, widget=forms.Textarea(attrs={"rows": 5}))

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {f: d.get(f) or "" for f in ("complainant_name", "channel", "subject", "description",
                                            "complainant_company", "complainant_uscc")}
        data["complainant_phone"] = d.get("complainant_phone") or None
        data["customer"] = d.get("customer") or None
        return data


class PublicComplaintForm(StyledForm):
    """Mirrors schemas.PublicComplaintIn. ``website`` is a spam trap hidden from people."""

    complainant_name = forms.CharField(label=_("Your name"), max_length=100)
    complainant_phone = forms.CharField(
        label=_("Mobile"), max_length=30, help_text=_("With the tracking number it lets you follow the complaint."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    company = forms.CharField(label=_("Company"), required=False, max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("What happened"), max_length=10000,
                                  widget=forms.Textarea(attrs={"rows": 6}))
    website = forms.CharField(label=_("Website"), required=False, max_length=200,
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    def service_data(self) -> dict:
        return {f: self.cleaned_data.get(f) or "" for f in self.fields}


class TrackForm(StyledForm):
    tracking_no = forms.CharField(label=_("Tracking number"), max_length=32,
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "TS20260101-ABC123"}))
    phone = forms.CharField(label=_("Mobile"), max_length=30,
                            help_text=_("The mobile number given with the complaint."),
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))


# ---------------------------------------------------------------- one form per step of the procedure

class StepForm(StyledForm):
    """The fields one step needs; action and the version the agent saw travel hidden."""

    action_name = ""
    title = ""
    submit = ""
    action = forms.CharField(widget=forms.HiddenInput, max_length=20)
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, complaint, **kwargs):
        kwargs.setdefault("initial", {}).update(action=self.action_name, expected_version=complaint.version)
        super().__init__(*args, **kwargs)
        self.complaint = complaint

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("action", "expected_version")}


class JudgeForm(StepForm):
    action_name, title, submit = "judge", _("Judge the nature"), _("Judge")
    severity = forms.ChoiceField(label=_("Nature"), choices=[("", "—"), *Severity.choices])
    category = forms.CharField(label=_("Category"), required=False, max_length=50,
                               widget=forms.TextInput(attrs={"placeholder": _("e.g. delivery, quality, service")}))


class InvestigateForm(StepForm):
    action_name, title, submit = "investigate", _("Investigate the cause"), _("Record the cause")
    cause = forms.CharField(label=_("Cause"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class AssignForm(StepForm):
    action_name, title, submit = "assign", _("Assign the responsible person"), _("Assign")
    responsible = UserChoiceField(label=_("Responsible person"), queryset=None, empty_label="—")

    def __init__(self, *args, handlers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = handlers
        if self.complaint.responsible_id:
            self.initial.setdefault("responsible", self.complaint.responsible_id)

    def service_data(self) -> dict:
        return {"responsible": self.cleaned_data["responsible"].pk}


class ProposeForm(StepForm):
    action_name, title, submit = "propose", _("Propose a solution"), _("Submit the solution for approval")
    solution = forms.CharField(label=_("Solution"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.complaint.severity != Severity.GENERAL:
            self.fields["solution"].help_text = _(
                "A major or serious complaint's solution is decided in a managers' meeting (经理办公会): "
                "its date, participants, minutes and decision are recorded on the approval.")


class AnswerForm(StepForm):
    action_name, title, submit = "answer", _("Answer the customer"), _("Record the reply")
    reply = forms.CharField(label=_("Reply to the customer"), max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("The customer sees this reply on the tracking page."))


SATISFIED_CHOICES = [("", _("Not stated")), ("true", _("Satisfied")), ("false", _("Not satisfied"))]


class ReturnVisitForm(StepForm):
    action_name, title, submit = "return_visit", _("Return visit"), _("Record the return visit")
    return_visit_note = forms.CharField(label=_("Return visit"), max_length=5000,
                                        widget=forms.Textarea(attrs={"rows": 3}))
    satisfied = forms.TypedChoiceField(label=_("Customer satisfied"), required=False, choices=SATISFIED_CHOICES,
                                       coerce=lambda v: v == "true", empty_value=None)


class EvaluateForm(StepForm):
    action_name, title, submit = "evaluate", _("Summarise and evaluate"), _("Record the evaluation")
    evaluation = forms.CharField(label=_("Summary and evaluation"), max_length=5000,
                                 widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(StepForm):
    action_name, title, submit = "close", _("Close the complaint"), _("Close the complaint")


STEP_FORMS: dict[str, type[StepForm]] = {f.action_name: f for f in (
    JudgeForm, InvestigateForm, AssignForm, ProposeForm, AnswerForm, ReturnVisitForm, EvaluateForm, CloseForm)}


class ReassignForm(StyledForm):
    """Mirrors schemas.ReassignIn (managers only)."""

    user = UserChoiceField(label=_("New accountable person"), queryset=None, empty_label="—")
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, handlers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = handlers


class ExtensionForm(StyledForm):
    """Mirrors schemas.ExtensionIn: the deadline in working days in all, approved through the engine.
    Each choice says the new due date it gives (not only "N working days")."""

    days = forms.TypedChoiceField(label=_("New due date"), coerce=int)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, complaint=None, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings

        from kehu.service_desk.services import due_for, due_label

        choices = []
        if complaint is not None:
            for days in range(complaint.sla_days + 1, int(settings.KEHU_COMPLAINT_SLA_MAX_DAYS) + 1):
                choices.append((days, _("%(due)s (%(d)d working days in all)")
                                % {"due": due_label(due_for(complaint.received_at, days)), "d": days}))
            self.fields["days"].help_text = _("Now due %(due)s.") % {"due": due_label(complaint.due_at)}
        self.fields["days"].choices = choices



class ReportFilterForm(StyledForm):
    """The reports page's filters: the range of receipt dates and how SLA compliance is grouped."""

    date_from = forms.DateField(label=_("Received from"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=_("Received to"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    group_by = forms.ChoiceField(label=_("SLA by"), required=False, choices=[
        ("severity", _("Nature")), ("department", _("Department")), ("person", _("Accountable person")),
        ("month", _("Month"))])
    trend_by = forms.ChoiceField(label=_("Over time by"), required=False, choices=[
        ("category", _("Category")), ("cause", _("Cause"))])

    def report_args(self) -> dict:
        """The valid filters as report arguments (an invalid one falls back to its default)."""
        data = getattr(self, "cleaned_data", {})
        return {"date_from": data.get("date_from"), "date_to": data.get("date_to"),
                "group_by": data.get("group_by") or "severity", "trend_by": data.get("trend_by") or "category"}
