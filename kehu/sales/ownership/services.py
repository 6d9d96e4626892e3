"""Every write of registration and ownership. Each takes the acting user first, checks the permission
(Perm.SALES_WRITE to register, refer, claim, release and raise a dispute; Perm.SALES_MANAGE to verify,
confirm referrals and decide disputes), runs in one transaction and writes its audit entry there.

First registration wins: the live claim of a customer is one row under a partial unique index
(``ownership_one_live_claim``); a registration ends a claim that lapsed and inserts its own with
``INSERT … ON CONFLICT DO NOTHING`` — of two racing registrations the database lets exactly one insert,
the other gets no row back and answers 409 ``already_registered``.

Owner changes write what the customer reassignment (kehu/customers/review/reassign.py) writes —
owner and department on the customer with its version raised, the open review items following, one
history row and the ``customer.reassign`` audit entry — so ``Customer.owner`` stays the one truth. The
pool (公海) is a system user; a customer in the pool keeps its department (its managers still see it).
Registrations are append-only: there is no update or delete service; a correction is a new row."""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm, Scope
from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_record, audit_row
from kehu.customers.gates import Action, ensure_business_allowed
from kehu.customers.models import ChangeRecord, Customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.notifications.models import Notification
from kehu.sales.ownership import rules, selectors
from kehu.sales.ownership.models import (
    Channel,
    Claim,
    Dispute,
    DisputeEvent,
    DisputeState,
    EndReason,
    MoveKind,
    PoolMove,
    Referral,
    ReferralState,
    Registration,
    Relation,
    Verdict,
    Verification,
)

NOTE_MAX = 1000
TEXT_MAX = 2000


def cfg() -> dict:
    return settings.KEHU_OWNERSHIP


def _tz() -> str:
    return settings.TIME_ZONE


