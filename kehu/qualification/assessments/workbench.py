"""Assessments on the workbench: for a manager who assesses customers, the assessment due for the last quarter
(and half-year / year when one ended) when it has not been run or is still a draft."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.qualification.assessments import scoring, selectors, services
from kehu.qualification.assessments.models import AssessmentRun, RunState
from kehu.workbench.registry import Todo, todo_provider


@todo_provider("assessments_due", label=gettext_lazy("Customer assessments due"), order=47,
               more="assessments:list", short=gettext_lazy("Assessment"))
def assessment_todos(user, *, today, now, limit):
    """The periods that ended before this one began and are not final yet — one query."""
    if not services.can_manage(user) or not selectors.can_read(user):
        return []
    due = []
    for kind in ("quarter", "half", "year"):
        year, number = scoring.previous_period(kind, today)
        end = scoring.period_bounds(kind, year, number)[1]
        if (today - end).days <= 92:  # ended within the last quarter: still due (an older one is history)
            due.append((kind, year, number, end))
    runs = {(r.period_kind, r.year, r.number): r for r in AssessmentRun.objects.filter(
        period_kind__in=[d[0] for d in due], year__in=[d[1] for d in due])}
    out = []
    for kind, year, number, end in due:
        run = runs.get((kind, year, number))
        if run is not None and run.state == RunState.FINAL:
            continue
        label = scoring.period_label(kind, year, number)
        url = reverse("assessments:run", args=[run.pk]) if run else reverse("assessments:list")
        title = (_("Finalise the customer assessment %(p)s") if run else _("Assess the customers of %(p)s")) % {
            "p": label}
        out.append(Todo(kind="assessment_due", title=title, url=url, due=end, state="soon",
                        detail=_("Period ended %(d)s") % {"d": end.isoformat()}))
    return out[:limit]
