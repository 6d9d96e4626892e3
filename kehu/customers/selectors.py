"""Every read of the customer archive, narrowed to the actor's data scope. Outside the scope a record
does not exist (NotFound), so existence never leaks."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.models import Department, User
from kehu.access.roles import Perm, Scope
from kehu.access.scopes import in_scope, scope_q
from kehu.customers import dedupe, search_index
from kehu.customers.models import (
    ChangeRecord,
    Consent,
    Contact,
    Customer,
    CustomerKind,
    CustomFieldDefinition,
    Tag,
)
from kehu.errors import NotFound
from kehu.pagination import Page, paginate

CUSTOMER_ORDERINGS = {"id": int, "name_sort": str, "updated_at": dt.datetime, "created_at": dt.datetime}


def customer_base(*, actor) -> QuerySet[Customer]:
    """Live customers within the actor's data scope."""
    return Customer.objects.filter(scope_q(actor), deleted_at__isnull=True)


def _via_customer(actor) -> Q:
    """Scope of rows hanging off a customer: the customer's scope, joined (no IN over all customers)."""
    return scope_q(actor, owner_field="customer__owner", department_field="customer__department") & Q(
        customer__deleted_at__isnull=True)


def customer_get(*, actor, customer_id: int, for_update: bool = False) -> Customer:
    """One customer in scope, or NotFound."""
    qs = customer_base(actor=actor).select_related("owner", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    customer = qs.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def customer_name_duplicates(*, actor, name: str, uscc: str = "", exclude_id: int | None = None,
                             limit: int = 10) -> tuple[list[Customer], int]:
    """Live organisations whose name core (legal form and region stripped) is ``name``'s: those in the actor's
    scope (with owners) and how many more exist outside it (ids and names never leave the scope). Two
    different USCCs are two legal entities, so such a pair is no candidate. One indexed look-up."""
    core = dedupe.name_core(name)
    if not core:
        return [], 0
    qs = Customer.objects.filter(name_core=core, deleted_at__isnull=True, kind=CustomerKind.ORGANIZATION)
    if uscc:
        qs = qs.filter(Q(uscc="") | Q(uscc=uscc))
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    rows = list(qs.values_list("pk", "owner_id", "department_id")[:200])
    if not rows:
        return [], 0
    ids = [pk for pk, _o, _d in rows if in_scope(actor, owner_id=_o, department_id=_d)]
    found = list(Customer.objects.filter(pk__in=ids).select_related("owner", "department")
                 .order_by("-updated_at", "-id")[:limit])
    return found, len(rows) - len(ids)


def deleted_customer_get(*, actor, customer_id: int, for_update: bool = False) -> Customer:
    """A soft-deleted (not merged, not erased) customer in the actor's scope, or NotFound: what can be restored."""
    qs = Customer.objects.filter(scope_q(actor), deleted_at__isnull=False, merged_into__isnull=True,
                                 erased_at__isnull=True).select_related("owner", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    customer = qs.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def customer_assigned_get(*, actor, customer_id: int) -> Customer:
    """A live customer the actor is assigned to work on (assignments.assigned_q: the inspector of an inspection
    plan, the agent of a complaint …) though outside the actor's scope, with what its read-only page shows;
    else NotFound. Only for reading (masked): every write still goes through customer_get's scope."""
    from kehu.customers.assignments import assigned_q

    if actor is None or not actor.is_authenticated:
        raise NotFound(_("Customer not found."))
    return _detail_of(Customer.objects.filter(assigned_q(actor), deleted_at__isnull=True), customer_id)


def customer_detail(*, actor, customer_id: int) -> Customer:
    """One customer in scope with what the 360° page shows, in a bounded number of queries."""
    return _detail_of(customer_base(actor=actor), customer_id)


def _detail_of(base: QuerySet[Customer], customer_id: int) -> Customer:
    qs = base.select_related("owner", "department").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.select_related("category")),
        Prefetch("contacts", queryset=Contact.objects.order_by("id")),
        Prefetch("consents", queryset=Consent.objects.select_related("contact").order_by("-granted_at")),
    )
    customer = qs.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def customer_list(*, actor, q: str | None = None, industry: str | None = None, city: str | None = None,
                  stage: str | None = None, status: str | None = None, owner: int | None = None,
                  department: int | None = None, tag: int | None = None, kind: str | None = None,
                  mine: bool = False, grade_policy: str | None = None, grade: str | None = None,
                  ordering: str = "-updated_at", limit: int | None = None, cursor: str | None = None) -> Page:
    """A page of customers in scope matching the filters, keyset-paginated both ways; each item
    carries its tags (with categories) prefetched as ``tag_list`` and its current grades as
    ``grade_list``. ``ordering=name`` is pinyin order."""
    qs = customer_filtered(actor=actor, q=q, industry=industry, city=city, stage=stage, status=status,
                           owner=owner, department=department, tag=tag, kind=kind, mine=mine,
                           grade_policy=grade_policy, grade=grade)
    return _customer_page(qs, ordering=ordering, limit=limit, cursor=cursor)