def _require(actor, perm: str, message: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active or not actor.has_kehu_perm(perm):
        raise Forbidden(message)


def _text(value, name: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(_("Enter text."), fields={name: [_("Enter text.")]})
    value = value.strip()
    if required and not value:
        raise Invalid(_("This field is required."), fields={name: [_("This field is required.")]})
    if len(value) > max_length:
        raise Invalid(_("At most %(n)d characters.") % {"n": max_length},
                      fields={name: [_("At most %(n)d characters.") % {"n": max_length}]})
    return value


def _db(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def pool_owner() -> User:
    """The system user that owns the customers in the public pool (created on first use; cannot log in)."""
    username = cfg()["pool_username"]
    user = User.objects.filter(username=username).first()
    if user is None:
        user, _created = User.objects.get_or_create(username=username, defaults={
            "is_active": False, "role": "account_manager", "display_name": "公海", "password": make_password(None)})
    return user


def _move_owner(*, actor, customer: Customer, to_user: User, department_id, now, reason: str,
                audit: bool = True, open_items: bool = True) -> dict:
    """Make ``to_user`` the owner, as the customer reassignment does (one history row, one audit entry —
    ``audit=False`` when the caller's own entry records the owner change; ``open_items=False`` when the
    caller's look-up found no open review item to hand over, in the same transaction)."""
    from kehu.customers.review.services import review_open_items_reassign

    change = {"owner": [customer.owner_id, to_user.pk]}
    if department_id != customer.department_id:
        change["department"] = [customer.department_id, department_id]
    Customer.objects.filter(pk=customer.pk).update(owner_id=to_user.pk, department_id=department_id, updated_at=now,
                                                   version=F("version") + 1)
    if open_items:
        review_open_items_reassign(customer_ids=[customer.pk], owner_id=to_user.pk, department_id=department_id)
    ChangeRecord.objects.create(customer_id=customer.pk, at=now, actor=actor if actor and actor.pk else None,
                                actor_name=actor.get_username() if actor and actor.pk else "system",
                                object_type="customer", object_id=customer.pk, action="update", changes=change)
    if audit:
        audit_record(actor=actor, action="customer.reassign", obj=customer, changes={**change, "reason": reason})
    customer.owner_id, customer.department_id = to_user.pk, department_id
    return change


def _end_claims(customer_id: int, *, now, reason: str, rep_id: int | None = None) -> int:
    qs = Claim.objects.filter(customer_id=customer_id, ended_at__isnull=True)
    if rep_id is not None:
        qs = qs.filter(rep_id=rep_id)
    return qs.update(ended_at=now, end_reason=reason)


class _Cursor:
    """The registration's statements on the current connection and transaction. On PostgreSQL through a
    server-binding psycopg cursor that prepares a statement the second time this connection runs it (Django's
    own cursors bind on the client and plan every statement anew): their text is fixed, only the values change.
    Preparing costs one round trip, so a connection used once (CONN_MAX_AGE 0: one per request) never prepares;
    a persistent one prepares each statement once."""

    def __init__(self):
        connection.ensure_connection()
        self.pg = connection.vendor == "postgresql"
        if self.pg:
            import psycopg

            raw = connection.connection
            self.cur = psycopg.Cursor(raw)
            self.seen = raw.__dict__.setdefault("_kehu_ownership_statements", set())
        else:
            self.cur = connection.cursor()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cur.close()

    def execute(self, sql: str, params: list) -> None:
        if self.pg:
            self.cur.execute(sql, params, prepare=sql in self.seen)
            self.seen.add(sql)
        else:
            self.cur.execute(sql, params)

    def fetchone(self):
        return self.cur.fetchone()

    @property
    def rowcount(self) -> int:
        return self.cur.rowcount


def _insert(table: str, row: dict) -> tuple[str, list]:
    return (f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))


def _db_row(obj) -> dict:
    """An unsaved model instance's columns (not the key), adapted for the connection."""
    return {f.column: f.get_db_prep_save(getattr(obj, f.attname), connection)
            for f in obj._meta.concrete_fields if not f.primary_key}


def _together(cur, statements: list[tuple[str, list]]) -> None:
    """INSERTs and UPDATEs that return nothing and do not read one another's rows: on PostgreSQL one statement
    (data-modifying WITH clauses: one round trip, all run to completion); elsewhere one after another (SQLite
    runs in-process: no round trip to save)."""
    if cur.pg and len(statements) > 1:
        *head, last = statements
        cur.execute("WITH " + ", ".join(f"w{i} AS ({sql})" for i, (sql, _p) in enumerate(head)) + " " + last[0],
                    [v for _sql, params in statements for v in params])
        return
    for sql, params in statements:
        cur.execute(sql, params)


def _take_claim(*, customer_id: int, rep_id: int, registration: Registration, now, until,
                stale: bool | None = None) -> bool:
    """Insert ``registration`` (unsaved) and this rep's claim unless a valid one exists — decided by the partial
    unique index — after ending the customer's live claim if it lapsed (or its holder no longer owns the
    customer). On PostgreSQL the register row and the claim are one statement.

    ``stale``: what the caller's look-up saw of the live claim — True (one is in the way: lapsed or held by a rep
    who no longer owns the customer): end it first; False (none, or a valid one): insert at once and end a stale
    one only if the insert was refused (a claim may have changed since the look-up); None: unknown, as True."""
    table, cust = Claim._meta.db_table, Customer._meta.db_table
    end_sql = (f"UPDATE {table} SET ended_at = %s, end_reason = CASE WHEN valid_until <= %s THEN %s ELSE %s END"
               f" WHERE customer_id = %s AND ended_at IS NULL AND (valid_until <= %s OR rep_id <> "
               f"(SELECT owner_id FROM {cust} WHERE id = %s))")
    end_params = [_db(now), _db(now), EndReason.LAPSED, EndReason.OWNER_CHANGED, customer_id, _db(now), customer_id]
    columns = "customer_id, rep_id, registration_id, started_at, valid_until, renewed_at, ended_at, end_reason"
    on_conflict = " ON CONFLICT (customer_id) WHERE ended_at IS NULL DO NOTHING RETURNING id"
    insert_sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, NULL, NULL, ''){on_conflict}"
    registration.created_at = timezone.now()
    reg_sql, reg_params = _insert(Registration._meta.db_table, _db_row(registration))
    with _Cursor() as cur:
        if stale is not False:
            cur.execute(end_sql, end_params)
        if cur.pg:
            cur.execute(f"WITH r AS ({reg_sql} RETURNING id), c AS (INSERT INTO {table} ({columns})"
                        f" SELECT %s, %s, r.id, %s, %s, NULL, NULL, '' FROM r{on_conflict})"
                        f" SELECT r.id, (SELECT c.id FROM c) FROM r",
                        reg_params + [customer_id, rep_id, _db(now), _db(until)])
            registration.pk, claim_id = cur.fetchone()
        else:
            cur.execute(reg_sql + " RETURNING id", reg_params)
            registration.pk = cur.fetchone()[0]
            cur.execute(insert_sql, [customer_id, rep_id, registration.pk, _db(now), _db(until)])
            claim_id = (cur.fetchone() or [None])[0]
        registration._state.adding, registration._state.db = False, connection.alias
        if claim_id is not None:
            return True
        if stale is not False:
            return False
        # Refused: a claim appeared or changed since the look-up. End it if it is stale and try once more.
        cur.execute(end_sql, end_params)
        if not cur.rowcount:
            return False
        cur.execute(insert_sql, [customer_id, rep_id, registration.pk, _db(now), _db(until)])
        return cur.fetchone() is not None


def _holder_conflict(customer_id: int, actor) -> Conflict:
    claim = (Claim.objects.filter(customer_id=customer_id, ended_at__isnull=True).select_related("rep")
             .only("valid_until", "rep__display_name", "rep__username", "rep_id").first())
    if claim is None:  # ended meanwhile: the other registration rolled back; the caller may try again
        return Conflict(_("Another registration of this customer is being recorded; try again."),
                        code="registration_busy")
    until = timezone.localtime(claim.valid_until).date() - dt.timedelta(days=1)
    if claim.rep_id == actor.pk:
        return Conflict(_("You already hold a valid registration of this customer (until %(date)s).")
                        % {"date": until.isoformat()}, code="already_registered_by_you")
    return Conflict(_("%(rep)s holds a valid registration of this customer until %(date)s.")
                    % {"rep": str(claim.rep), "date": until.isoformat()}, code="already_registered")


def _check_pool_limits(actor, now) -> None:
    """A rep's daily claim limit and maximum held (serialised per rep by locking their user row)."""
    list(User.objects.select_for_update().filter(pk=actor.pk).values_list("pk"))
    start = rules.local_midnight(timezone.localtime(now).date(), _tz())
    limit = cfg()["daily_claim_limit"]
    if PoolMove.objects.filter(rep_id=actor.pk, kind=MoveKind.CLAIM, at__gte=start).count() >= limit:
        raise Conflict(_("You have claimed %(n)d customers from the pool today, the daily limit.") % {"n": limit},
                       code="claim_limit_reached")
    held = cfg()["max_held"]
    if Customer.objects.filter(owner_id=actor.pk, deleted_at__isnull=True).count() >= held:
        raise Conflict(_("You already hold %(n)d customers, the most a rep may hold.") % {"n": held},
                       code="max_held_reached")


def _pk(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise NotFound(_("Customer not found."))
    return value


def _live_customer(customer_id) -> Customer:
    _pk(customer_id)
    customer = (Customer.objects.select_related("owner").filter(pk=customer_id, deleted_at__isnull=True)
                .only("id", "name", "status", "deleted_at", "owner_id", "department_id", "owner__username",
                      "owner__is_active").first())
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def _in_pool(customer: Customer) -> bool:
    return customer.owner.username == cfg()["pool_username"]


class _Lookup:
    """What a registration needs to know before it writes, read in one statement: the customer and its owner,
    the live claim (whether one is in the way), an open review item to hand over, a referral expected today."""

    __slots__ = ("customer", "stale_claim", "open_items", "referral_id")


def _registration_lookup(customer_id, *, today: dt.date, now) -> _Lookup:
    from kehu.customers.review.models import ItemState, ReviewItem

    _pk(customer_id)
    cust, users, claims = Customer._meta.db_table, User._meta.db_table, Claim._meta.db_table
    items, refs = ReviewItem._meta.db_table, Referral._meta.db_table
    with _Cursor() as cur:
        cur.execute(
            f"SELECT c.id, c.name, c.status, c.owner_id, c.department_id, u.username, u.is_active, u.email,"
            f" u.display_name, k.id, k.rep_id, k.valid_until,"
            f" EXISTS (SELECT 1 FROM {items} i WHERE i.customer_id = c.id AND i.state = %s),"
            f" (SELECT r.id FROM {refs} r WHERE r.customer_id = c.id AND r.state = %s AND r.expected_visit_on = %s)"
            f" FROM {cust} c JOIN {users} u ON u.id = c.owner_id"
            f" LEFT JOIN {claims} k ON k.customer_id = c.id AND k.ended_at IS NULL"
            f" WHERE c.id = %s AND c.deleted_at IS NULL",
            [ItemState.OPEN, ReferralState.PENDING, connection.ops.adapt_datefield_value(today), customer_id])
        row = cur.fetchone()
    if row is None:
        raise NotFound(_("Customer not found."))
    (cid, name, status, owner_id, department_id, username, is_active, email, display_name, claim_id, holder_id,
     until, open_items, referral_id) = row
    owner = User(pk=owner_id, username=username, is_active=bool(is_active), email=email or "",
                 display_name=display_name or "")
    customer = Customer(pk=cid, name=name, status=status, owner_id=owner_id, department_id=department_id)
    customer.owner = owner
    found = _Lookup()
    found.customer, found.open_items, found.referral_id = customer, bool(open_items), referral_id
    if claim_id is None:
        found.stale_claim = False
    else:
        if isinstance(until, str):
            until = parse_datetime(until)
        if timezone.is_naive(until):  # SQLite: stored in UTC
            until = until.replace(tzinfo=dt.UTC)
        found.stale_claim = until <= now or holder_id != owner_id
    return found


def _register(*, actor, customer_id, channel: str, note: str, now) -> Registration:
    """The registration proper (one look-up, then the writes). Round trips on the common path — a customer
    owned by another rep, no claim in the way, no open review item, no referral: the look-up, the register
    row, the claim insert, the owner move, its history row, the audit entry, the previous owner's in-app
    notification (in this transaction: no second commit)."""
    found = _registration_lookup(customer_id, today=timezone.localtime(now).date(), now=now)
    customer = found.customer
    in_pool = _in_pool(customer)
    if channel == Channel.POOL and not in_pool:
        raise Conflict(_("This customer is not in the public pool."), code="not_in_pool")
    if in_pool:
        # A claim reads the whole customer: the business gate and the blacklist screening look at more fields.
        owner, customer = customer.owner, Customer.objects.get(pk=customer.pk)
        customer.owner = owner
        ensure_business_allowed(customer, Action.CLAIM)
        # A pool customer matching the blacklist (a disqualified company's USCC under another, perhaps deleted,
        # record) is refused; a name or phone look-alike is flagged for a manager (kehu.qualification.blacklist).
        from kehu.qualification.blacklist.screening import screen_existing_customer

        screen_existing_customer(actor=actor, customer=customer, source="claim")
        _check_pool_limits(actor, now)
    until = rules.valid_until(now, cfg()["valid_months"], _tz())
    referral = None
    stale = found.stale_claim
    if channel == Channel.VISIT and found.referral_id is not None:
        referral = (Referral.objects.select_for_update().filter(
            pk=found.referral_id, state=ReferralState.PENDING).first())
        if referral is not None:
            # The referred customer came on the day: the referrer hands the customer to the receiving rep.
            if _end_claims(customer.pk, now=now, reason=EndReason.RELEASED, rep_id=referral.referrer_id):
                stale = None  # the live claim changed: let the claim step look again
            channel = Channel.REFERRAL
    registration = Registration(customer=customer, rep=actor, department_id=actor.department_id, channel=channel,
                                registered_at=now, valid_until=until, referral=referral, note=note,
                                created_by=actor)
    # Field checks in Python; the check constraints are the database's (validating them here would cost two
    # round trips each on the hottest write path).
    registration.full_clean(exclude=["customer", "rep", "department", "referral", "created_by", "corrects"],
                            validate_unique=False, validate_constraints=False)
    if not _take_claim(customer_id=customer.pk, rep_id=actor.pk, registration=registration, now=now, until=until,
                       stale=stale):
        raise _holder_conflict(customer.pk, actor)
    if referral is not None:
        Referral.objects.filter(pk=referral.pk).update(state=ReferralState.ARRIVED, rep=actor, arrived_at=now)
    if in_pool:
        PoolMove.objects.create(customer_id=customer.pk, kind=MoveKind.CLAIM, rep=actor, actor=actor, at=now)
    # The owner move (as the customer reassignment writes it: owner and department with the version raised, the
    # open review items following, one history row), the previous owner's in-app notification and the audit
    # entry that also records the owner change: one statement on PostgreSQL, in this transaction.
    writes, moved = [], {}
    if customer.owner_id != actor.pk:
        moved = {"owner": [customer.owner_id, actor.pk]}
        if actor.department_id != customer.department_id:
            moved["department"] = [customer.department_id, actor.department_id]
        if found.open_items:
            from kehu.customers.review.services import review_open_items_reassign

            review_open_items_reassign(customer_ids=[customer.pk], owner_id=actor.pk, department_id=actor.department_id)
        writes.append((f"UPDATE {Customer._meta.db_table} SET owner_id = %s, department_id = %s, updated_at = %s,"
                       f" version = version + 1 WHERE id = %s", [actor.pk, actor.department_id, _db(now), customer.pk]))
        writes.append(_insert(ChangeRecord._meta.db_table, _db_row(ChangeRecord(
            customer_id=customer.pk, at=now, actor=actor, actor_name=actor.get_username(), object_type="customer",
            object_id=customer.pk, action="update", changes=moved))))
        previous = customer.owner
        if not in_pool and previous.is_active:
            from kehu.notifications.services import notification_row

            row = notification_row(user=previous, title=_("%(customer)s was registered by %(rep)s") % {
                "customer": customer.name, "rep": str(actor)}, link=f"/ownership/registrations/{registration.pk}/")
            if row is not None:
                writes.append(_insert(Notification._meta.db_table, row))
        customer.owner_id, customer.department_id = actor.pk, actor.department_id
    writes.append(_insert(AuditEntry._meta.db_table, audit_row(
        actor=actor, action="registration.create", obj=registration, object_repr=customer.name,
        changes={"customer": customer.pk, "channel": channel, "valid_until": until.isoformat(), "from_pool": in_pool,
                 **moved})))
    with _Cursor() as cur:
        _together(cur, writes)
    return registration


_TITLE_MARK = "\x00"


def _register_in_one_call(*, actor, customer_id, channel: str, note: str, now) -> Registration | None:
    """PostgreSQL: the plain registration — a live customer owned by a rep, no live claim, no open review item, no
    referral expected today — in one round trip: the function ``ownership_register`` (migration 0003) looks the
    customer up and, in that case only, writes what ``_register`` writes (register row, claim by INSERT … ON
    CONFLICT on the partial unique index, owner move, history row, the previous owner's in-app notification, the
    audit entry). None: it wrote nothing (not the plain case, or a claim appeared meanwhile) and ``_register``
    answers. Outside a transaction the call is its own (one statement: no BEGIN and COMMIT round trips)."""
    from kehu.audit.tasks import request_seal
    from kehu.customers.review.models import ItemState
    from kehu.notifications.services import CHANNELS

    _pk(customer_id)
    until = rules.valid_until(now, cfg()["valid_months"], _tz())
    registration = Registration(customer_id=customer_id, rep=actor, department_id=actor.department_id,
                                channel=channel, registered_at=now, valid_until=until, note=note, created_by=actor)
    registration.full_clean(exclude=["customer", "rep", "department", "referral", "created_by", "corrects"],
                            validate_unique=False, validate_constraints=False)
    # The previous owner's title, translated here around the customer's name (which the function reads).
    channels = settings.KEHU_NOTIFY_CHANNELS
    head = tail = None
    if "inapp" in channels:
        parts = (_("%(customer)s was registered by %(rep)s") % {"customer": _TITLE_MARK, "rep": str(actor)}).split(
            _TITLE_MARK)
        if len(parts) != 2:
            return None
        head, tail = parts
    changes = {"customer": customer_id, "channel": channel, "valid_until": until.isoformat(), "from_pool": False}
    stamp = timezone.now()
    from kehu.access.context import current_ip

    link_head = "/ownership/registrations/"
    with _Cursor() as cur:
        cur.execute(
            "SELECT * FROM ownership_register(%s::bigint, %s::bigint, %s::bigint, %s::text, %s::timestamptz,"
            " %s::timestamptz, %s::text, %s::timestamptz, %s::text, %s::date, %s::text, %s::text, %s::text,"
            " %s::text, %s::inet, %s::jsonb, %s::text, %s::text, %s::text)",
            [customer_id, actor.pk, actor.department_id, channel, now, until, note, stamp, cfg()["pool_username"],
             timezone.localtime(now).date(), ItemState.OPEN, ReferralState.PENDING, Channel.VISIT,
             actor.get_username(), current_ip.get() or None, json.dumps(changes), head, tail, link_head])
        reg_id, name, owner_id, _department_id, is_active, email, username, display_name = cur.fetchone()
    if reg_id is None:
        return None
    transaction.on_commit(request_seal, robust=True)  # at once when the call was its own transaction
    # Loaded as .only() would load it (the other fields deferred, read on access): building a full instance with
    # the defaults of its ~40 other fields was a third of this function's CPU.
    customer = Customer.from_db(connection.alias, ["id", "name", "owner_id", "department_id"],
                                [customer_id, name, actor.pk, actor.department_id])
    registration.pk, registration.created_at, registration.customer = reg_id, stamp, customer
    registration._state.adding, registration._state.db = False, connection.alias
    if owner_id != actor.pk and is_active and any(c != "inapp" for c in channels):
        # The other channels (e-mail) of the previous owner's notification, as notification_row queues them.
        previous = User(pk=owner_id, username=username, is_active=True, email=email or "",
                        display_name=display_name or "")
        title = str(_("%(customer)s was registered by %(rep)s") % {"customer": name, "rep": str(actor)})[:200]
        link = f"{link_head}{reg_id}/"[:500]
        for channel_name in channels:
            if channel_name != "inapp":
                CHANNELS[channel_name](user=previous, title=title, body="", link=link)
    return registration


def registration_create(*, actor, customer_id=None, new_customer: dict | None = None, channel: str = Channel.VISIT,
                        note: str = "", now: dt.datetime | None = None) -> Registration:
    """Register a customer after a visit or a call (客户登记/报备): the rep becomes its owner unless another
    rep holds a valid registration (409 already_registered). A customer in the pool counts as a claim.
    One transaction; on PostgreSQL the plain case is one call (``_register_in_one_call``)."""
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to register customers."))
    if channel not in (Channel.VISIT, Channel.CALL):
        raise Invalid(_("Choose visit or call."), fields={"channel": [_("Allowed: visit, call")]})
    note = _text(note, "note", max_length=NOTE_MAX)
    now = now or timezone.now()
    if new_customer is not None and customer_id is not None:
        raise Invalid(_("Give an existing customer or a new one, not both."), fields={"customer": [_("Give one.")]})
    if new_customer is None and customer_id is None:
        raise Invalid(_("Choose the customer."), fields={"customer": [_("This field is required.")]})
    if new_customer is None and connection.vendor == "postgresql":
        registration = _register_in_one_call(actor=actor, customer_id=customer_id, channel=channel, note=note, now=now)
        if registration is not None:
            return registration
    with transaction.atomic():
        if new_customer is not None:
            from kehu.customers.services import customer_create

            customer_id = customer_create(actor=actor, data=new_customer).pk
        return _register(actor=actor, customer_id=customer_id, channel=channel, note=note, now=now)


@transaction.atomic
def pool_claim(*, actor, customer_id: int, note: str = "", now: dt.datetime | None = None) -> Registration:
    """Claim a customer from the public pool (公海领取): the daily claim limit and the maximum held apply,
    and the business gate (a suspended or disqualified customer cannot be claimed)."""
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to claim customers."))
    note = _text(note, "note", max_length=NOTE_MAX)
    return _register(actor=actor, customer_id=customer_id, channel=Channel.POOL, note=note,
                     now=now or timezone.now())


@transaction.atomic
def pool_release(*, actor, customer_id: int, reason: str, now: dt.datetime | None = None) -> PoolMove:
    """Give a customer back to the pool (its owner, or a sales manager in scope); the live claim ends."""
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to release customers."))
    reason = _text(reason, "reason", max_length=300, required=True)
    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, customer_id=_pk(customer_id), for_update=True)
    if customer.owner_id != actor.pk and not actor.has_kehu_perm(Perm.SALES_MANAGE):
        raise Forbidden(_("Only the owner or a sales manager can release this customer."))
    pool = pool_owner()
    if customer.owner_id == pool.pk:
        raise Conflict(_("This customer is already in the pool."), code="already_in_pool")
    now = now or timezone.now()
    move = PoolMove.objects.create(customer_id=customer.pk, kind=MoveKind.RELEASE, rep_id=customer.owner_id,
                                   actor=actor, at=now, reason=reason)
    _end_claims(customer.pk, now=now, reason=EndReason.RELEASED)
    _move_owner(actor=actor, customer=customer, to_user=pool, department_id=customer.department_id, now=now,
                reason="pool_release")
    audit_record(actor=actor, action="pool.release", obj=customer, changes={"reason": reason})
    return move


@transaction.atomic
def registration_verify(*, actor, registration_id: int, verdict: str, note: str = "",
                        now: dt.datetime | None = None) -> Verification:
    """The project manager checks a registration (审核): confirmed, or rejected — a rejected registration's
    hold ends and the customer returns to the pool. Once only; never one's own."""
    _require(actor, Perm.SALES_MANAGE, _("You are not allowed to verify registrations."))
    if verdict not in Verdict.values:
        raise Invalid(_("Choose confirmed or rejected."), fields={"verdict": [_("Allowed: confirmed, rejected")]})
    note = _text(note, "note", max_length=NOTE_MAX, required=verdict == Verdict.REJECTED)
    registration = selectors.registration_get(actor=actor, registration_id=registration_id)
    if registration.rep_id == actor.pk:
        raise Forbidden(_("You cannot verify your own registration."))
    now = now or timezone.now()
    try:
        with transaction.atomic():
            check = Verification.objects.create(registration=registration, verdict=verdict, note=note,
                                                verified_by=actor, verified_at=now)
    except IntegrityError as exc:
        raise Conflict(_("This registration has already been verified."), code="already_verified") from exc
    if verdict == Verdict.REJECTED:
        live = Claim.objects.filter(registration_id=registration.pk, ended_at__isnull=True).first()
        if live is not None:
            customer = Customer.objects.select_for_update().get(pk=registration.customer_id)
            _end_claims(customer.pk, now=now, reason=EndReason.REJECTED)
            if customer.owner_id == registration.rep_id:
                pool = pool_owner()
                PoolMove.objects.create(customer_id=customer.pk, kind=MoveKind.REJECT, rep_id=registration.rep_id,
                                        actor=actor, at=now, reason=note[:300])
                _move_owner(actor=actor, customer=customer, to_user=pool, department_id=customer.department_id,
                            now=now, reason="registration_rejected")
    audit_record(actor=actor, action="registration.verify", obj=registration,
                 changes={"verdict": verdict, "note": note})
    return check


@transaction.atomic
def registration_correct(*, actor, registration_id: int, channel: str | None = None, note: str = "",
                         now: dt.datetime | None = None) -> Registration:
    """Correct a registration: a new row that references the corrected one (the original stays as it was)."""
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to correct registrations."))
    original = selectors.registration_get(actor=actor, registration_id=registration_id)
    if original.rep_id != actor.pk and not actor.has_kehu_perm(Perm.SALES_MANAGE):
        raise Forbidden(_("Only the rep or a sales manager can correct this registration."))
    channel = channel or original.channel
    if channel not in Channel.values:
        raise Invalid(_("Unknown channel."), fields={"channel": [_("Unknown channel.")]})
    note = _text(note, "note", max_length=NOTE_MAX, required=True)
    fixed = Registration(customer_id=original.customer_id, rep_id=original.rep_id,
                         department_id=original.department_id, channel=channel,
                         registered_at=original.registered_at, valid_until=original.valid_until,
                         referral_id=original.referral_id, corrects=original, note=note, created_by=actor)
    fixed.save()
    audit_record(actor=actor, action="registration.correct", obj=fixed,
                 changes={"corrects": original.pk, "channel": [original.channel, channel]})
    return fixed


def on_followup_recorded(interaction, *, actor) -> None:
    """A follow-up by the holder renews a valid registration from the follow-up's day (when the policy says
    so): one UPDATE, in the follow-up's transaction."""
    if not cfg()["renew_on_followup"]:
        return
    now = timezone.now()
    until = rules.valid_until(interaction.occurred_at, cfg()["valid_months"], _tz())
    Claim.objects.filter(customer_id=interaction.customer_id, rep_id=interaction.owner_id, ended_at__isnull=True,
                         valid_until__gt=now, valid_until__lt=until).update(valid_until=until, renewed_at=now)


def on_followup_recorded_sql(values: dict, *, actor):
    """``on_followup_recorded`` as one statement over the recorded row (kehu.engagement.hooks): the same UPDATE."""
    if not cfg()["renew_on_followup"]:
        return ()
    now = timezone.now()
    until = rules.valid_until(values["occurred_at"], cfg()["valid_months"], _tz())
    table = Claim._meta.db_table
    return (f"ownership_renewal AS (UPDATE {table} SET valid_until = %s::timestamptz, renewed_at = %s::timestamptz"
            f" FROM recorded WHERE {table}.customer_id = recorded.customer_id AND {table}.rep_id = recorded.owner_id"
            f" AND {table}.ended_at IS NULL AND {table}.valid_until > %s::timestamptz"
            f" AND {table}.valid_until < %s::timestamptz)", [until, now, now, until])


# ---------------------------------------------------------------- referrals


@transaction.atomic
def referral_create(*, actor, customer_id: int, relation: str, expected_visit_on: dt.date, note: str = "",
                    now: dt.datetime | None = None) -> Referral:
    """An employee refers a customer from their private contacts (推荐带客), expected to visit on a day."""
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to refer customers."))
    if relation not in Relation.values:
        raise Invalid(_("Referrals come only from private contacts: choose the relation."),
                      fields={"relation": [_("Choose the relation.")]})
    now = now or timezone.now()
    if not isinstance(expected_visit_on, dt.date) or expected_visit_on < timezone.localtime(now).date():
        raise Invalid(_("The expected visit cannot be in the past."),
                      fields={"expected_visit_on": [_("Today or later.")]})
    note = _text(note, "note", max_length=NOTE_MAX)
    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, customer_id=_pk(customer_id))
    holder = Claim.objects.filter(customer_id=customer.pk, ended_at__isnull=True, valid_until__gt=now).exclude(
        rep_id=actor.pk).exists()
    if holder:
        raise Conflict(_("Another rep holds a valid registration of this customer."), code="already_registered")
    try:
        with transaction.atomic():
            referral = Referral.objects.create(customer=customer, referrer=actor, department_id=actor.department_id,
                                               relation=relation, expected_visit_on=expected_visit_on, note=note)
    except IntegrityError as exc:
        raise Conflict(_("This customer already has an open referral."), code="referral_open") from exc
    audit_record(actor=actor, action="referral.create", obj=referral, object_repr=customer.name,
                 changes={"relation": relation, "expected_visit_on": expected_visit_on.isoformat()})
    return referral


