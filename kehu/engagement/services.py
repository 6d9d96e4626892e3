"""Every write of the follow-ups (跟进记录): record one (idempotent by the phone's client key), correct it within
the edit window, tick its next step done or reopen it, attach a photo or PDF. Each takes the acting user
first, checks Perm.INTERACTION_WRITE and the customer's scope, runs in one transaction with its audit entry
and keeps the customer's contact summary (last contact, next open step) up to date in the same transaction."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from kehu.access.context import current_ip
from kehu.access.roles import Perm, Scope
from kehu.audit.services import audit_record
from kehu.customers.models import Contact
from kehu.customers.selectors import customer_base
from kehu.engagement.hooks import interaction_recorded
from kehu.engagement.models import (
    Channel,
    CustomerContactSummary,
    Direction,
    Interaction,
    InteractionAttachment,
)
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

SUMMARY_MAX, OUTCOME_MAX, NEXT_STEP_MAX, CONTACTS_MAX = 4000, 4000, 500, 20
EDITABLE = ("channel", "direction", "occurred_at", "contacts", "summary", "outcome", "next_step", "next_step_due")


def config() -> dict:
    """The follow-up figures (settings.KEHU_ENGAGEMENT over the built-in defaults)."""
    base = {"edit_window_hours": 72, "future_skew_minutes": 10, "remind_days_ahead": 3,
            "attachment_max_bytes": 10 * 1024 * 1024,
            "attachment_types": ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"],
            "attachments_per_interaction": 10}
    return {**base, **getattr(settings, "KEHU_ENGAGEMENT", {})}


def require_write(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.INTERACTION_WRITE):
        raise Forbidden(_("You are not allowed to record follow-ups."))


def is_manager(actor) -> bool:
    """A manager over the customer (department subtree or the whole company) may correct any time."""
    return actor.role_spec.scope in (Scope.SUBTREE, Scope.ALL) and actor.role != "service_agent"


# ---------------------------------------------------------------- cleaning

def _text(data: dict, name: str, errors: dict, *, limit: int, required: bool = False, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[name] = [_("The text contains a character that cannot be stored.")]
    elif required and not value:
        errors[name] = [_("This field is required.")]
    elif len(value) > limit:
        errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
    return value


def _occurred_at(value, errors: dict, now: dt.datetime) -> dt.datetime | None:
    if value in (None, ""):
        return now
    when = value if isinstance(value, dt.datetime) else None
    if when is None and isinstance(value, str):
        try:
            when = parse_datetime(value.strip())
        except ValueError:
            when = None
        if when is None:
            day = _date(value)
            when = dt.datetime.combine(day, dt.time(12), tzinfo=timezone.get_default_timezone()) if day else None
    if when is None:
        errors["occurred_at"] = [_("Enter a date and time, e.g. 2026-12-07 14:30.")]
        return None
    if timezone.is_naive(when):
        when = timezone.make_aware(when, timezone.get_default_timezone())
    if when > now + dt.timedelta(minutes=config()["future_skew_minutes"]):
        errors["occurred_at"] = [_("A follow-up cannot lie in the future.")]
        return None
    if when.year < 2000:
        errors["occurred_at"] = [_("Enter a date after 2000.")]
        return None
    return when


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value.strip()[:10])
        except ValueError:
            return None
    return None


def _coordinate(value, name: str, limit: int, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        errors[name] = [_("Enter a number.")]
        return None
    if not number.is_finite() or abs(number) > limit:
        errors[name] = [_("Out of range.")]
        return None
    return number


def _contact_ids(value, customer_id, errors: dict) -> list[int]:
    if value in (None, "", []):
        return []
    if not isinstance(value, list | tuple) or len(value) > CONTACTS_MAX:
        errors["contacts"] = [_("Choose at most %(n)d contacts.") % {"n": CONTACTS_MAX}]
        return []
    ids = set()
    for v in value:
        if isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, str) and v.strip().isdigit()):
            ids.add(int(v))
        else:
            errors["contacts"] = [_("Choose contacts of this customer.")]
            return []
    if any(not 0 < i < 2**63 for i in ids) or customer_id is None:
        errors["contacts"] = [_("Choose contacts of this customer.")]
        return []
    found = set(Contact.objects.filter(pk__in=ids, customer_id=customer_id).values_list("pk", flat=True))
    if found != ids:
        errors["contacts"] = [_("Choose contacts of this customer.")]
        return []
    return sorted(ids)


def _raise(errors: dict) -> None:
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


def clean(data: dict, *, actor, now: dt.datetime, instance: Interaction | None = None,
          read_customer: bool = True) -> dict:
    """The follow-up's fields cleaned (only those given, when correcting ``instance``); Invalid with the
    errors per field otherwise. ``read_customer=False`` (a new follow-up whose customer the caller's own
    statement reads in scope): only the id's form is checked, and ``_customer`` is not set."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    full = instance is None
    customer_id = instance.customer_id if instance else None
    if full:
        raw = data.get("customer")
        pk = int(raw) if (isinstance(raw, int) and not isinstance(raw, bool)) or (
            isinstance(raw, str) and raw.strip().isdigit()) else None
        customer = None if not read_customer else customer_base(actor=actor).filter(pk=pk).select_related("owner").only(
            "id", "name", "owner_id", "owner__display_name", "owner__username").first() \
            if pk is not None and 0 < pk < 2**63 else None
        if not read_customer:
            if pk is None or not 0 < pk < 2**63:
                raise NotFound(_("Customer not found."))
            customer_id = values["customer_id"] = pk
        elif customer is None:
            raise NotFound(_("Customer not found."))
        else:
            customer_id = customer.pk
            values["customer_id"] = customer_id
            values["_customer"] = customer
    if full or "channel" in data:
        channel = data.get("channel")
        if channel not in Channel.values:
            errors["channel"] = [_("Choose a channel.")]
        values["channel"] = channel
    if full or "direction" in data:
        direction = data.get("direction") or Direction.OUTBOUND
        if direction not in Direction.values:
            errors["direction"] = [_("Choose who contacted whom.")]
        values["direction"] = direction
    if full or "occurred_at" in data:
        values["occurred_at"] = _occurred_at(data.get("occurred_at"), errors, now)
    if full or "summary" in data:
        values["summary"] = _text(data, "summary", errors, limit=SUMMARY_MAX, required=True)
    if full or "outcome" in data:
        values["outcome"] = _text(data, "outcome", errors, limit=OUTCOME_MAX)
    if full or "next_step" in data:
        values["next_step"] = _text(data, "next_step", errors, limit=NEXT_STEP_MAX)
    if full or "next_step_due" in data:
        raw_due = data.get("next_step_due")
        due = _date(raw_due)
        if raw_due not in (None, "") and due is None:
            errors["next_step_due"] = [_("Enter a date as YYYY-MM-DD.")]
        values["next_step_due"] = due
    step = values.get("next_step", instance.next_step if instance else "")
    due = values.get("next_step_due", instance.next_step_due if instance else None)
    if due and not step and "next_step_due" not in errors:
        errors["next_step"] = [_("Say what the next step is, or leave its date empty.")]
    if full or "contacts" in data:
        values["contacts"] = _contact_ids(data.get("contacts"), customer_id, errors)
    if full:
        lat = _coordinate(data.get("latitude"), "latitude", 90, errors)
        lon = _coordinate(data.get("longitude"), "longitude", 180, errors)
        if (lat is None) != (lon is None) and "latitude" not in errors and "longitude" not in errors:
            errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
        accuracy = data.get("location_accuracy_m")
        if accuracy in (None, "") or lat is None:
            accuracy = None
        else:
            try:
                accuracy = max(0, min(int(float(accuracy)), 2_000_000_000))
            except (TypeError, ValueError):
                errors["location_accuracy_m"] = [_("Enter a number.")]
                accuracy = None
        values.update(latitude=lat, longitude=lon, location_accuracy_m=accuracy)
        key = data.get("client_key")
        if key in (None, ""):
            values["client_key"] = None
        else:
            try:
                values["client_key"] = uuid.UUID(str(key))
            except (ValueError, AttributeError):
                errors["client_key"] = [_("The client key must be a UUID.")]
    _raise(errors)
    return values


