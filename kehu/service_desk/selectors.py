"""Reads of the complaint process, scoped: a complaint belongs to its accountable person and their
department; the responsible person assigned to it and the owner of its customer see it too."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access import protection
from kehu.access.models import User
from kehu.access.scopes import scope_q
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.service_desk import sla, workflow
from kehu.service_desk.models import Complaint, ComplaintEvent, open_q

# response_priority: the response priority of the customer's grade (service_levels), best first;
# complaints without one come last.
ORDERINGS = {"id": int, "due_at": dt.datetime, "received_at": dt.datetime, "response_priority": int}


def complaint_base(*, actor, perm: str | None = None) -> QuerySet[Complaint]:
    """The complaints ``actor`` may read: the permission first (handling complaints for lists,
    details and histories; reading reports for the reports), then the data scope. A role without the
    permission gets 403 here, so the pages and the API cannot disagree."""
    from kehu.access.roles import Perm

    perm = perm or Perm.COMPLAINT_HANDLE
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))
    q = scope_q(actor, owner_field="accountable", department_field="department")
    if q and actor is not None and actor.is_authenticated and actor.is_active:  # empty Q: every row
        # the responsible person, and the owner of the customer it is linked to (read, not act)
        q |= Q(responsible_id=actor.pk) | scope_q(actor, owner_field="customer__owner",
                                                  department_field="customer__department")
    return Complaint.objects.filter(q)


def complaint_get(*, actor, complaint_id: int, for_update: bool = False) -> Complaint:
    qs = complaint_base(actor=actor).select_related("accountable", "responsible", "customer", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    c = qs.filter(pk=complaint_id).first()
    if c is None:
        raise NotFound(_("Complaint not found."))
    return c


def complaint_list(*, actor, state: str | None = None, severity: str | None = None, open_only: bool = False,
                   breached: bool | None = None, customer: int | None = None, ordering: str = "due_at",
                   limit: int | None = None, cursor: str | None = None) -> Page:
    qs = complaint_base(actor=actor).select_related("accountable", "customer")
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(open_q())
    if severity:
        qs = qs.filter(severity=severity)
    if breached is not None:
        qs = qs.filter(sla.breached_q() if breached else ~sla.breached_q())
    if customer:
        qs = qs.filter(customer_id=customer)
    if (ordering or "").lstrip("-") == "response_priority":
        from kehu.service_desk.service_levels import response_priority_expression

        qs = qs.annotate(response_priority=response_priority_expression())
    return paginate(qs, ordering=ordering or "due_at", allowed=ORDERINGS, limit=limit, cursor=cursor)


def complaint_board(*, actor, limit_per_state: int = 50) -> dict[str, list[Complaint]]:
    """Open complaints by state, soonest due first (the board)."""
    # One query per column; "state = s" alone lets the (state, due_at) index read each column in
    # order (with the open-states condition too, the planner would scan every open complaint).
    qs = complaint_base(actor=actor).select_related("accountable", "customer")
    return {state: list(qs.filter(state=state).order_by("due_at", "id")[:limit_per_state])
            for state in workflow.OPEN_STATES}


def complaint_handler_list(*, actor) -> QuerySet[User]:
    """Active users who may handle complaints: whom a step can name responsible or a manager can
    make accountable."""
    from kehu.access.roles import ROLES, Perm

    roles = [name for name, spec in ROLES.items() if Perm.COMPLAINT_HANDLE in spec.perms]
    return User.objects.filter(is_active=True, role__in=roles).select_related("department").order_by(
        "department__path", "id")


def complaint_events(*, actor, complaint_id: int) -> list[ComplaintEvent]:
    c = complaint_get(actor=actor, complaint_id=complaint_id)
    return list(c.events.select_related("actor").order_by("at", "id"))


def complaint_track(*, tracking_no: str, phone: str) -> Complaint | None:
    """Public tracking: the complaint with this number whose complainant's phone matches, else None."""
    from kehu.customers.validation import InvalidValue, normalize_mobile

    try:
        digest = protection.lookup_hash(normalize_mobile(phone))
    except InvalidValue:
        return None
    return Complaint.objects.filter(tracking_no=(tracking_no or "").strip().upper(),
                                    complainant_phone_hash=digest).first()


def complaint_track_or_404(*, tracking_no: str, phone: str) -> Complaint:
    c = complaint_track(tracking_no=tracking_no, phone=phone)
    if c is None:
        raise NotFound(_("No complaint with this tracking number and phone number."))
    return c


