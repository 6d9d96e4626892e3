"""Every read of the follow-ups, narrowed to the actor's scope through the customer (reading follows the
customer: whoever sees the customer sees its thread). Outside the scope a follow-up does not exist (404)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Scope
from kehu.access.scopes import scope_q
from kehu.customers.models import Contact
from kehu.engagement.models import CustomerContactSummary, Interaction, InteractionAttachment
from kehu.errors import BadRequest, NotAuthenticated, NotFound
from kehu.pagination import Page, paginate

ORDERINGS = {"occurred_at": dt.datetime, "next_step_due": dt.date, "id": int}
THREAD_MAX = 100


def _require_read(actor) -> None:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Please log in."))


def _via_customer(actor) -> Q:
    return scope_q(actor, owner_field="customer__owner", department_field="customer__department") & Q(
        customer__deleted_at__isnull=True)


def interaction_base(*, actor) -> QuerySet[Interaction]:
    """Follow-ups of the live customers in the actor's scope."""
    _require_read(actor)
    return Interaction.objects.filter(_via_customer(actor))


def open_step_q() -> Q:
    return Q(next_step_done_at__isnull=True, next_step_due__isnull=False) & ~Q(next_step="")


_OWN_FIELDS = [f.name for f in Interaction._meta.concrete_fields]


def interaction_list(*, actor, customer: int | None = None, channel: str | None = None, owner: int | None = None,
                     mine: bool = False, team: bool = False, date_from: dt.date | None = None,
                     date_to: dt.date | None = None, overdue: bool = False, open_steps: bool = False,
                     ordering: str = "-occurred_at", limit: int | None = None, cursor: str | None = None) -> Page:
    """A page of follow-ups in scope, filtered: by customer, channel, account manager (``mine``: the actor's
    own), the day it happened (local dates, inclusive), ``overdue`` (an open next step past its date) and
    ``open_steps`` (any open next step); keyset-paginated."""
    # The list renders the follow-up's own columns, the customer's name and the account manager's name: only
    # those are read (not the customer's ~45 columns, ciphertexts included, nor two whole user rows).
    qs = interaction_base(actor=actor).select_related("customer", "owner").only(
        *_OWN_FIELDS, "customer__name", "owner__display_name", "owner__username")
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if channel:
        qs = qs.filter(channel=channel)
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if mine:
        qs = qs.filter(owner_id=actor.pk)
    if team and actor.role_spec.scope == Scope.OWN:
        qs = qs.filter(owner_id=actor.pk)
    tz = timezone.get_default_timezone()
    if date_from:
        qs = qs.filter(occurred_at__gte=dt.datetime.combine(date_from, dt.time(0), tzinfo=tz))
    if date_to:
        qs = qs.filter(occurred_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz))
    if overdue:
        qs = qs.filter(open_step_q(), next_step_due__lt=timezone.localdate())
    elif open_steps:
        qs = qs.filter(open_step_q())
    if ordering.lstrip("-") == "next_step_due":
        qs = qs.filter(next_step_due__isnull=False)
    return paginate(qs, ordering=ordering, allowed=ORDERINGS, limit=limit, cursor=cursor)


def interaction_get(*, actor, interaction_id: int) -> Interaction:
    """One follow-up in scope with its contacts and attachments, or NotFound."""
    if not 0 < interaction_id < 2**63:
        raise NotFound(_("Follow-up not found."))
    found = (interaction_base(actor=actor).select_related("customer", "owner", "recorded_by")
             .prefetch_related(Prefetch("contacts", queryset=Contact.objects.order_by("id")),
                               Prefetch("attachments", queryset=InteractionAttachment.objects.order_by("id")))
             .filter(pk=interaction_id).first())
    if found is None:
        raise NotFound(_("Follow-up not found."))
    return found