# ---------------------------------------------------------------- summary

def summaries_rebuild(*customer_ids: int) -> None:
    """After a merge (or its undo) moved follow-ups between customers: each one's summary anew, none
    for a customer left without follow-ups."""
    for customer_id in customer_ids:
        if Interaction.objects.filter(customer_id=customer_id).exists():
            summary_refresh(customer_id)
        else:
            CustomerContactSummary.objects.filter(pk=customer_id).delete()


@transaction.atomic
def summary_refresh(customer_id: int) -> CustomerContactSummary:
    """Recompute the customer's last contact and next open step, under a lock on its summary row, so two
    follow-ups recorded at once both count (the second waits, then reads the first's committed row)."""
    CustomerContactSummary.objects.bulk_create([CustomerContactSummary(customer_id=customer_id)],
                                               ignore_conflicts=True)
    row = CustomerContactSummary.objects.select_for_update().get(pk=customer_id)
    thread = Interaction.objects.filter(customer_id=customer_id)
    last = thread.order_by("-occurred_at", "-id").only("id", "occurred_at", "channel").first()
    open_steps = thread.filter(next_step_done_at__isnull=True).exclude(next_step="")
    nxt = open_steps.order_by(models_nulls_last("next_step_due"), "id").only("id", "next_step", "next_step_due") \
        .first()
    counts = thread.aggregate(n=Count("id"), open=Count("id", filter=Q(next_step_done_at__isnull=True)
                                                        & ~Q(next_step="")))
    row.last_interaction_id = last.pk if last else None
    row.last_contact_at = last.occurred_at if last else None
    row.last_channel = last.channel if last else ""
    row.next_interaction_id = nxt.pk if nxt else None
    row.next_step = nxt.next_step if nxt else ""
    row.next_step_due = nxt.next_step_due if nxt else None
    row.interactions, row.open_steps = counts["n"], counts["open"]
    row.save()
    return row