def escalation_recipients(c: Complaint, *, level: int) -> list[User]:
    """Level 1: managers of the accountable person's department, or the nearest department above
    that has one. Level 2: managers one department higher, else the executives."""
    path = c.department.path if c.department_id else ""
    return EscalationDirectory().recipients(path, level=level)


def _ancestors(path: str) -> list[int]:
    """Department ids of a materialised path "/1/4/9/", own department first."""
    return [int(x) for x in path.strip("/").split("/") if x][::-1]


class EscalationDirectory:
    """Who receives escalations, loaded once (the active managers by department, the executives and
    the admins: three small queries, made on first use) and answered per department path from memory,
    so a sweep over thousands of complaints costs the same few queries. Same rule as
    ``escalation_recipients``; build a new one per sweep so role changes show up at the next sweep."""

    def __init__(self) -> None:
        self._managers: dict[int, list[User]] | None = None
        self._fallback: list[User] | None = None
        self._cache: dict[tuple[str, int], list[User]] = {}

    def _load(self) -> None:
        managers: dict[int, list[User]] = {}
        for u in User.objects.filter(role="manager", is_active=True).order_by("id"):
            managers.setdefault(u.department_id, []).append(u)
        self._managers = managers

    def _top(self) -> list[User]:
        if self._fallback is None:
            self._fallback = (list(User.objects.filter(role="executive", is_active=True).order_by("id"))
                              or list(User.objects.filter(role="admin", is_active=True).order_by("id")))
        return self._fallback

    def recipients(self, department_path: str, *, level: int) -> list[User]:
        key = (department_path or "", level)
        if key not in self._cache:
            self._cache[key] = self._resolve(department_path or "", level)
        return self._cache[key]

    def _resolve(self, path: str, level: int) -> list[User]:
        if self._managers is None:
            self._load()
        ancestors = _ancestors(path)
        found_at = next((i for i, dept_id in enumerate(ancestors) if self._managers.get(dept_id)), None)
        if found_at is not None:
            if level == 1:
                return self._managers[ancestors[found_at]]
            for dept_id in ancestors[found_at + 1:]:
                if self._managers.get(dept_id):
                    return self._managers[dept_id]
        return self._top()


# ---------------------------------------------------------------- matching a complaint to customers

MATCH_LIMIT = 8
NAME_MATCH_MIN = 85  # rapidfuzz ratio of the name cores (legal form and region stripped)


def complaint_customer_candidates(*, actor, complaint_id: int, query: str | None = None) -> list[dict]:
    """Customers in the actor's scope this complaint is probably about, best first: the same USCC, the
    complainant's mobile (the customer's own or a contact's, by its lookup hash), or the organisation's
    name (its core, legal form and region stripped, as the duplicate scan does). With ``query``, a
    search box over the customers instead (to link or re-link by hand). Each: customer, reason, score."""
    from kehu.customers import dedupe
    from kehu.customers.selectors import customer_base, customer_search_filter

    c = complaint_get(actor=actor, complaint_id=complaint_id)
    base = customer_base(actor=actor).select_related("owner").order_by("id")
    found: dict[int, dict] = {}

    def add(rows, reason: str, score: int) -> None:
        for cust in rows:
            if cust.pk not in found or found[cust.pk]["score"] < score:
                found[cust.pk] = {"customer": cust, "reason": reason, "score": score}

    if query and query.strip():
        add(customer_search_filter(base, query.strip())[:MATCH_LIMIT], "search", 50)
    else:
        if c.complainant_uscc:
            add(base.filter(uscc=c.complainant_uscc)[:MATCH_LIMIT], "uscc", 100)
        if c.complainant_phone_enc:
            phone = protection.decrypt(c.complainant_phone_enc)
            if phone:
                add(customer_search_filter(base, phone)[:MATCH_LIMIT], "mobile", 95)
        core = dedupe.name_core(c.complainant_company) if c.complainant_company else ""
        if len(core) >= 2:
            for cust in customer_search_filter(base, core)[:50]:
                score = int(dedupe.fuzz.ratio(core, dedupe.name_core(cust.name)))
                if score >= NAME_MATCH_MIN:
                    add([cust], "name", min(score, 90))
    found.pop(c.customer_id, None)
    return sorted(found.values(), key=lambda m: (-m["score"], m["customer"].pk))[:MATCH_LIMIT]
