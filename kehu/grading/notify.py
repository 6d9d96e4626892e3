"""Grade-change notices (分级调整通知): each owner gets one message per run listing their customers whose
grade changed; the heads of each customer's department (the nearest level of its department line with
users in KEHU_GRADING_NOTIFY_ROLES, the department manager by default — found as the approval engine
finds line managers) and of the extra departments in KEHU_GRADING_NOTIFY_DEPARTMENTS (e.g. 市场部, 品质部)
get one summary per run per department. Delivered by kehu.notifications after the run commits."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from kehu.access.models import Department, User
from kehu.customers.models import Customer
from kehu.notifications.services import notify

LISTED = 10
CHUNK = 5000


def grade_changes(*, policy_name: str, notices: list[tuple[int, int, str, str]],
                  department_of: dict[int, int | None] | None = None) -> None:
    """``notices`` are (owner id, customer id, previous grade, new grade); call inside the run's transaction.
    ``department_of`` (customer → department), when the caller has read it already, saves reading it again."""
    by_owner: dict[int, list[tuple[int, str, str]]] = {}
    for owner_id, cid, before, after in notices:
        by_owner.setdefault(owner_id, []).append((cid, before, after))
    owners = User.objects.in_bulk(list(by_owner))
    listed = [cid for items in by_owner.values() for cid, _b, _a in items[:LISTED]]
    names = dict(Customer.objects.filter(pk__in=listed).values_list("pk", "name"))
    for owner_id, items in by_owner.items():
        lines = [f"{names.get(cid, cid)}: {before or _('(none)')} → {after}" for cid, before, after in items[:LISTED]]
        if len(items) > LISTED:
            lines.append(_("… and %(count)d more") % {"count": len(items) - LISTED})
        link = (reverse("grading:customer_grades", args=[items[0][0]]) if len(items) == 1
                else reverse("grading:movements"))
        notify(user=owners.get(owner_id),
               title=_("%(count)d of your customers changed grade (%(policy)s)")
               % {"count": len(items), "policy": policy_name},
               body="\n".join(lines), link=link)
    departments(policy_name=policy_name, notices=notices, department_of=department_of)


def notify_roles() -> tuple[str, ...]:
    from kehu.access.roles import ROLES

    roles = getattr(settings, "KEHU_GRADING_NOTIFY_ROLES", ("manager",))
    if isinstance(roles, str):
        roles = roles.split(",")
    return tuple(r.strip() for r in roles if r.strip() in ROLES)


def extra_departments() -> list[Department]:
    """KEHU_GRADING_NOTIFY_DEPARTMENTS: department names or full paths ("总部/市场部")."""
    wanted = getattr(settings, "KEHU_GRADING_NOTIFY_DEPARTMENTS", ())
    if isinstance(wanted, str):
        wanted = wanted.split(",")
    wanted = {w.strip() for w in wanted if w.strip()}
    if not wanted:
        return []
    return [d for d in Department.objects.select_related("parent").filter(name__in={w.split("/")[-1] for w in wanted})
            if d.name in wanted or d.full_name() in wanted]


def heads_by_department(department_ids, roles: tuple[str, ...]) -> dict[int, list[User]]:
    """Each department's heads: the users with ``roles`` at the nearest level of its line (itself, else
    up towards the root), as kehu.approvals finds line managers. One query per department."""
    from kehu.approvals.services import line_levels

    out: dict[int, list[User]] = {}
    for dept in Department.objects.filter(pk__in=list(department_ids)):
        levels = line_levels(requester=None, department=dept, roles=roles)
        out[dept.pk] = levels[0][1] if levels else []
    return out


def departments(*, policy_name: str, notices: list[tuple[int, int, str, str]],
                department_of: dict[int, int | None] | None = None) -> int:
    """One summary per department of the changed customers to each of its heads, and to the heads of the
    extra departments; returns how many summaries were sent."""
    roles = notify_roles()
    if not roles or not notices:
        return 0
    changes = {cid: (before, after) for _owner, cid, before, after in notices}
    ids = sorted(changes)
    dept_of: dict[int, int | None] = {}
    for i in range(0, len(ids) if department_of is None else 0, CHUNK):
        dept_of.update(Customer.objects.filter(pk__in=ids[i:i + CHUNK]).values_list("pk", "department_id"))
    if department_of is not None:
        dept_of = department_of
    by_dept: dict[int, list[int]] = {}
    for cid in ids:
        if dept_of.get(cid) is not None:
            by_dept.setdefault(dept_of[cid], []).append(cid)
    heads = heads_by_department(by_dept, roles)
    extra = [u for d in extra_departments() for u in User.objects.filter(department=d, role__in=roles, is_active=True)
             .order_by("id")]
    names = dict(Department.objects.filter(pk__in=list(by_dept)).values_list("pk", "name"))
    listed = [cid for cids in by_dept.values() for cid in cids[:LISTED]]
    customer_names = dict(Customer.objects.filter(pk__in=listed).values_list("pk", "name"))
    link = reverse("grading:movements") + "?" + urlencode({"policy": policy_name})
    sent = 0
    for dept_id, cids in by_dept.items():
        recipients = {u.pk: u for u in [*heads.get(dept_id, []), *extra]}
        if not recipients:
            continue
        moves: dict[tuple[str, str], int] = {}
        for cid in cids:
            moves[changes[cid]] = moves.get(changes[cid], 0) + 1
        lines = [f"{before or _('(none)')} → {after}: {n}" for (before, after), n in
                 sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))]
        lines.append("")
        lines += [f"{customer_names.get(cid, cid)}: {changes[cid][0] or _('(none)')} → {changes[cid][1]}"
                  for cid in cids[:LISTED]]
        if len(cids) > LISTED:
            lines.append(_("… and %(count)d more") % {"count": len(cids) - LISTED})
        title = (_("%(department)s: %(count)d customers changed grade (%(policy)s)")
                 % {"department": names.get(dept_id, dept_id), "count": len(cids), "policy": policy_name})
        for user in recipients.values():
            notify(user=user, title=title, body="\n".join(lines), link=link)
            sent += 1
    return sent
