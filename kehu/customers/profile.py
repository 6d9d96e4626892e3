"""The customer 360 page's thread (往来记录): follow-ups, complaints, service requests, inspection visits … newest
first, in one list. Each app registers a provider in its own ``thread.py``; the customers app never imports
their models.

A provider is ``fn(actor, customer_id, before, limit) -> list[ThreadItem]``: at most ``limit`` of the
customer's items that the actor may read (its own scoped selector; [] without the permission), newest first,
strictly before ``before`` (a ThreadCursor, or None for the newest) — ``before.q(field, kind)`` builds the
filter. The thread merges the providers' pages by (at, kind, id), so paging is keyset, never OFFSET.

Most customers have items of only a few kinds, so the thread first asks one question — which kinds does this
customer have at all (one ``UNION ALL`` of ``EXISTS`` on each provider's table, by the customer's foreign key,
unscoped: it only decides whom to ask) — and calls only those providers. A provider names its table with
``source="app_label.Model"`` (its ``customer`` foreign key, or ``customer_field``); the kinds registered
before this existed are listed in KNOWN_SOURCES; a provider with neither is always called. The source must
hold every item the provider can return (a superset is fine: it only costs the provider's query)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from kehu.errors import BadRequest


@dataclass(frozen=True)
class ThreadItem:
    kind: str  # the provider's key: "followup", "complaint", "ticket", "inspection"
    id: int
    at: dt.datetime  # aware; the moment the item sorts by
    title: str
    url: str = ""
    detail: str = ""
    badge: str = ""  # a word for the item's type ("电话", "投诉")
    state: str = ""  # a short state ("已关闭") or ""
    alert: bool = False  # draw it red (overdue, breached)

    def sort_key(self) -> tuple:
        return (self.at, self.kind, self.id)


@dataclass(frozen=True)
class ThreadCursor:
    at: dt.datetime
    kind: str
    id: int

    def q(self, field: str, kind: str, id_field: str = "id") -> Q:
        """Rows of ``kind`` that sort strictly before this cursor (newest first: at, then kind, then id)."""
        same = Q(**{field: self.at})
        if kind < self.kind:
            same_tail = Q()
        elif kind == self.kind:
            same_tail = Q(**{f"{id_field}__lt": self.id})
        else:
            same_tail = Q(pk__in=[])
        # The redundant "<=" is a range the database can start an index scan at (an OR alone would make it read
        # the thread from its newest row down to the cursor).
        return Q(**{f"{field}__lte": self.at}) & (Q(**{f"{field}__lt": self.at}) | (same & same_tail))

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.kind, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> ThreadCursor:
        try:
            at, kind, pk = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            when = dt.datetime.fromisoformat(at)
            if when.tzinfo is None or not isinstance(kind, str) or not isinstance(pk, int) or not 0 <= pk < 2**63:
                raise ValueError("bad cursor")
            return cls(when, kind[:32], pk)
        except (ValueError, TypeError) as exc:
            raise BadRequest(_("The cursor is not valid."), fields={"cursor": [_("Malformed cursor.")]}) from exc


@dataclass(frozen=True)
class Provider:
    key: str
    label: object
    fn: Callable
    source: str | None = None  # "app_label.Model" holding the provider's items (see the module's docstring)
    customer_field: str = "customer"


_providers: dict[str, Provider] = {}
_discovered = False
_exists_sql: dict[tuple, tuple[str, list[str]]] = {}

# The tables of the providers the other apps registered before ``source`` existed (their thread.py files are
# unchanged): each model's ``customer`` foreign key.
KNOWN_SOURCES = {
    "deal": "sales.Deal",
    "registration": "ownership.Registration",
    "pool_move": "ownership.PoolMove",
    "complaint": "service_desk.Complaint",
    "inspection": "inspections.InspectionVisit",
    "ticket": "service_tickets.ServiceTicket",
    "qualification": "qualification.Document",
    "disqualification": "blacklist.Disqualification",
    "survey": "surveys.Response",
}


def thread_provider(key: str, *, label, source: str | None = None, customer_field: str = "customer"):
    """Register ``fn(actor, customer_id, before, limit) -> list[ThreadItem]`` under ``key``; ``source`` is the
    model ("app_label.Model") whose ``customer_field`` foreign key holds the items (optional)."""
    def wrap(fn):
        _providers[key] = Provider(key, label, fn, source or KNOWN_SOURCES.get(key), customer_field)
        _exists_sql.clear()
        return fn

    return wrap


def thread_providers() -> list[Provider]:
    global _discovered
    if not _discovered:  # once per process: the import machinery costs more than the thread's queries
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("thread")
        _discovered = True
    return sorted(_providers.values(), key=lambda p: p.key)


def _kinds_query(providers: list[Provider]) -> tuple[str, list[str]]:
    """The SQL asking which of ``providers`` (those with a source) have any item of a customer (its one
    parameter, repeated), and the keys it can answer; built once per process and set of providers."""
    from django.apps import apps
    from django.db import connection

    cache_key = (connection.vendor, *(p.key for p in providers))
    if cache_key not in _exists_sql:
        quote = connection.ops.quote_name
        parts, keys = [], []
        for p in providers:
            if p.source is None or not p.key.isidentifier():
                continue
            try:
                model = apps.get_model(p.source)
            except LookupError:  # the app is not installed: ask the provider itself
                continue
            column = model._meta.get_field(p.customer_field).column
            parts.append(f"SELECT '{p.key}' WHERE EXISTS (SELECT 1 FROM {quote(model._meta.db_table)}"
                         f" WHERE {quote(column)} = %s)")
            keys.append(p.key)
        _exists_sql[cache_key] = (" UNION ALL ".join(parts), keys)
    return _exists_sql[cache_key]


def customer_kinds(customer_id: int, providers: list[Provider] | None = None) -> set[str] | None:
    """The keys of the providers (with a source) that hold any item of the customer — whoever may read them —
    in one statement; None when no provider has a source."""
    from django.db import connection

    sql, keys = _kinds_query(providers if providers is not None else thread_providers())
    if not keys:
        return None
    with connection.cursor() as cur:
        cur.execute(sql, [customer_id] * len(keys))
        return {row[0] for row in cur.fetchall()}


def customer_thread(*, actor, customer_id: int, before: str | None = None,
                    limit: int = 20) -> tuple[list[ThreadItem], str | None]:
    """One page of the customer's thread, newest first, and the cursor of the next page (None at the end).
    The caller has checked the customer is in the actor's scope; each provider checks its own permission.
    Only the providers that hold any of the customer's items are asked (see the module's docstring)."""
    cursor = ThreadCursor.decode(before) if before else None
    providers = thread_providers()
    _sql, sourced = _kinds_query(providers)
    present = customer_kinds(customer_id, providers) if sourced else set()
    skip = set(sourced) - present
    items: list[ThreadItem] = []
    for provider in providers:
        if provider.key in skip:
            continue
        items.extend(provider.fn(actor, customer_id, cursor, limit + 1))
    items.sort(key=ThreadItem.sort_key, reverse=True)
    page = items[:limit]
    more = len(items) > limit
    nxt = ThreadCursor(page[-1].at, page[-1].kind, page[-1].id).encode() if more and page else None
    return page, nxt