def models_nulls_last(field: str):
    from django.db.models import F

    return F(field).asc(nulls_last=True)


def summary_record(interaction: Interaction) -> None:
    """Count a just-inserted follow-up into its customer's summary with one statement: an upsert that adds it
    to the counts and takes it as the last contact / the next open step only where it is newer / sooner than
    what the row holds (the database evaluates the CASEs against the row as committed — PostgreSQL's ON
    CONFLICT DO UPDATE locks it and re-reads it — so two follow-ups recorded at once both count and the
    later one wins). The same ordering as summary_refresh: last by (occurred_at, id), next open step by
    (due date, nulls last, id); the new row's id is the highest, so it wins no tie. Only for a fresh insert
    (its step cannot be done yet); a correction, a tick or a reopen recounts with summary_refresh."""
    ops = connection.ops
    has_step = bool(interaction.next_step) and interaction.next_step_done_at is None
    at = ops.adapt_datetimefield_value(interaction.occurred_at)
    due = ops.adapt_datefield_value(interaction.next_step_due) if has_step else None
    now = ops.adapt_datetimefield_value(timezone.now())
    sql = (f"INSERT INTO {ops.quote_name(CustomerContactSummary._meta.db_table)} ({SUMMARY_COLUMNS})"
           f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s) {_summary_conflict(has_step)}")
    with connection.cursor() as cur:
        cur.execute(sql, [interaction.customer_id, at, interaction.pk, interaction.channel,
                          interaction.next_step if has_step else "", due, interaction.pk if has_step else None,
                          1 if has_step else 0, now])


SUMMARY_COLUMNS = ("customer_id, last_contact_at, last_interaction_id, last_channel, next_step, next_step_due,"
                   " next_interaction_id, open_steps, interactions, updated_at")


