"""Grading on the workbench: customers whose grade requires a dedicated account manager (客户经理制, the grade's
service policy) and who have none, for those who assign owners in their scope (dedicated.py). One to-do per
grade, linked to the customer list filtered by that grade."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from kehu.grading.dedicated import without_dedicated_manager
from kehu.workbench.registry import Todo, todo_provider


@todo_provider("dedicated_manager", label=gettext_lazy("Customers without the dedicated account manager their "
                                                       "grade requires"),
               order=45, more="customers:list", short=gettext_lazy("Grade"))
def dedicated_manager_todos(user, *, today, now, limit):
    out = []
    for row in without_dedicated_manager(actor=user)[:limit]:
        out.append(Todo(
            kind="dedicated_manager",
            title=ngettext("%(n)d %(grade)s customer has no dedicated account manager",
                           "%(n)d %(grade)s customers have no dedicated account manager", row["n"])
            % {"n": row["n"], "grade": row["grade"]},
            url=reverse("customers:list") + "?" + urlencode({"grade_policy": row["policy_name"],
                                                             "grade": row["grade"]}),
            detail=row["policy_name"]))
    return out
