"""HTML forms of inspections. They parse what a browser sends; the rules (scope, who may, what a
report needs) are the services' and come back as errors."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.service_desk.inspections.models import Answer, CycleUnit, Importance, VisitState
from kehu.web import StyledForm

ALL = _("All")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} · {obj.department}" if obj.department_id else str(obj)


class VisitFilterForm(StyledForm):
    show = forms.ChoiceField(label=_("Show"), required=False, choices=[
        ("open", _("Upcoming and overdue")), ("overdue", _("Overdue only")), ("done", _("Done")),
        ("closed", _("Cancelled or missed")), ("all", ALL)])
    mine = forms.BooleanField(label=_("Only mine"), required=False)
    due_from = forms.DateField(label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_to = forms.DateField(label=_("Due until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def selector_args(self, actor) -> dict:
        data = getattr(self, "cleaned_data", {})
        show = data.get("show") or "open"
        args = {"state": None, "overdue": None, "customer": data.get("customer") or None,
                "inspector": actor.pk if data.get("mine") else None, "due_from": data.get("due_from"),
                "due_to": data.get("due_to"), "cursor": data.get("cursor") or None,
                "ordering": "due_date" if show in ("open", "overdue") else "-due_date"}
        if show == "open":
            args["state"] = VisitState.SCHEDULED
        elif show == "overdue":
            args["overdue"] = True
        elif show == "done":
            args["state"] = VisitState.DONE
        elif show == "closed":
            args["state"] = "closed"
        return args

    def filters(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        out = {k: data[k] for k in ("show", "customer") if data.get(k)}
        if data.get("mine"):
            out["mine"] = "on"
        for k in ("due_from", "due_to"):
            if data.get(k):
                out[k] = data[k].isoformat()
        return out


class PlanForm(StyledForm):
    """Mirrors schemas.PlanIn (the customer comes from the page)."""

    checklist = forms.ModelChoiceField(label=_("Checklist"), queryset=None, empty_label="—")
    importance = forms.ChoiceField(label=_("Customer importance"), choices=Importance.choices,
                                   initial=Importance.NORMAL,
                                   help_text=_("Chooses the default cycle when the customer's grade sets none."))
    cycle_length = forms.IntegerField(label=_("Every"), required=False, min_value=1, max_value=3660,
                                      help_text=_("Leave empty to follow the default: the grade's cycle, else "
                                                  "the importance's."))
    cycle_unit = forms.ChoiceField(label=_("Cycle unit"), choices=CycleUnit.choices, initial=CycleUnit.DAY)
    inspector = UserChoiceField(label=_("Inspector"), queryset=None, empty_label="—")
    next_due = forms.DateField(label=_("Next inspection"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("Leave empty for one cycle from today."))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, checklists, inspectors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checklist"].queryset = checklists
        self.fields["inspector"].queryset = inspectors

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {"checklist": d["checklist"].pk, "importance": d["importance"], "inspector": d["inspector"].pk,
                "note": d.get("note") or "", "next_due": d.get("next_due")}
        if d.get("cycle_length"):
            data.update(cycle_length=d["cycle_length"], cycle_unit=d["cycle_unit"])
        return data


class DeactivateForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class ChecklistForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    items = forms.CharField(label=_("Items"), max_length=20000, widget=forms.Textarea(attrs={"rows": 7}),
                            help_text=_("One item per line, in order; “item | what to check” adds a hint."))
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    @staticmethod
    def items_text(checklist) -> str:
        return "\n".join(f"{i.label} | {i.hint}" if i.hint else i.label for i in checklist.items.all())

    def service_data(self) -> dict:
        d = self.cleaned_data
        items = []
        for line in d["items"].splitlines():
            label, _sep, hint = line.partition("|")
            if label.strip():
                items.append({"label": label.strip(), "hint": hint.strip()})
        return {"name": d["name"], "description": d.get("description") or "", "items": items,
                "active": d.get("active", False)}


class CancelForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    missed = forms.BooleanField(label=_("Record as missed (not done in time)"), required=False)


class ReportForm(StyledForm):
    """The on-site report: one radio group and note per checklist item, then findings, suggestions and
    the customer's sign-off."""

    performed_at = forms.DateTimeField(label=_("Performed at"),
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                  format="%Y-%m-%dT%H:%M"),
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
    findings = forms.CharField(label=_("Findings"), required=False, max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("Required when an item is marked “Issue found”."))
    suggestions = forms.CharField(label=_("Suggestions"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    signed_by = forms.CharField(label=_("Customer sign-off (name)"), required=False, max_length=100)
    follow_up_needed = forms.BooleanField(label=_("Follow-up needed"), required=False)

    def __init__(self, *args, items, **kwargs):
        kwargs.setdefault("initial", {}).setdefault(
            "performed_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"item_{item.pk}"] = forms.ChoiceField(
                label=item.label, choices=Answer.choices, widget=forms.RadioSelect, required=False)
            self.fields[f"note_{item.pk}"] = self.style(forms.CharField(
                label=_("Note"), required=False, max_length=1000,
                widget=forms.TextInput(attrs={"placeholder": _("What did you see?")})))

    def clean(self):
        data = super().clean()
        if not (data.get("findings") or "").strip() and any(
                data.get(f"item_{i.pk}") == Answer.ISSUE for i in self.items):
            self.add_error("findings", _("Describe what was found: an item is marked “Issue found”."))
        return data

    def item_rows(self) -> list[dict]:
        return [{"item": i, "answer": self[f"item_{i.pk}"], "note": self[f"note_{i.pk}"]} for i in self.items]

    def service_data(self) -> dict:
        d = self.cleaned_data
        results = [{"item": i.pk, "answer": d.get(f"item_{i.pk}") or None, "note": d.get(f"note_{i.pk}") or ""}
                   for i in self.items if d.get(f"item_{i.pk}") or d.get(f"note_{i.pk}")]
        return {"performed_at": d["performed_at"], "results": results, "findings": d["findings"],
                "suggestions": d.get("suggestions") or "", "signed_by": d.get("signed_by") or "",
                "follow_up_needed": d.get("follow_up_needed", False)}