def customer_list_counted(*, actor, ordering: str = "-updated_at", limit: int | None = None,
                          cursor: str | None = None, **filters) -> tuple[Page, ListCount]:
    """customer_list and customer_count of the same filters, planning the filters once."""
    qs, counted, dense = _filtered_pair(actor=actor, **filters)
    page = _customer_page(qs, ordering=ordering, limit=limit, cursor=cursor)
    searched = bool((filters.get("q") or "").strip())
    if cursor is None and page.next is None and len(page.items) <= _count_cap(searched):
        return page, ListCount(len(page.items), "exact")  # the first page holds them all: no count statement
    if dense:
        return page, _page_bound(page, cursor)
    return page, _count(counted, searched=searched)


def _page_bound(page: Page, cursor: str | None) -> ListCount:
    """What the page itself proves, for a dense search (not counted, see search_index.Conditions): more than
    the rows read — a following page means at least one more, a cursor at least the row it points after."""
    shown = len(page.items)
    if page.next is None and cursor is None:
        return ListCount(shown, "exact")
    return ListCount(shown, "at_least")


def _customer_page(qs: QuerySet[Customer], *, ordering: str, limit: int | None, cursor: str | None) -> Page:
    qs = qs.select_related("owner", "department").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.select_related("category"), to_attr="tag_list"),
        _grades_prefetch())
    ordering = ordering or "-updated_at"
    if ordering.lstrip("-") == "name":  # names sort by their pinyin collation key (search.sort_key)
        ordering = ordering.replace("name", "name_sort")
    return paginate(qs, ordering=ordering, allowed=CUSTOMER_ORDERINGS, limit=limit, cursor=cursor)


def customer_filtered(*, actor, **filters) -> QuerySet[Customer]:
    """Customers in scope matching the list's filters (unordered): ``q`` the search box,
    ``department`` with its subtree, ``mine`` the actor's own; see customer_list."""
    return _filtered_pair(actor=actor, **filters)[0]


def _filtered_pair(*, actor, q: str | None = None, industry: str | None = None, city: str | None = None,
                   stage: str | None = None, status: str | None = None, owner: int | None = None,
                   department: int | None = None, tag: int | None = None, kind: str | None = None,
                   mine: bool = False, grade_policy: str | None = None,
                   grade: str | None = None) -> tuple[QuerySet[Customer], QuerySet[Customer], bool]:
    """The filtered customers twice: shaped for reading a page in order, and for counting (a
    common search token then drives the count from its postings instead of probing every row); and
    whether the search is dense (search_index.Conditions: its count would fetch thousands of postings)."""
    qs = customer_base(actor=actor)
    filters = {"industry": industry, "city": city, "stage": stage, "status": status, "owner_id": owner,
               "kind": kind}
    qs = qs.filter(**{k: v for k, v in filters.items() if v not in (None, "")})
    if mine:
        qs = qs.filter(owner_id=actor.pk)
    if department:
        qs = qs.filter(department_id__in=_department_subtree(department))
    if tag:
        qs = qs.filter(tags__id=tag)
    qs = grade_filtered(qs, grade_policy=grade_policy, grade=grade)
    conditions = _search_conditions(q) if q else None
    if conditions is None:
        return qs, qs, False
    return qs.filter(conditions.ordered), qs.filter(conditions.driving), conditions.dense


# ---------------------------------------------------------------- grades (kehu.grading) on the list