@transaction.atomic
def referral_decide(*, actor, referral_id: int, confirm: bool, note: str = "",
                    now: dt.datetime | None = None) -> Referral:
    """The project manager confirms (or rejects) a referral whose customer came."""
    _require(actor, Perm.SALES_MANAGE, _("You are not allowed to confirm referrals."))
    referral = selectors.referral_get(actor=actor, referral_id=referral_id, for_update=True)
    if referral.state != ReferralState.ARRIVED:
        raise Conflict(_("Only a referral whose customer came can be confirmed."), code="referral_not_arrived")
    if referral.referrer_id == actor.pk:
        raise Forbidden(_("You cannot confirm your own referral."))
    referral.state = ReferralState.CONFIRMED if confirm else ReferralState.REJECTED
    referral.decided_by, referral.decided_at = actor, now or timezone.now()
    referral.save(update_fields=["state", "decided_by", "decided_at"])
    audit_record(actor=actor, action="referral.decide", obj=referral,
                 changes={"state": referral.state, "note": _text(note, "note", max_length=NOTE_MAX)})
    return referral


# ---------------------------------------------------------------- disputes


def _dispute_due(now) -> dt.datetime:
    return now + dt.timedelta(hours=cfg()["dispute_level_hours"])


def _dispute_event(dispute: Dispute, *, actor, action: str, now, note: str = "") -> None:
    DisputeEvent.objects.create(dispute=dispute, action=action, level=dispute.level,
                                actor=actor if actor and actor.pk else None, at=now, note=note)