def _summary_conflict(has_step: bool) -> str:
    """summary_record's ON CONFLICT clause: the CASEs that keep the newer last contact and the sooner step."""
    table = connection.ops.quote_name(CustomerContactSummary._meta.db_table)
    newer = (f"({table}.last_contact_at IS NULL OR excluded.last_contact_at > {table}.last_contact_at"
             f" OR (excluded.last_contact_at = {table}.last_contact_at"
             f" AND excluded.last_interaction_id > COALESCE({table}.last_interaction_id, 0)))")
    if has_step:
        sooner = (f"({table}.next_interaction_id IS NULL OR (excluded.next_step_due IS NOT NULL"
                  f" AND ({table}.next_step_due IS NULL OR excluded.next_step_due < {table}.next_step_due)))")
    else:
        sooner = "(1 = 0)"
    sets = [f"{col} = CASE WHEN {newer} THEN excluded.{col} ELSE {table}.{col} END"
            for col in ("last_contact_at", "last_interaction_id", "last_channel")]
    sets += [f"{col} = CASE WHEN {sooner} THEN excluded.{col} ELSE {table}.{col} END"
             for col in ("next_step", "next_step_due", "next_interaction_id")]
    sets += [f"open_steps = {table}.open_steps + excluded.open_steps",
             f"interactions = {table}.interactions + 1", "updated_at = excluded.updated_at"]
    return f"ON CONFLICT (customer_id) DO UPDATE SET {', '.join(sets)}"



# ---------------------------------------------------------------- writes

def interaction_create(*, actor, data: dict, files: Iterable | None = None) -> tuple[Interaction, bool]:
    """Record a follow-up for a customer in the actor's scope. With a client key it is idempotent: a replay
    returns the row the first request made and True (decided by the database's unique key, so two racing
    requests make one row). Attachments given in ``files`` as (name, chunks) are stored with it.

    The key is looked up only when the insert collides with it (or the request is refused, or it brings
    files, which a replay must not store again): a fresh key — nearly every request — costs no look-up, and a
    replay still answers with the first row whatever its payload says now (the look-up comes before any
    refusal is raised)."""
    require_write(actor)
    now = timezone.now()
    key = _client_key(data.get("client_key"))
    files = list(files or [])
    if not files and ONE_STATEMENT and connection.vendor == "postgresql":
        interaction = _create_in_one_statement(actor=actor, data=data, now=now)
        if interaction is not None:
            return interaction, False
    if files and key is not None:  # a replay with its photos: answer before storing them again
        existing = _replayed(actor, key)
        if existing is not None:
            return existing, True
    try:
        values = clean(data, actor=actor, now=now)
        stored = [_store(name, chunks) for name, chunks in files]
        if len(stored) > config()["attachments_per_interaction"]:
            raise Invalid(_("Too many attachments."), fields={"file": [_("Too many attachments.")]})
    except (Invalid, NotFound, Forbidden):
        existing = _replayed(actor, key) if key is not None else None
        if existing is None:
            raise
        return existing, True
    contacts = values.pop("contacts")
    customer = values.pop("_customer")
    try:
        with transaction.atomic():
            interaction = Interaction(**values, owner=customer.owner or actor, recorded_by=actor)
            interaction.customer = customer
            interaction.save(force_insert=True)
            if contacts:
                interaction.contacts.set(contacts)
            # What the caller shows next, without reading it back.
            interaction.fresh_contact_ids = contacts
            interaction.fresh_attachments = [_attach(actor, interaction, info)[0] for info in stored]
            summary_record(interaction)
            audit_record(actor=actor, action="interaction.create", obj=interaction,
                         changes={"channel": interaction.channel, "customer": interaction.customer_id,
                                  **({"next_step_due": str(interaction.next_step_due)}
                                     if interaction.next_step_due else {}),
                                  **({"location": True} if interaction.latitude is not None else {})})
            interaction_recorded(interaction, actor=actor)
    except IntegrityError:
        # A replay, or the same key committed by a racing request: the unique key refused our row.
        existing = _replayed(actor, key) if key is not None else None
        if existing is None:
            raise
        return existing, True
    return interaction, False


# The PostgreSQL one-statement create (off: every create takes the Python path; the tests compare the two).
ONE_STATEMENT = True