def grade_filtered(qs: QuerySet[Customer], *, grade_policy: str | None = None,
                   grade: str | None = None) -> QuerySet[Customer]:
    """Customers whose current grade matches: under the policy ``grade_policy`` (any grade), the grade
    ``grade`` (under any policy), or both. One EXISTS on the (policy_name, grade) index, no join that
    could repeat a customer."""
    from kehu.grading.models import CustomerGrade

    match = {k: v for k, v in {"policy_name": grade_policy, "grade": grade}.items() if v not in (None, "")}
    if not match:
        return qs
    return qs.filter(Exists(CustomerGrade.objects.filter(customer_id=OuterRef("pk"), **match)))


def _grades_prefetch() -> Prefetch:
    """The page's customers' current grades (one query for the page) as ``grade_list``."""
    from kehu.grading.models import CustomerGrade

    return Prefetch("grades", queryset=CustomerGrade.objects.only("id", "customer_id", "policy_name", "grade")
                    .order_by("policy_name"), to_attr="grade_list")


def grade_filter_choices() -> list[tuple[str, list[str]]]:
    """[(policy name, its grades best first)] of the active grading policies: what the list's grade
    filter offers. Configuration, readable by every signed-in user (as on the customer page)."""
    from kehu.grading.kinds import KINDS, ConfigError
    from kehu.grading.models import GradingPolicy, PolicyState

    out = []
    for p in GradingPolicy.objects.filter(state=PolicyState.ACTIVE).order_by("name").only("name", "kind", "config"):
        kind = KINDS.get(p.kind)
        if kind is None:
            continue
        try:
            levels = kind.levels(kind.validate(p.config))
        except ConfigError:
            continue
        out.append((p.name, list(reversed(levels))))
    return out


def _department_subtree(department_id: int) -> list[int]:
    root = Department.objects.filter(pk=department_id).values_list("path", flat=True).first()
    if root is None:
        return []
    return list(Department.objects.filter(path__startswith=root).values_list("pk", flat=True))


@dataclass(frozen=True)
class ListCount:
    """How many customers a list holds: exact up to the cap (KEHU_LIST_EXACT_COUNT_MAX); beyond it an
    estimate (PostgreSQL's planner, for lists without a search) or only the lower bound ("more than the cap").
    Counting stops at cap + 1 rows, so a count never reads more than that many rows whatever the list holds."""

    value: int
    kind: str  # "exact" | "estimate" | "at_least"


def customer_count(*, actor, **filters) -> ListCount:
    """The number of customers ``customer_list`` would page through with these filters."""
    return _count(_filtered_pair(actor=actor, **filters)[1], searched=bool((filters.get("q") or "").strip()))


def _count_cap(searched: bool) -> int:
    """How far a list is counted exactly: a search stops sooner (KEHU_SEARCH_EXACT_COUNT_MAX), because each
    match of a common term is counted by fetching its document and its customer row — two random page reads
    a match (35 ms for 1,001 matches of 华星 at 1M customers), where a filtered list reads an index in order."""
    cap = settings.KEHU_LIST_EXACT_COUNT_MAX
    return min(cap, settings.KEHU_SEARCH_EXACT_COUNT_MAX) if searched else cap


def _count(qs: QuerySet[Customer], *, searched: bool = False) -> ListCount:
    """Counted up to the cap + 1. Beyond it, PostgreSQL's planner estimate for a list without a search when
    the planner itself puts the list above the cap (column statistics; it cannot see a search's selectivity),
    else the bound: "more than <cap>" is all that was counted."""
    cap = _count_cap(searched)
    ids = qs.values("id")
    if not searched:
        # Counted in the order of the (filter, -updated_at, -id) indexes the lists read: the planner then walks
        # one of them and stops after cap + 1 entries. Unordered, it read the table until cap + 1 rows matched
        # (city=杭州市 at 1M: a sequential scan of 21,000 rows, 8–11 ms, against 0.4–1 ms by the index). A
        # search's count is driven by its postings instead (ordering it would turn it into a list read).
        ids = ids.order_by("-updated_at", "-id")
    n = ids[: cap + 1].count()
    if n <= cap:
        return ListCount(n, "exact")
    guess = _planner_estimate(qs) if not searched and connection.vendor == "postgresql" else None
    if guess is None or guess <= cap:
        return ListCount(cap, "at_least")
    return ListCount(guess, "estimate")