@transaction.atomic
def dispute_raise(*, actor, customer_id: int, statement: str, now: dt.datetime | None = None) -> Dispute:
    """A rep claims a customer owned by another rep (归属争议); the customer's manager decides."""
    _require(actor, Perm.SALES_WRITE, _("You are not allowed to raise ownership disputes."))
    statement = _text(statement, "statement", max_length=TEXT_MAX, required=True)
    customer = _live_customer(customer_id)
    if customer.owner_id == actor.pk:
        raise Conflict(_("You already own this customer."), code="already_owner")
    if _in_pool(customer):
        raise Conflict(_("This customer is in the pool: claim it instead."), code="in_pool")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(customer=customer, raised_by=actor, holder_id=customer.owner_id,
                                             department_id=customer.department_id, statement=statement,
                                             due_at=_dispute_due(now))
    except IntegrityError as exc:
        raise Conflict(_("You already have an open dispute about this customer."), code="dispute_open") from exc
    _dispute_event(dispute, actor=actor, action="raised", now=now, note=statement)
    audit_record(actor=actor, action="dispute.raise", obj=dispute, object_repr=customer.name,
                 changes={"holder": customer.owner_id})
    from kehu.notifications.services import notify

    notify(user=customer.owner, title=_("%(rep)s disputes your ownership of %(customer)s") % {
        "rep": str(actor), "customer": customer.name}, link=f"/ownership/disputes/{dispute.pk}/")
    return dispute


