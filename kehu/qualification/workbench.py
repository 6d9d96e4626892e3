"""Admission on the workbench: my customers' documents expiring within KEHU_QUALIFICATION["remind_days"] days (or
expired), and my customers pending admission (待准入) without an application under way. Applications awaiting my
decision are the approvals app's to-dos."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kehu.access.roles import Perm
from kehu.qualification import expiry, selectors
from kehu.qualification.services import config
from kehu.workbench.registry import Todo, todo_provider


@todo_provider("qualification_documents", label=gettext_lazy("Documents expiring"), order=27,
               more="qualification:documents", short=gettext_lazy("Document"))
def expiring_documents(user, *, today, now, limit):
    if not user.has_kehu_perm(Perm.CUSTOMER_WRITE):
        return []
    local = expiry.local_today(now)
    last = local + dt.timedelta(days=config()["remind_days"])
    qs = (selectors.document_base(actor=user).filter(customer__owner_id=user.pk, current=True, valid_to__lte=last)
          .select_related("customer").order_by("valid_to", "id")[:limit])
    out = []
    for d in qs:
        left = expiry.days_left(d.valid_to, today=local)
        state = "overdue" if left < 0 else ("soon" if left <= 7 else "normal")
        out.append(Todo(kind="qualification_document", title=_("%(doc)s expires %(date)s") % {
            "doc": d.label, "date": d.valid_to.isoformat()}, url=reverse("qualification:customer", args=[d.customer_id]),
            due=d.valid_to, state=state, detail=d.customer.name))
    return out


@todo_provider("qualification_pending", label=gettext_lazy("Customers pending admission"), order=28,
               more="qualification:applications", short=gettext_lazy("Admission"))
def my_pending_customers(user, *, today, now, limit):
    if not user.has_kehu_perm(Perm.CUSTOMER_WRITE):
        return []
    return [Todo(kind="qualification_pending", title=_("Apply for account opening: %(c)s") % {"c": c.name},
                 url=reverse("qualification:customer", args=[c.pk]), detail=c.uscc)
            for c in selectors.pending_without_application(actor=user, limit=limit)]


@todo_provider("qualification_agent_plans", label=gettext_lazy("Exclusive agents' next-month plans"), order=29,
               more="allocation:plans", short=pgettext_lazy("workbench to-do kind", "Plan"))
def missing_agent_plans(user, *, today, now, limit):
    """From the 20th, my exclusive agents without next month's sales plan (seed 004 第十条: 每月提供下月销售计划)."""
    local = expiry.local_today(now)
    if local.day < config()["plan_reminder_day"] or not user.has_kehu_perm(Perm.CUSTOMER_WRITE):
        return []
    nxt = (local.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return [Todo(kind="qualification_plan", title=_("Next month's sales plan missing: %(c)s") % {"c": c.name},
                 url=reverse("qualification:customer", args=[c.pk]), due=nxt, state="soon", detail=nxt.strftime("%Y-%m"))
            for c in selectors.plan_missing_list(actor=user, month=nxt, mine=True, limit=limit)]