def _create_in_one_statement(*, actor, data: dict, now: dt.datetime) -> Interaction | None:
    """PostgreSQL: the common follow-up — no contacts, no files, valid fields, a customer in the actor's scope,
    every interaction_recorded handler with a SQL form for it — as ONE statement (its own transaction when no
    transaction is open: no BEGIN and COMMIT round trips): data-modifying CTEs that read the customer in scope
    (the very query clean() runs), insert the follow-up, upsert the contact summary (summary_record's
    statement), append the ``interaction.create`` audit entry (the columns audit_record writes) and run the
    handlers' writes (kehu.engagement.hooks). None when it wrote nothing — not that case, an unknown or
    out-of-scope customer, or the client key already used — and the Python path answers exactly as before
    (refusals, replays). The response is built from what the statement returns, without reading back."""
    from kehu.access.models import User
    from kehu.audit.tasks import request_seal
    from kehu.customers.models import Customer
    from kehu.engagement.hooks import interaction_recorded_sql

    if data.get("contacts"):
        return None
    try:
        values = clean(data, actor=actor, now=now, read_customer=False)
    except (Invalid, NotFound, Forbidden):
        return None  # the Python path raises it (or answers a replay)
    values.pop("contacts")
    handlers = interaction_recorded_sql(values, actor=actor)
    if handlers is None:
        return None
    ops = connection.ops
    try:
        scoped_sql, scoped_params = _scoped_customers(actor)
    except EmptyResultSet:  # a scope that holds nothing: the Python path says "not found"
        return None
    interaction = Interaction(**values, recorded_by=actor)
    fields, audit_fields = _one_statement_fields()
    row = [f.get_db_prep_save(f.pre_save(interaction, True), connection) for f in fields]
    has_step = bool(interaction.next_step)
    audit = {"at": timezone.now(), "actor": actor.pk, "actor_name": actor.get_username(), "ip": current_ip.get(),
             "action": "interaction.create", "object_type": Interaction._meta.label_lower,
             "object_repr": str(interaction)[:200],
             "changes": {"channel": interaction.channel, "customer": interaction.customer_id,
                         **({"next_step_due": str(interaction.next_step_due)} if interaction.next_step_due else {}),
                         **({"location": True} if interaction.latitude is not None else {})}}
    audit_row = [f.get_db_prep_save(audit[f.name], connection) for f in audit_fields]
    params = [*scoped_params, values["customer_id"], *row, interaction.next_step if has_step else "",
              interaction.next_step_due if has_step else None,
              1 if has_step else 0, ops.adapt_datetimefield_value(timezone.now()), *audit_row]
    for _statement, handler_params in handlers:
        params += handler_params
    sql = _one_statement_sql(scoped_sql, has_step, tuple(statement for statement, _p in handlers))
    try:
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cur:  # a savepoint: a refused key undoes only this
                cur.execute(sql, params)
                found = cur.fetchone()
        else:
            with connection.cursor() as cur:
                cur.execute(sql, params)
                found = cur.fetchone()
    except IntegrityError:
        return None  # the client key is taken: the Python path finds the first row (or refuses)
    if found is None:
        return None  # no such customer in scope: the Python path says so (or answers a replay)
    customer_id, name, owner_id, username, display_name, interaction.pk = found
    transaction.on_commit(request_seal, robust=True)  # at once when the statement was its own transaction
    owner = actor if owner_id == actor.pk else User.from_db(
        connection.alias, ["id", "username", "display_name"], [owner_id, username, display_name])
    interaction.customer = Customer.from_db(connection.alias, ["id", "name", "owner_id"], [customer_id, name, owner_id])
    interaction.owner = owner
    interaction._state.adding, interaction._state.db = False, connection.alias
    interaction.fresh_contact_ids, interaction.fresh_attachments = [], []
    return interaction


_AUDIT_FIELDS = ("at", "actor", "actor_name", "ip", "action", "object_type", "object_repr", "changes")