def _planner_estimate(qs: QuerySet) -> int | None:
    """PostgreSQL's row estimate for the query (EXPLAIN, no execution): cheap at any size."""
    try:
        plan = json.loads(qs.values("id").explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
    except (ValueError, KeyError, IndexError, TypeError, DatabaseError):
        return None


def customer_search_filter(qs: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    """Narrow ``qs`` to customers matching one search box: name (Chinese substring, traditional or
    simplified), pinyin, pinyin initials, mobile or its last four digits (customer's or a
    contact's), or USCC."""
    conditions = _search_conditions(query)
    return qs if conditions is None else qs.filter(conditions[0])


def _search_conditions(query: str) -> search_index.Conditions | None:
    return search_index.conditions(query)


def contact_get(*, actor, contact_id: int, for_update: bool = False) -> Contact:
    """One contact whose customer is in scope, or NotFound."""
    qs = Contact.objects.select_related("customer").filter(_via_customer(actor))
    if for_update:
        qs = qs.select_for_update(of=("self",))
    contact = qs.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("Contact not found."))
    return contact


def contact_list(*, actor, customer_id: int, limit: int | None = None, cursor: str | None = None) -> Page:
    customer = customer_get(actor=actor, customer_id=customer_id)
    return paginate(Contact.objects.filter(customer=customer), ordering="id", allowed={"id": int},
                    limit=limit, cursor=cursor)


def consent_get(*, actor, consent_id: int, for_update: bool = False) -> Consent:
    qs = Consent.objects.filter(_via_customer(actor))
    if for_update:
        qs = qs.select_for_update(of=("self",))
    consent = qs.filter(pk=consent_id).first()
    if consent is None:
        raise NotFound(_("Consent not found."))
    return consent


def consent_list(*, actor, customer_id: int, limit: int | None = None, cursor: str | None = None) -> Page:
    customer = customer_get(actor=actor, customer_id=customer_id)
    return paginate(Consent.objects.filter(customer=customer).select_related("contact"), ordering="-id",
                    allowed={"id": int}, limit=limit, cursor=cursor)


def history_list(*, actor, customer_id: int, limit: int | None = None, cursor: str | None = None) -> Page:
    """The customer's timeline, newest first."""
    customer = customer_get(actor=actor, customer_id=customer_id)
    return paginate(ChangeRecord.objects.filter(customer=customer).select_related("actor"), ordering="-id",
                    allowed={"id": int}, limit=limit, cursor=cursor)


def tag_list(*, actor) -> QuerySet[Tag]:
    return Tag.objects.select_related("category").order_by("category__name", "name")


def custom_field_list(*, actor) -> QuerySet[CustomFieldDefinition]:
    return CustomFieldDefinition.objects.order_by("key")


def assignable_owner_list(*, actor) -> QuerySet[User]:
    """The users the actor may make owner of a customer (oneself only without customer.assign)."""
    qs = User.objects.filter(is_active=True, role__in=["account_manager", "manager", "executive", "admin"])
    if not actor.has_kehu_perm(Perm.CUSTOMER_ASSIGN):
        return qs.filter(pk=actor.pk)
    if actor.role_spec.scope == Scope.SUBTREE:
        qs = qs.filter(department_id__in=actor.department_subtree_ids())
    elif actor.role_spec.scope == Scope.OWN:
        qs = qs.filter(pk=actor.pk)
    return qs.select_related("department").order_by("department__path", "display_name", "username")


def customer_owner_filter_list(*, actor) -> QuerySet[User]:
    """The owners the customer list may be filtered by: people within the actor's data scope."""
    qs = User.objects.filter(is_active=True, role__in=["account_manager", "manager", "executive", "admin"])
    scope = actor.role_spec.scope
    if scope == Scope.SUBTREE:
        qs = qs.filter(department_id__in=actor.department_subtree_ids())
    elif scope != Scope.ALL:
        qs = qs.filter(pk=actor.pk)
    return qs.select_related("department").order_by("department__path", "display_name", "username")


def customer_department_filter_list(*, actor) -> QuerySet[Department]:
    """The departments the customer list may be filtered by (each with its subtree): those in scope."""
    scope = actor.role_spec.scope
    if scope == Scope.ALL:
        return Department.objects.order_by("path")
    if scope == Scope.SUBTREE:
        return Department.objects.filter(pk__in=actor.department_subtree_ids()).order_by("path")
    return Department.objects.none()


def assignable_owner_get(*, actor, owner_id: int) -> User | None:
    """A user the actor may make owner of a customer, or None."""
    return assignable_owner_list(actor=actor).filter(pk=owner_id).first()


# ---------------------------------------------------------------- duplicates and merges

def _require_merge(actor) -> None:
    from kehu.errors import Forbidden

    if not actor.has_kehu_perm(Perm.CUSTOMER_MERGE):
        raise Forbidden(_("You are not allowed to do this."))


def duplicate_base(*, actor) -> QuerySet:
    """Candidate pairs whose two customers are both in the actor's scope."""
    from kehu.customers.models import DuplicateCandidate

    _require_merge(actor)
    return DuplicateCandidate.objects.filter(
        scope_q(actor, owner_field="customer_a__owner", department_field="customer_a__department"),
        scope_q(actor, owner_field="customer_b__owner", department_field="customer_b__department"))


def duplicate_list(*, actor, state: str | None = "open", customer: int | None = None, min_score: int | None = None,
                   rule: str | None = None, ordering: str = "-score", limit: int | None = None,
                   cursor: str | None = None) -> Page:
    """A page of candidate pairs in scope, both customers loaded (with owners), highest score first."""
    qs = duplicate_base(actor=actor)
    if state:
        qs = qs.filter(state=state)
    if state == "open":  # an open pair with a deleted or merged-away side is moot
        qs = qs.filter(customer_a__deleted_at__isnull=True, customer_b__deleted_at__isnull=True)
    if customer:
        qs = qs.filter(Q(customer_a_id=customer) | Q(customer_b_id=customer))
    if min_score is not None:
        qs = qs.filter(score__gte=min_score)
    if rule:
        qs = qs.filter(reasons__contains=[{"rule": rule}]) if _json_contains_ok() else qs.filter(
            reasons__icontains=f'"rule": "{rule}"')
    qs = qs.select_related("customer_a__owner", "customer_a__department", "customer_b__owner",
                           "customer_b__department", "decided_by")
    return paginate(qs, ordering=ordering or "-score", allowed={"score": int, "id": int, "detected_at": dt.datetime},
                    limit=limit, cursor=cursor)


def _json_contains_ok() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def duplicate_get(*, actor, candidate_id: int, for_update: bool = False):
    """One candidate pair in scope, or NotFound."""
    qs = duplicate_base(actor=actor).select_related("customer_a", "customer_b")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    candidate = qs.filter(pk=candidate_id).first()
    if candidate is None:
        raise NotFound(_("Duplicate candidate not found."))
    return candidate


def merge_base(*, actor) -> QuerySet:
    """Merges whose survivor is in the actor's scope."""
    from kehu.customers.models import CustomerMerge

    _require_merge(actor)
    return CustomerMerge.objects.filter(scope_q(actor, owner_field="survivor__owner",
                                                department_field="survivor__department"))


def merge_list(*, actor, customer: int | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
    """The actor's reachable merges, newest first (``customer``: as survivor or as loser)."""
    qs = merge_base(actor=actor)
    if customer:
        qs = qs.filter(Q(survivor_id=customer) | Q(loser_id=customer))
    qs = qs.select_related("survivor", "loser", "actor", "undone_by")
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


def merge_get(*, actor, merge_id: int, for_update: bool = False):
    """One merge whose survivor is in scope, or NotFound."""
    qs = merge_base(actor=actor).select_related("survivor", "loser", "actor", "undone_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    record = qs.filter(pk=merge_id).first()
    if record is None:
        raise NotFound(_("Merge not found."))
    return record


def customer_merged_into(*, actor, customer_id: int) -> int | None:
    """Where a merged-away customer (tombstone) now lives: the live survivor's id if it is in the
    actor's scope (following later merges), else None."""
    target, seen = customer_id, set()
    while target is not None and target not in seen:
        seen.add(target)
        row = Customer.objects.filter(pk=target).values_list("merged_into_id", "deleted_at").first()
        if row is None:
            return None
        into, deleted = row
        if into is None:
            if deleted is not None or target == customer_id:
                return None
            return target if customer_base(actor=actor).filter(pk=target).exists() else None
        target = into
    return None


def customer_merges_absorbed(*, actor, customer_id: int, limit: int = 10) -> list:
    """The merges into this customer, newest first (the 360° page's "merged from …")."""
    from kehu.customers.models import CustomerMerge

    if not actor.has_kehu_perm(Perm.CUSTOMER_MERGE):
        return []
    return list(CustomerMerge.objects.filter(survivor_id=customer_id).select_related("loser", "actor")
                .order_by("-id")[:limit])