def can_decide(actor, dispute: Dispute) -> bool:
    """Level 1–2 (manager, project manager): a sales manager in scope; level 3: the sales director (a sales
    manager whose scope is the whole company)."""
    if not actor.has_kehu_perm(Perm.SALES_MANAGE) or actor.pk in (dispute.raised_by_id, dispute.holder_id):
        return False
    if dispute.level >= rules.LEVEL_DIRECTOR:
        return actor.role_spec.scope == Scope.ALL
    return True


@transaction.atomic
def dispute_decide(*, actor, dispute_id: int, winner_id: int, raiser_share: int, reason: str,
                   now: dt.datetime | None = None) -> Dispute:
    """Decide a dispute with a written reason: who owns the customer and the raiser's share of a deal (the
    split); the winner gets the customer and a fresh registration hold."""
    _require(actor, Perm.SALES_MANAGE, _("You are not allowed to decide ownership disputes."))
    reason = _text(reason, "reason", max_length=TEXT_MAX, required=True)
    dispute = selectors.dispute_get(actor=actor, dispute_id=dispute_id, for_update=True)
    if dispute.state != DisputeState.OPEN:
        raise Conflict(_("This dispute has already been decided."), code="dispute_decided")
    if not can_decide(actor, dispute):
        raise Forbidden(_("This dispute is decided at a higher level."))
    if winner_id not in (dispute.raised_by_id, dispute.holder_id):
        raise Invalid(_("The owner must be one of the two reps."), fields={"winner": [_("One of the two reps.")]})
    if isinstance(raiser_share, bool) or not isinstance(raiser_share, int) or not 0 <= raiser_share <= 100:
        raise Invalid(_("The share is a percentage from 0 to 100."), fields={"raiser_share": [_("0–100.")]})
    now = now or timezone.now()
    dispute.state, dispute.decided_by, dispute.decided_at = DisputeState.DECIDED, actor, now
    dispute.winner_id, dispute.raiser_share, dispute.reason = winner_id, raiser_share, reason
    dispute.save(update_fields=["state", "decided_by", "decided_at", "winner", "raiser_share", "reason"])
    customer = Customer.objects.select_for_update().get(pk=dispute.customer_id)
    if customer.owner_id != winner_id:
        winner = User.objects.get(pk=winner_id)
        _end_claims(customer.pk, now=now, reason=EndReason.DISPUTE)
        Claim.objects.create(customer=customer, rep=winner, started_at=now,
                             valid_until=rules.valid_until(now, cfg()["valid_months"], _tz()))
        _move_owner(actor=actor, customer=customer, to_user=winner, department_id=winner.department_id, now=now,
                    reason="dispute")
    raiser, holder = rules.split_of(raiser_share)
    _dispute_event(dispute, actor=actor, action="decided", now=now,
                   note=f"{reason}\n{raiser}/{holder}")
    audit_record(actor=actor, action="dispute.decide", obj=dispute, changes={
        "winner": winner_id, "split": [raiser, holder], "reason": reason, "level": dispute.level})
    from kehu.notifications.services import notify

    for user in User.objects.filter(pk__in=(dispute.raised_by_id, dispute.holder_id)):
        notify(user=user, title=_("The ownership dispute about %(customer)s was decided") % {
            "customer": customer.name}, link=f"/ownership/disputes/{dispute.pk}/")
    return dispute