@functools.cache
def _one_statement_fields() -> tuple[list, list]:
    """The follow-up's columns the statement writes from Python (all but id, customer and owner, which come
    from the customer read in scope) and the audit entry's (all but its id and object id, and the seal's)."""
    from kehu.audit.models import AuditEntry

    fields = [f for f in Interaction._meta.local_concrete_fields
              if not f.primary_key and f.attname not in ("customer_id", "owner_id")]
    return fields, [AuditEntry._meta.get_field(n) for n in _AUDIT_FIELDS]


def _scoped_customers(actor) -> tuple[str, tuple]:
    """The SQL of the actor's live customers in scope (customer_base: id, name, owner and its names), compiled
    once per actor and scope — the compiled query was a third of the create's own CPU."""
    from kehu.access.scopes import scope_q

    return _scoped_customers_compiled(actor.pk, actor.role, repr(scope_q(actor)), actor)


@functools.lru_cache(maxsize=1024)
def _scoped_customers_compiled(_pk, _role, _scope: str, actor) -> tuple[str, tuple]:
    return customer_base(actor=actor).order_by().values_list(
        "id", "name", "owner_id", "owner__username", "owner__display_name").query.sql_with_params()


@functools.lru_cache(maxsize=256)
def _one_statement_sql(scoped_sql: str, has_step: bool, handlers: tuple[str, ...]) -> str:
    """The statement's text (built once per scope query, step or not, and handlers' statements)."""
    from kehu.audit.models import AuditEntry

    q = connection.ops.quote_name
    fields, audit_fields = _one_statement_fields()

    def casts(fields_):
        return ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields_)

    next_id = "NULL::bigint"  # the new row is the next open step only when it has one
    if has_step:
        next_id = "recorded.id"
    writes = [f"summary AS (INSERT INTO {q(CustomerContactSummary._meta.db_table)} ({SUMMARY_COLUMNS})"
              f" SELECT recorded.customer_id, recorded.occurred_at, recorded.id, recorded.channel, %s::text,"
              f" %s::date, {next_id}, %s::integer, 1, %s::timestamptz"
              f" FROM recorded {_summary_conflict(has_step)})",
              f"audit AS (INSERT INTO {q(AuditEntry._meta.db_table)}"
              f" ({', '.join(q(f.column) for f in audit_fields)}, object_id)"
              f" SELECT {casts(audit_fields)}, recorded.id::text FROM recorded)"]
    writes += handlers
    return (f"WITH customer AS (SELECT * FROM ({scoped_sql}) scoped WHERE scoped.id = %s),"
            f" recorded AS (INSERT INTO {q(Interaction._meta.db_table)}"
            f" ({', '.join(q(f.column) for f in fields)}, customer_id, owner_id)"
            f" SELECT {casts(fields)}, customer.id, customer.owner_id FROM customer"
            f" RETURNING id, customer_id, owner_id, channel, occurred_at), {', '.join(writes)}"
            " SELECT customer.*, recorded.id FROM customer LEFT JOIN recorded ON TRUE")


def _client_key(key) -> uuid.UUID | None:
    if key in (None, ""):
        return None
    try:
        return uuid.UUID(str(key))
    except (ValueError, AttributeError):
        raise Invalid(_("The client key must be a UUID."),
                      fields={"client_key": [_("The client key must be a UUID.")]}) from None


def _replayed(actor, key: uuid.UUID) -> Interaction | None:
    existing = Interaction.objects.filter(client_key=key).first()
    if existing is None:
        return None
    if existing.recorded_by_id != actor.pk:
        # Keys are random per phone: another user's key is a client bug, never a way to read their row.
        raise Conflict(_("This client key was used for another follow-up."),
                       fields={"client_key": [_("Already used.")]})
    return existing


def _for_update(actor, interaction_id: int) -> Interaction:
    from kehu.engagement.selectors import interaction_base

    if not 0 < interaction_id < 2**63:
        raise NotFound(_("Follow-up not found."))
    found = interaction_base(actor=actor).select_for_update(of=("self",)).filter(pk=interaction_id).first()
    if found is None:
        raise NotFound(_("Follow-up not found."))
    return found


