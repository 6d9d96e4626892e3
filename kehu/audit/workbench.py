"""The audit log on the workbench: for whoever may read it (the auditor / DPO, administrators), the
latest sensitive accesses — personal data revealed in clear or exported."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm
from kehu.audit.selectors import audit_list
from kehu.workbench.registry import Panel, Todo, panel_provider

SENSITIVE_ACTIONS = ("customer.reveal", "contact.reveal", "customer.export", "customer.export_reveal",
                     "customer.subject_export", "contact.subject_export")
PANEL_ROWS = 8


def _labels() -> dict[str, str]:
    return {"customer.reveal": _("Revealed a customer's data"), "contact.reveal": _("Revealed a contact's data"),
            "customer.export": _("Exported customers"), "customer.export_reveal": _("Exported customers in clear"),
            "customer.subject_export": _("Exported a customer's personal data"),
            "contact.subject_export": _("Exported a contact's personal data")}


@panel_provider("sensitive_accesses", label=gettext_lazy("Latest sensitive accesses"), order=20)
def sensitive_accesses(user, *, today, now):
    if not user.has_kehu_perm(Perm.AUDIT_READ):
        return None
    labels = _labels()
    list_url = reverse("audit:list")
    rows = []
    for e in (audit_list(actor=user).filter(action__in=SENSITIVE_ACTIONS).select_related("actor")
                  .order_by("-at", "-id")[:PANEL_ROWS]):
        what = labels.get(e.action, e.action)
        rows.append(Todo(kind="audit", title=f"{e.actor or e.actor_name or _('system')} · {what}",
                         url=f"{list_url}?" + urlencode({"action": e.action, "object_type": e.object_type,
                                                         "object_id": e.object_id}),
                         due=timezone.localtime(e.at), detail=e.object_repr))
    return Panel(rows=rows, url=f"{list_url}?action=customer.reveal",
                 empty=_("No personal data has been revealed in clear or exported yet. Each reveal and export "
                         "will be listed here."))