@transaction.atomic
def dispute_escalate(*, actor, dispute_id: int, note: str = "", now: dt.datetime | None = None) -> Dispute:
    """Hand an undecided dispute up a level (manager → project manager → sales director)."""
    _require(actor, Perm.SALES_MANAGE, _("You are not allowed to escalate ownership disputes."))
    dispute = selectors.dispute_get(actor=actor, dispute_id=dispute_id, for_update=True)
    if dispute.state != DisputeState.OPEN:
        raise Conflict(_("This dispute has already been decided."), code="dispute_decided")
    up = rules.next_level(dispute.level)
    if up is None:
        raise Conflict(_("The sales director decides this dispute; it cannot go higher."), code="dispute_top_level")
    now = now or timezone.now()
    dispute.level, dispute.due_at = up, _dispute_due(now)
    dispute.save(update_fields=["level", "due_at"])
    _dispute_event(dispute, actor=actor, action="escalated", now=now,
                   note=_text(note, "note", max_length=NOTE_MAX))
    audit_record(actor=actor, action="dispute.escalate", obj=dispute, changes={"level": up})
    return dispute


# ---------------------------------------------------------------- the sweep


def _idle_where(cust: str, ints: str, claims: str, n_stages: int) -> str:
    """Customers in the idle stages, older than the cutoff, not in the pool, with no follow-up since the cutoff
    and no live claim that keeps them (a valid one, or a lapsed one held by the owner: the lapse moves those).
    Supported by ownership_cust_idle (stage, created_at) where not deleted — see migration 0002."""
    marks = ", ".join(["%s"] * n_stages)
    return (f"{cust}.deleted_at IS NULL AND {cust}.stage IN ({marks}) AND {cust}.created_at < %s"
            f" AND {cust}.owner_id <> %s"
            f" AND NOT EXISTS (SELECT 1 FROM {claims} WHERE {claims}.customer_id = {cust}.id"
            f" AND {claims}.ended_at IS NULL AND ({claims}.valid_until > %s OR {claims}.rep_id = {cust}.owner_id))"
            f" AND NOT EXISTS (SELECT 1 FROM {ints} WHERE {ints}.customer_id = {cust}.id"
            f" AND {ints}.occurred_at >= %s)")