def can_edit(actor, interaction: Interaction, *, now: dt.datetime | None = None) -> bool:
    """The recorder or the account manager within the edit window; a manager over the customer any time."""
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.INTERACTION_WRITE):
        return False
    if is_manager(actor):
        return True
    if actor.pk not in (interaction.recorded_by_id, interaction.owner_id):
        return False
    now = now or timezone.now()
    return now - interaction.created_at <= dt.timedelta(hours=config()["edit_window_hours"])


@transaction.atomic
def interaction_update(*, actor, interaction_id: int, data: dict) -> Interaction:
    """Correct a follow-up (the fields given only): its recorder or account manager within the edit window,
    a manager over the customer at any time. Audited with what changed."""
    require_write(actor)
    interaction = _for_update(actor, interaction_id)
    if not can_edit(actor, interaction):
        if actor.pk in (interaction.recorded_by_id, interaction.owner_id):
            raise Conflict(_("The edit window of %(h)d hours has passed: ask your manager to correct it.")
                           % {"h": config()["edit_window_hours"]}, code="edit_window_passed")
        raise Forbidden(_("Only the recorder, the account manager or a manager may correct a follow-up."))
    data = {k: v for k, v in data.items() if k in EDITABLE}
    values = clean(data, actor=actor, now=timezone.now(), instance=interaction)
    changes = {}
    contacts = values.pop("contacts", None)
    for name, value in values.items():
        old = getattr(interaction, name)
        if old != value:
            changes[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(interaction, name, value)
    if "next_step_due" in changes:
        interaction.next_step_reminded_at = None
    if contacts is not None:
        old_ids = sorted(interaction.contacts.values_list("pk", flat=True))
        if old_ids != contacts:
            changes["contacts"] = [old_ids, contacts]
            interaction.contacts.set(contacts)
    if not changes:
        return interaction
    interaction.save()
    summary_refresh(interaction.customer_id)
    audit_record(actor=actor, action="interaction.update", obj=interaction, changes=changes)
    return interaction


def _step_actor_check(actor, interaction: Interaction) -> None:
    if is_manager(actor) or actor.pk in (interaction.recorded_by_id, interaction.owner_id):
        return
    raise Forbidden(_("Only the account manager, the recorder or a manager may close this next step."))


@transaction.atomic
def interaction_next_step_done(*, actor, interaction_id: int) -> Interaction:
    """Tick the next step done (409 when there is none or it is done already)."""
    require_write(actor)
    interaction = _for_update(actor, interaction_id)
    _step_actor_check(actor, interaction)
    if not interaction.next_step:
        raise Conflict(_("This follow-up has no next step."), code="no_next_step")
    if interaction.next_step_done_at is not None:
        raise Conflict(_("The next step is done already."), code="already_done")
    interaction.next_step_done_at = timezone.now()
    interaction.save(update_fields=["next_step_done_at", "updated_at"])
    summary_refresh(interaction.customer_id)
    audit_record(actor=actor, action="interaction.next_step_done", obj=interaction,
                 changes={"next_step": interaction.next_step})
    return interaction


@transaction.atomic
def interaction_next_step_reopen(*, actor, interaction_id: int) -> Interaction:
    """Open a done next step again (409 when it is open)."""
    require_write(actor)
    interaction = _for_update(actor, interaction_id)
    _step_actor_check(actor, interaction)
    if interaction.next_step_done_at is None:
        raise Conflict(_("The next step is still open."), code="not_done")
    interaction.next_step_done_at = None
    interaction.save(update_fields=["next_step_done_at", "updated_at"])
    summary_refresh(interaction.customer_id)
    audit_record(actor=actor, action="interaction.next_step_reopen", obj=interaction,
                 changes={"next_step": interaction.next_step})
    return interaction


# ---------------------------------------------------------------- attachments

def attachment_dir() -> Path:
    return Path(settings.VAR_DIR) / "engagement" / "attachments"


SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}


def sniff(head: bytes) -> tuple[str, str] | None:
    """The file's type from its first bytes (never its name): (content type, extension) or None."""
    for magic, kind, ext in SIGNATURES:
        if head.startswith(magic):
            return kind, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "image/heic", "heic"
    return None


