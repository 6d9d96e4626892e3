"""Imports on the workbench: my import jobs that need me — failed, interrupted (resumable) or checked
and waiting for the commit."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm
from kehu.imports.models import JobState
from kehu.imports.selectors import import_job_base
from kehu.workbench.registry import NORMAL, OVERDUE, SOON, Todo, todo_provider

ATTENTION = {JobState.FAILED: OVERDUE, JobState.INTERRUPTED: SOON, JobState.VALIDATED: NORMAL}


@todo_provider("imports", label=gettext_lazy("Imports that need attention"), order=70, more="imports:list",
               short=gettext_lazy("Import"))
def import_todos(user, *, today, now, limit):
    if not user.has_kehu_perm(Perm.CUSTOMER_IMPORT):
        return []
    jobs = (import_job_base(actor=user).filter(created_by_id=user.pk, state__in=list(ATTENTION))
            .select_related(None).only("id", "state", "file_name", "created_at").order_by("-id")[:limit])
    titles = {JobState.FAILED: _("Import failed: %(file)s"),
              JobState.INTERRUPTED: _("Import interrupted, can be resumed: %(file)s"),
              JobState.VALIDATED: _("Import checked, waiting for commit: %(file)s")}
    return [Todo(kind="import", title=titles[j.state] % {"file": j.file_name},
                 url=reverse("imports:detail", args=[j.pk]), state=ATTENTION[j.state],
                 detail=_("Uploaded %(at)s") % {"at": f"{j.created_at:%Y-%m-%d %H:%M}"}) for j in jobs]