def pool_sweep(*, now: dt.datetime | None = None, idle: bool = True) -> dict:
    """Return to the pool (set-based SQL, one transaction): customers whose registration lapsed (at the
    Asia/Shanghai midnight of the lapse day) and, in the configured stages, those without a valid
    registration and without a follow-up for KEHU_POOL_IDLE_DAYS; lapse the referrals whose customer did
    not come on the day; escalate disputes undecided past their deadline. Every move is one PoolMove row
    (a customer whose registration lapsed is moved by the lapse, not counted again as idle)."""
    from kehu.engagement.models import Interaction

    now = now or timezone.now()
    pool = pool_owner()
    claims, moves = Claim._meta.db_table, PoolMove._meta.db_table
    cust, ints = Customer._meta.db_table, Interaction._meta.db_table
    stages = tuple(cfg()["idle_stages"]) or ("",)
    cutoff = now - dt.timedelta(days=cfg()["idle_days"])
    today = timezone.localtime(now).date()
    n_now, n_cut = _db(now), _db(cutoff)
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=pool.pk).values_list("pk"))  # one sweep at a time
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("SET LOCAL jit = off")  # compiling these plans costs more than it saves
            # 1. Lapsed registrations still held by the owner (claim_live_until: live claims by validity).
            cur.execute(
                f"INSERT INTO {moves} (customer_id, kind, rep_id, actor_id, at, reason)"
                f" SELECT c.customer_id, %s, c.rep_id, NULL, %s, '' FROM {claims} c"
                f" WHERE c.ended_at IS NULL AND c.valid_until <= %s AND c.rep_id ="
                f" (SELECT {cust}.owner_id FROM {cust} WHERE {cust}.id = c.customer_id AND {cust}.deleted_at IS NULL)",
                [MoveKind.LAPSE, n_now, n_now])
            lapsed = cur.rowcount
            # 2. Valid claims whose holder no longer owns the customer (reassigned meanwhile) end.
            cur.execute(
                f"UPDATE {claims} SET ended_at = %s, end_reason = %s WHERE ended_at IS NULL AND valid_until > %s"
                f" AND rep_id <> (SELECT owner_id FROM {cust} WHERE {cust}.id = {claims}.customer_id)",
                [n_now, EndReason.OWNER_CHANGED, n_now])
            # 3. Idle customers (before the lapsed claims end, so that those are not counted twice).
            idled = 0
            if idle:
                cur.execute(
                    f"INSERT INTO {moves} (customer_id, kind, rep_id, actor_id, at, reason)"
                    f" SELECT {cust}.id, %s, {cust}.owner_id, NULL, %s, '' FROM {cust}"
                    f" WHERE {_idle_where(cust, ints, claims, len(stages))}",
                    [MoveKind.IDLE, n_now, *stages, n_cut, pool.pk, n_now, n_cut])
                idled = cur.rowcount
            # 4. Every lapsed claim ends; 5. the moved customers go to the pool.
            cur.execute(
                f"UPDATE {claims} SET ended_at = %s, end_reason = %s WHERE ended_at IS NULL AND valid_until <= %s",
                [n_now, EndReason.LAPSED, n_now])
            cur.execute(
                f"UPDATE {cust} SET owner_id = %s, updated_at = %s, version = version + 1 WHERE id IN"
                f" (SELECT customer_id FROM {moves} WHERE at = %s AND actor_id IS NULL AND kind IN (%s, %s))",
                [pool.pk, n_now, n_now, MoveKind.LAPSE, MoveKind.IDLE])
        referrals = Referral.objects.filter(state=ReferralState.PENDING, expected_visit_on__lt=today).update(
            state=ReferralState.LAPSED)
        escalated = 0
        for dispute in Dispute.objects.select_for_update().filter(state=DisputeState.OPEN, due_at__lte=now,
                                                                  level__lt=rules.TOP_LEVEL)[:500]:
            dispute.level, dispute.due_at = dispute.level + 1, _dispute_due(now)
            dispute.save(update_fields=["level", "due_at"])
            _dispute_event(dispute, actor=None, action="escalated", now=now)
            escalated += 1
        result = {"lapsed": lapsed, "idle": idled, "referrals_lapsed": referrals, "disputes_escalated": escalated}
        if any(result.values()):
            audit_record(actor=None, action="pool.sweep", object_type="ownership.pool", object_id=f"{now:%Y%m%d%H%M%S}",
                         object_repr=_("Public pool sweep"), changes=result)
    return result