def attachment_get(*, actor, interaction_id: int, attachment_id: int) -> InteractionAttachment:
    """An attachment of a follow-up in scope, or NotFound (existence never leaks)."""
    if not (0 < interaction_id < 2**63 and 0 < attachment_id < 2**63):
        raise NotFound(_("Attachment not found."))
    found = InteractionAttachment.objects.filter(
        pk=attachment_id, interaction_id=interaction_id,
        interaction__in=interaction_base(actor=actor).values("pk")).first()
    if found is None:
        raise NotFound(_("Attachment not found."))
    return found


def summary_get(*, actor, customer_id: int) -> CustomerContactSummary | None:
    """The customer's last contact and next open step (None when never contacted); the customer in scope."""
    _require_read(actor)
    return (CustomerContactSummary.objects.filter(scope_q(actor, owner_field="customer__owner",
                                                          department_field="customer__department"),
                                                  customer_id=customer_id, customer__deleted_at__isnull=True)
            .select_related("last_interaction", "next_interaction").first())


def thread_items(*, actor, customer_id: int, before: tuple | None, limit: int) -> list[Interaction]:
    """The customer's follow-ups newest first, those before ``before`` = (occurred_at, id); one query,
    served by the (customer, -occurred_at, -id) index."""
    if limit < 1 or limit > THREAD_MAX:
        raise BadRequest(_("The page size is out of range."))
    qs = interaction_base(actor=actor).filter(customer_id=customer_id).select_related("owner")
    if before is not None:
        at, pk = before
        qs = qs.filter(Q(occurred_at__lte=at) & (Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk)))
    return list(qs.order_by("-occurred_at", "-id")[:limit])


def team_overdue(*, actor, limit: int = 200) -> list[Interaction]:
    """Open next steps past their date over the actor's scope (a manager: the department subtree), oldest
    first."""
    qs = (interaction_base(actor=actor).filter(open_step_q(), next_step_due__lt=timezone.localdate())
          .select_related("customer", "owner").order_by("next_step_due", "id"))
    return list(qs[:limit])


def team_overdue_by_owner(*, actor) -> list[dict]:
    """How many overdue next steps each account manager in scope has (one grouped query)."""
    from django.db.models import Count, Min

    return list(interaction_base(actor=actor).filter(open_step_q(), next_step_due__lt=timezone.localdate())
                .values("owner_id", "owner__display_name", "owner__username")
                .annotate(n=Count("id"), oldest=Min("next_step_due")).order_by("-n", "owner_id"))


def my_open_steps(*, actor, until: dt.date, limit: int) -> list[Interaction]:
    """The actor's own open next steps due by ``until`` (overdue included), soonest first."""
    return list(interaction_base(actor=actor).filter(open_step_q(), owner_id=actor.pk, next_step_due__lte=until)
                .select_related("customer").only("id", "next_step", "next_step_due", "customer__name")
                .order_by("next_step_due", "id")[:limit])


def open_steps_between(*, actor, start: dt.date, end: dt.date, mine: bool = True) -> list[Interaction]:
    qs = interaction_base(actor=actor).filter(open_step_q(), next_step_due__gte=start, next_step_due__lt=end)
    if mine:
        qs = qs.filter(owner_id=actor.pk)
    return list(qs.select_related("customer").only("id", "next_step", "next_step_due", "customer__name")
                .order_by("next_step_due", "id")[:1000])


def counts_by_month(*, actor, months: list[dt.date], mine: bool) -> list[int]:
    """Follow-ups that happened in each of ``months`` (first days, local time), in one query."""
    from django.db.models import Count

    tz = timezone.get_default_timezone()

    def bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
        nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return (dt.datetime.combine(month, dt.time(0), tzinfo=tz), dt.datetime.combine(nxt, dt.time(0), tzinfo=tz))

    spans = [bounds(m) for m in months]
    qs = interaction_base(actor=actor).filter(occurred_at__gte=min(a for a, _ in spans),
                                              occurred_at__lt=max(b for _, b in spans))
    if mine:
        qs = qs.filter(owner_id=actor.pk)
    row = qs.aggregate(**{f"m{i}": Count("id", filter=Q(occurred_at__gte=a, occurred_at__lt=b))
                          for i, (a, b) in enumerate(spans)})
    return [row[f"m{i}"] or 0 for i in range(len(spans))]