def _store(file_name: str, chunks: Iterable[bytes]) -> dict:
    """Stream a file into the private store, size-limited while it is read, its type sniffed from the
    content; kept once under its SHA-256. Invalid (422) when too large, empty or of a refused type."""
    cfg = config()
    directory = attachment_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".upload-{uuid.uuid4().hex}"
    digest, size, limit, head = hashlib.sha256(), 0, cfg["attachment_max_bytes"], b""
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise Invalid(_("The file is larger than %(mb).1f MB.") % {"mb": limit / (1024 * 1024)},
                                  fields={"file": [_("Too large.")]}, code="too_large")
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(_("The file is empty."), fields={"file": [_("Empty file.")]}, code="empty")
        kind = sniff(head)
        if kind is None or kind[0] not in cfg["attachment_types"]:
            raise Invalid(_("Attach a photo (JPEG, PNG, WebP, HEIC) or a PDF."),
                          fields={"file": [_("This type of file is not accepted.")]}, code="file_type")
        sha = digest.hexdigest()
        stored = f"{sha}.{kind[1]}"
        os.replace(tmp, directory / stored)
    finally:
        tmp.unlink(missing_ok=True)
    name = os.path.basename(str(file_name or "").replace("\\", "/")).strip().replace("\x00", "")[:200]
    return {"file_name": name or f"attachment.{kind[1]}", "content_type": kind[0], "size": size, "sha256": sha,
            "stored_name": stored}


def _attach(actor, interaction: Interaction, info: dict) -> tuple[InteractionAttachment, bool]:
    existing = InteractionAttachment.objects.filter(interaction=interaction, sha256=info["sha256"]).first()
    if existing is not None:
        return existing, True
    if InteractionAttachment.objects.filter(interaction=interaction).count() >= config()[
            "attachments_per_interaction"]:
        raise Invalid(_("Too many attachments."), fields={"file": [_("Too many attachments.")]})
    try:
        with transaction.atomic():
            attachment = InteractionAttachment.objects.create(interaction=interaction, uploaded_by=actor, **info)
    except IntegrityError:
        return InteractionAttachment.objects.get(interaction=interaction, sha256=info["sha256"]), True
    audit_record(actor=actor, action="interaction.attach", obj=interaction,
                 changes={"file": attachment.file_name, "type": attachment.content_type, "size": attachment.size})
    return attachment, False


def attachment_add(*, actor, interaction_id: int, file_name: str,
                   chunks: Iterable[bytes]) -> tuple[InteractionAttachment, bool]:
    """Attach a photo or PDF to a follow-up of a customer in scope (the same file twice is kept once: the
    second upload returns the first and True)."""
    require_write(actor)
    from kehu.engagement.selectors import interaction_get

    interaction_get(actor=actor, interaction_id=interaction_id)  # 404 before reading the body
    info = _store(file_name, chunks)
    with transaction.atomic():
        interaction = _for_update(actor, interaction_id)
        return _attach(actor, interaction, info)


def attachment_path(attachment: InteractionAttachment) -> Path:
    return attachment_dir() / attachment.stored_name


# ---------------------------------------------------------------- reminders

def next_step_reminders(*, today: dt.date | None = None) -> int:
    """Remind each owner once of their open next steps due tomorrow (run daily by the worker)."""
    from django.urls import reverse

    from kehu.notifications.services import notify

    today = today or timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    sent = 0
    with transaction.atomic():
        due = list(Interaction.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(next_step_due=tomorrow, next_step_done_at__isnull=True, next_step_reminded_at__isnull=True)
                   .exclude(next_step="").select_related("owner", "customer").order_by("id")[:5000])
        now = timezone.now()
        for it in due:
            notify(user=it.owner, title=_("Next step due tomorrow: %(step)s") % {"step": it.next_step[:80]},
                   body=it.customer.name, link=reverse("engagement:detail", args=[it.pk]))
            sent += 1
        Interaction.objects.filter(pk__in=[it.pk for it in due]).update(next_step_reminded_at=now)
    return sent
