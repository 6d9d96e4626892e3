"""Every write of visit plans and reports. Each takes the acting user first, checks the permission
(Perm.INTERACTION_WRITE for one's own plan and reports, Perm.VISIT_PLAN_MANAGE for others' plans,
approvals, return-visit authorisations and executive visits) and the scope (through the selectors: a row
outside it is a 404), runs in one transaction and writes its audit entry there."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu import bulk_fk
from kehu.access.models import Department, User
from kehu.access.roles import ROLES, Perm
from kehu.access.scopes import in_scope
from kehu.audit.services import audit_record
from kehu.customers.models import Contact, Customer
from kehu.customers.selectors import customer_base
from kehu.engagement.visits import rules, selectors
from kehu.engagement.visits.models import (
    PLAN_TRANSITIONS,
    ExecutiveVisit,
    ExecutiveVisitDirection,
    ExecutiveVisitState,
    PlanEvent,
    PlanState,
    Scale,
    ScaleItem,
    ScheduledVisit,
    Suggestion,
    SuggestionState,
    SuggestionTopic,
    VisitPlan,
    VisitReport,
    VisitSource,
    VisitState,
)
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.notifications.services import notify

TEXT_MAX = 4000


def _raise(errors: dict) -> None:
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
        return n if 0 < n < 2**63 else None
    return None


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _text(data: dict, name: str, errors: dict, *, max_length: int = TEXT_MAX, required: bool = False,
          default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = [_("This field is required.")]
    elif len(value) > max_length:
        errors[name] = [_("At most %(n)d characters.") % {"n": max_length}]
    return value


def _calendar():
    from kehu.workdays.selectors import calendar_get

    return calendar_get()


def _working_days(year: int, start: dt.date | None = None) -> list[dt.date]:
    cal = _calendar()
    day = max(dt.date(year, 1, 1), start or dt.date(year, 1, 1))
    end = dt.date(year, 12, 31)
    out = []
    while day <= end:
        if cal.is_working_day(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _event(plan: VisitPlan, actor, action: str, *, from_state: str = "", to_state: str = "", note: str = "") -> None:
    PlanEvent.objects.create(plan=plan, actor=actor if actor and actor.pk else None, action=action,
                             from_state=from_state, to_state=to_state, note=note[:500])


def _require_write(actor) -> None:
    if actor is None or not actor.is_authenticated or not (
            actor.has_kehu_perm(Perm.INTERACTION_WRITE) or actor.has_kehu_perm(Perm.VISIT_PLAN_MANAGE)):
        raise Forbidden(_("You are not allowed to change visit plans."))


def require_manage(actor) -> None:
    if not selectors.can_manage(actor):
        raise Forbidden(_("Only a sales manager, an executive or an administrator may do this."))


def _require_plan_editor(actor, plan: VisitPlan) -> None:
    """One's own plan with INTERACTION_WRITE; someone else's with VISIT_PLAN_MANAGE (scope already checked)."""
    _require_write(actor)
    if plan.owner_id == actor.pk and actor.has_kehu_perm(Perm.INTERACTION_WRITE):
        return
    require_manage(actor)


def _require_editable(plan: VisitPlan) -> None:
    if plan.state == PlanState.SUBMITTED:
        raise Conflict(_("The plan is waiting for approval: return it to draft before changing it."),
                       code="plan_submitted")


# ---------------------------------------------------------------- key accounts and authorisation

def key_account_ids(customer_ids) -> set[int]:
    """The key accounts (大客户) among the customers: a grade whose service policy names a dedicated account
    manager, or a grade listed in KEHU_VISITS["key_account_grades"]. Works without grading (none)."""
    from kehu.grading.selectors import service_levels_for

    grades = set(rules.config()["key_account_grades"])
    return {cid for cid, level in service_levels_for(customer_ids).items()
            if level.dedicated_manager or level.grade in grades}


def needs_authorisation(customer_id: int, is_return_visit: bool) -> bool:
    """004 第1篇 7: a return visit to a key account is made under the leadership's authorisation."""
    if not is_return_visit:
        return False
    mode = rules.config()["return_visit_authorisation"]
    if mode == "all":
        return True
    if mode == "none":
        return False
    return customer_id in key_account_ids([customer_id])


# ---------------------------------------------------------------- plan generation

def _owner_for(actor, owner_id) -> User:
    pk = _int(owner_id) if owner_id is not None else actor.pk
    owner = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    if owner is None or not in_scope(actor, owner_id=owner.pk, department_id=owner.department_id):
        raise NotFound(_("Account manager not found."))
    if owner.pk != actor.pk:
        require_manage(actor)
    elif not actor.has_kehu_perm(Perm.INTERACTION_WRITE):
        require_manage(actor)
    return owner


def _year(value) -> int:
    year = _int(value)
    if year is None or not 2000 <= year <= 2100:
        raise Invalid(_("Enter a year between 2000 and 2100."), fields={"year": [_("Enter a year.")]})
    return year


@transaction.atomic
def plan_generate(*, actor, year, owner_id=None, start: dt.date | None = None) -> VisitPlan:
    """Generate (or regenerate while a draft) an account manager's annual visit plan: each of their live
    customers gets the visits a year its grade earns, evenly apart on working days from ``start`` (default:
    the 1st of January, or today in the current year). Visits done, added by hand or reported stay."""
    _require_write(actor)
    year = _year(year)
    owner = _owner_for(actor, owner_id)
    if start is None:
        today = timezone.localdate()
        start = today if today.year == year else dt.date(year, 1, 1)
    plan = VisitPlan.objects.select_for_update().filter(owner=owner, year=year).first()
    if plan is None:
        plan = VisitPlan.objects.create(owner=owner, department_id=owner.department_id, year=year,
                                        created_by=actor)
        _event(plan, actor, "create", to_state=PlanState.DRAFT)
    elif plan.state != PlanState.DRAFT:
        raise Conflict(_("Only a draft plan can be generated again."), code="plan_not_draft")
    removed, created = generate_visits(plans=[plan], start=start)
    plan.generated_at = timezone.now()
    plan.save(update_fields=["generated_at"])
    _event(plan, actor, "generate", note=f"+{created} −{removed}")
    audit_record(actor=actor, action="visit_plan.generate", obj=plan,
                 changes={"year": [None, year], "owner": [None, owner.username], "visits": [removed, created]})
    return plan


# From this many visits in one generation they are staged — the varying columns (plan, customer, day) into a
# temporary table, by COPY on PostgreSQL, executemany on SQLite — and inserted with one INSERT … SELECT; on
# PostgreSQL their foreign keys are checked once per statement (kehu.bulk_fk) instead of row by row at COMMIT.
# Fewer are written straight into the table (COPY / executemany of every column: the generic path, which
# test_bulk_path_writes_the_same_rows compares it with).
BULK_AFTER = 20_000
# Customers per grade look-up and per write batch.
CHUNK = 5_000
# Seconds per step of the last generation (bench.visits prints them).
STEPS: dict[str, float] = {}


def _plan_customers(owner_ids, chunk: int):
    """(customer id, owner id, service level or None) of the owners' live customers, by owner then id, streamed:
    one pass over the customers with their grades joined (a row per grade), each customer's best service level
    by service_levels_for's rule — instead of a grade look-up per batch of ids."""
    from kehu.grading.selectors import service_levels_ranked

    ranked = service_levels_ranked()
    rows = (Customer.objects.filter(owner_id__in=owner_ids, deleted_at__isnull=True).exclude(status="disqualified")
            .order_by("owner_id", "id"))
    if not ranked:  # no service policy: no customer has a level, the grades need not be read
        for cid, owner_id in rows.values_list("id", "owner_id").iterator(chunk_size=chunk):
            yield cid, owner_id, None
        return
    current = None
    for cid, owner_id, policy_name, grade in rows.values_list("id", "owner_id", "grades__policy_name",
                                                               "grades__grade").iterator(chunk_size=chunk):
        found = ranked.get((policy_name, grade)) if policy_name is not None else None
        if current is not None and current[0] == cid:
            if found is not None and (current[2] is None or found[0] < current[2][0]):
                current = (cid, owner_id, found)
            continue
        if current is not None:
            yield current[0], current[1], current[2][1] if current[2] else None
        current = (cid, owner_id, found)
    if current is not None:
        yield current[0], current[1], current[2][1] if current[2] else None


class _VisitWriter:
    """Writes generated visits: (plan id, customer id, day) triples, the other columns from the plan or
    constants. See BULK_AFTER."""

    STAGE = "visits_generated_stage"

    def __init__(self, cur, plans: dict[int, VisitPlan], now):
        from django.db import connection

        self.cur, self.plans, self.now = cur, plans, now
        self.postgres = connection.vendor == "postgresql"
        self.table = ScheduledVisit._meta.db_table
        self.pending: list[tuple] = []
        self.staged = 0
        self.written = 0
        self.bulk = None  # decided at BULK_AFTER rows (PostgreSQL)

    COLUMNS = ("plan_id", "customer_id", "owner_id", "department_id", "planned_on", "state", "source", "purpose",
               "is_return_visit", "needs_authorisation", "cancel_reason", "created_at", "updated_at")

    def _full(self, rows):
        plans, now = self.plans, self.now
        for plan_id, cid, day in rows:
            plan = plans[plan_id]
            yield (plan_id, cid, plan.owner_id, plan.department_id, day, VisitState.SCHEDULED,
                   VisitSource.GENERATED, "", False, False, "", now, now)

    def add(self, rows: list[tuple]) -> None:
        self.pending.extend(rows)
        if self.bulk is None and len(self.pending) >= BULK_AFTER:
            # SQLite checks each row's foreign keys as it inserts it, whatever the path: the staging table
            # only saves binding 13 values a row (it has 3).
            self.bulk = not self.postgres or bulk_fk.available(self.cur, tables=[self.table], rows=len(self.pending),
                                                               min_rows=BULK_AFTER)
            if self.bulk:
                self.cur.execute(f"DROP TABLE IF EXISTS {self.STAGE}")
                self.cur.execute(f"CREATE TEMPORARY TABLE {self.STAGE} (plan_id bigint NOT NULL, "
                                 "customer_id bigint NOT NULL, planned_on date NOT NULL)"
                                 + (" ON COMMIT DROP" if self.postgres else ""))
        if self.bulk is not None:
            self._flush()

    def _flush(self) -> None:
        rows, self.pending = self.pending, []
        if not rows:
            return
        t = _t()
        cur = self.cur
        if self.bulk and self.postgres:
            # binary: the driver packs the three values in C
            bulk_fk.copy_rows(cur, table=self.STAGE, cols=["plan_id", "customer_id", "planned_on"], rows=rows,
                              staged=False, min_rows=BULK_AFTER, binary=True)
            self.staged += len(rows)
        elif self.bulk:
            cur.executemany(f"INSERT INTO {self.STAGE} (plan_id, customer_id, planned_on) VALUES (%s, %s, %s)", rows)
            self.staged += len(rows)
        elif self.postgres:
            # COPY, binary: the driver packs each value in C (a 6,500-parameter INSERT is formatted in Python).
            bulk_fk.copy_rows(cur, table=self.table, cols=list(self.COLUMNS), rows=self._full(rows),
                              staged=False, min_rows=BULK_AFTER, binary=True)
            self.written += len(rows)
        else:
            cur.executemany(f"INSERT INTO {self.table} ({', '.join(self.COLUMNS)}) VALUES "
                            f"({', '.join(['%s'] * len(self.COLUMNS))})", list(self._full(rows)))
            self.written += len(rows)
        _step("stage" if self.bulk else "write", t)

    def finish(self) -> int:
        self._flush()
        if not self.bulk or not self.staged:
            return self.written
        from contextlib import nullcontext

        cur, stage, plan_table = self.cur, self.STAGE, VisitPlan._meta.db_table
        t = _t()
        target = bulk_fk.Target(self.table, staged={"plan_id": "plan_id", "customer_id": "customer_id"})
        checked = (bulk_fk.foreign_keys_checked(cur, stage=stage, targets=[target], rows=self.staged,
                                                min_rows=BULK_AFTER, known_available=True,
                                                lock_tables=frozenset({"customers_customer"}))
                   if self.postgres else nullcontext())
        with checked:
            if self.postgres:
                _step("fk_check", t)
            t = _t()
            # The plan's owner and department from the plan (a hash join of the few plans), the rest constant;
            # in the order staged (owner, customer, day), which keeps every index's inserts but the
            # department's local.
            cur.execute(
                f"INSERT INTO {self.table} ({', '.join(self.COLUMNS)}) SELECT s.plan_id, s.customer_id, p.owner_id, "
                "p.department_id, s.planned_on, %s, %s, '', %s, %s, '', %s, %s "
                f"FROM {stage} s JOIN {plan_table} p ON p.id = s.plan_id",
                [VisitState.SCHEDULED, VisitSource.GENERATED, False, False, self.now, self.now])
            inserted = cur.rowcount
            _step("insert", t)
        if inserted != self.staged:
            raise RuntimeError(f"{self.staged} visits staged, {inserted} inserted")
        cur.execute(f"DROP TABLE {stage}")
        if not self.postgres:
            return self.written + inserted
        t = _t()
        # The plan and calendar pages' plans need the new rows' statistics (a table that just grew by millions).
        cur.execute(f"ANALYZE {self.table}")
        _step("analyze", t)
        return self.written + inserted


def _t() -> float:
    import time

    return time.perf_counter()


def _step(name: str, since: float) -> None:
    STEPS[name] = STEPS.get(name, 0.0) + _t() - since


def generate_visits(*, plans: list[VisitPlan], start: dt.date, chunk: int | None = None) -> tuple[int, int]:
    """The visits of the plans (same year), replacing their generated, still scheduled ones: (removed,
    created). One pass over the owners' customers with their grades (_plan_customers); per CHUNK customers the
    visits written as plain rows (not model instances: a company's plans are millions of rows) — see
    _VisitWriter. Runs in the caller's transaction."""
    from django.db import connection

    STEPS.clear()
    if not plans:
        return 0, 0
    chunk = chunk or CHUNK
    t = _t()
    year = plans[0].year
    days = _working_days(year, start)
    conf = rules.config()
    plan_by_owner = {p.owner_id: p for p in plans}
    removed, _n = (ScheduledVisit.objects.filter(plan__in=plans, source=VisitSource.GENERATED,
                                                 state=VisitState.SCHEDULED, report__isnull=True)
                   .filter(planned_on__gte=start).delete())
    kept = set(ScheduledVisit.objects.filter(plan__in=plans, planned_on__gte=start)
               .exclude(state=VisitState.CANCELLED).values_list("customer_id", "planned_on"))
    now = ScheduledVisit._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    day_prep = ScheduledVisit._meta.get_field("planned_on").get_db_prep_save
    prepped = {d: day_prep(d, connection) for d in days}
    _step("prepare", t)
    k = 0
    part: list[tuple] = []

    with connection.cursor() as cur:
        writer = _VisitWriter(cur, {p.pk: p for p in plans}, now)

        def flush(part):
            nonlocal k
            t = _t()
            rows = []
            for cid, owner_id, level in part:
                plan_id = plan_by_owner[owner_id].pk
                count = rules.visits_per_year(level, conf)
                for day in rules.spread(days, count, phase=rules.phase_of(k)):
                    if (cid, day) not in kept:
                        rows.append((plan_id, cid, prepped[day]))
                k += 1
            _step("rows", t)
            writer.add(rows)

        t = _t()
        for row in _plan_customers(list(plan_by_owner), chunk):
            part.append(row)
            if len(part) >= chunk:
                _step("read_customers", t)
                flush(part)
                t = _t()
                part = []
        _step("read_customers", t)
        if part:
            flush(part)
        created = writer.finish()
    return removed, created


@transaction.atomic
def plans_generate_company(*, actor, year, owner_ids, start: dt.date | None = None) -> list[VisitPlan]:
    """Generate the annual plans of many account managers at once (a leader, for the reps in their scope):
    one plan each (the drafts regenerated, submitted or approved ones left alone), one audit entry per plan."""
    from kehu.access.scopes import scope_q
    from kehu.audit.services import audit_record_many

    require_manage(actor)
    year = _year(year)
    start = start or dt.date(year, 1, 1)
    owners = list(User.objects.filter(scope_q(actor, owner_field="pk"), pk__in=list(owner_ids), is_active=True)
                  .order_by("pk"))
    existing = {p.owner_id: p for p in VisitPlan.objects.select_for_update().filter(owner__in=owners, year=year)}
    fresh = [VisitPlan(owner=o, department_id=o.department_id, year=year, created_by=actor,
                       generated_at=timezone.now()) for o in owners if o.pk not in existing]
    VisitPlan.objects.bulk_create(fresh, batch_size=1000)
    plans = [p for p in existing.values() if p.state == PlanState.DRAFT]
    plans += list(VisitPlan.objects.filter(owner__in=[p.owner_id for p in fresh], year=year))
    generate_visits(plans=plans, start=start)
    VisitPlan.objects.filter(pk__in=[p.pk for p in plans]).update(generated_at=timezone.now())
    PlanEvent.objects.bulk_create([PlanEvent(plan=p, actor=actor, action="generate") for p in plans], batch_size=1000)
    audit_record_many(actor=actor, action="visit_plan.generate", objects=plans,
                      changes=[{"year": [None, year]} for _p in plans])
    return plans


# ---------------------------------------------------------------- plan states

def _move(actor, plan_id: int, to: str, *, action: str, note: str = "") -> VisitPlan:
    plan = selectors.plan_get(actor=actor, plan_id=plan_id)
    plan = VisitPlan.objects.select_for_update().get(pk=plan.pk)
    if to not in PLAN_TRANSITIONS.get(plan.state, set()):
        raise Conflict(_("A plan in state “%(s)s” cannot be moved there.") % {"s": plan.get_state_display()},
                       code="illegal_transition")
    before = plan.state
    plan.state = to
    fields = ["state"]
    if to == PlanState.SUBMITTED:
        plan.submitted_at = timezone.now()
        fields.append("submitted_at")
    if to == PlanState.APPROVED:
        plan.approved_by, plan.approved_at = actor, timezone.now()
        fields += ["approved_by", "approved_at"]
    if to == PlanState.DRAFT:
        plan.approved_by, plan.approved_at = None, None
        fields += ["approved_by", "approved_at"]
    plan.save(update_fields=fields)
    _event(plan, actor, action, from_state=before, to_state=to, note=note)
    audit_record(actor=actor, action=f"visit_plan.{action}", obj=plan, changes={"state": [before, to]})
    return plan


@transaction.atomic
def plan_submit(*, actor, plan_id: int) -> VisitPlan:
    """The owner (or a manager) submits the plan for approval; the leaders over the owner are notified."""
    plan = selectors.plan_get(actor=actor, plan_id=plan_id)
    _require_plan_editor(actor, plan)
    plan = _move(actor, plan_id, PlanState.SUBMITTED, action="submit")
    leader = leader_for(plan.owner)
    if leader is not None:
        notify(user=leader, title=_("Visit plan %(year)s of %(name)s awaits your approval")
               % {"year": plan.year, "name": plan.owner}, link=reverse("visits:plan", args=[plan.pk]))
    return plan


@transaction.atomic
def plan_approve(*, actor, plan_id: int, note: str = "") -> VisitPlan:
    """A manager approves a submitted plan (never their own)."""
    require_manage(actor)
    plan = selectors.plan_get(actor=actor, plan_id=plan_id)
    if plan.owner_id == actor.pk:
        raise Forbidden(_("A plan is approved by someone else than its owner."))
    plan = _move(actor, plan_id, PlanState.APPROVED, action="approve", note=str(note or "")[:500])
    notify(user=plan.owner, title=_("Your visit plan %(year)s was approved") % {"year": plan.year},
           link=reverse("visits:plan", args=[plan.pk]))
    return plan


@transaction.atomic
def plan_return(*, actor, plan_id: int, note: str = "") -> VisitPlan:
    """A manager returns a submitted (or approved) plan to draft, with a reason."""
    require_manage(actor)
    note = str(note or "").strip()
    if not note:
        raise Invalid(_("Give the reason."), fields={"note": [_("This field is required.")]})
    plan = _move(actor, plan_id, PlanState.DRAFT, action="return", note=note[:500])
    notify(user=plan.owner, title=_("Your visit plan %(year)s was returned") % {"year": plan.year}, body=note,
           link=reverse("visits:plan", args=[plan.pk]))
    return plan


# ---------------------------------------------------------------- scheduled visits

def _working_day_in_year(value, year: int, errors: dict, name: str = "planned_on") -> dt.date | None:
    day = _date(value)
    if day is None:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None
    if day.year != year:
        errors[name] = [_("Choose a day in %(year)s.") % {"year": year}]
        return None
    if not _calendar().is_working_day(day):
        errors[name] = [_("Choose a working day.")]
        return None
    return day


@transaction.atomic
def visit_add(*, actor, plan_id: int, data: dict) -> ScheduledVisit:
    """Add a visit to a plan by hand (a customer in the actor's scope, on a working day of the plan's year);
    a return visit to a key account will need a leader's authorisation before it is reported."""
    plan = selectors.plan_get(actor=actor, plan_id=plan_id)
    _require_plan_editor(actor, plan)
    _require_editable(plan)
    errors: dict = {}
    cid = _int(data.get("customer"))
    if cid is None or not customer_base(actor=actor).filter(pk=cid).exists():
        errors["customer"] = [_("Choose a customer in your scope.")]
    day = _working_day_in_year(data.get("planned_on"), plan.year, errors)
    purpose = _text(data, "purpose", errors, max_length=300)
    is_return = data.get("is_return_visit") in (True, "true", "on", "1", 1)
    _raise(errors)
    visit = ScheduledVisit.objects.create(
        plan=plan, customer_id=cid, owner_id=plan.owner_id, department_id=plan.department_id, planned_on=day,
        source=VisitSource.ADDED, purpose=purpose, is_return_visit=is_return,
        needs_authorisation=needs_authorisation(cid, is_return))
    _event(plan, actor, "visit_add", note=f"{day} #{cid}")
    audit_record(actor=actor, action="visit.add", obj=visit,
                 changes={"planned_on": [None, str(day)], "return_visit": [None, is_return]})
    return visit


def _visit_for_edit(actor, visit_id: int) -> ScheduledVisit:
    visit = selectors.visit_get(actor=actor, visit_id=visit_id, for_update=True)
    _require_plan_editor(actor, visit.plan)
    if visit.state != VisitState.SCHEDULED:
        raise Conflict(_("Only a scheduled visit can be changed."), code="visit_not_scheduled")
    return visit


@transaction.atomic
def visit_move(*, actor, visit_id: int, planned_on, reason: str = "") -> ScheduledVisit:
    """Move a scheduled visit to another working day of the plan's year."""
    visit = _visit_for_edit(actor, visit_id)
    _require_editable(visit.plan)
    errors: dict = {}
    day = _working_day_in_year(planned_on, visit.plan.year, errors)
    _raise(errors)
    before = visit.planned_on
    visit.planned_on = day
    visit.reminded_at = None
    visit.save(update_fields=["planned_on", "reminded_at", "updated_at"])
    _event(visit.plan, actor, "visit_move", note=f"{before} → {day} #{visit.customer_id} {reason}".strip())
    audit_record(actor=actor, action="visit.move", obj=visit,
                 changes={"planned_on": [str(before), str(day)], "reason": [None, str(reason or "")[:300]]})
    return visit


@transaction.atomic
def visit_cancel(*, actor, visit_id: int, reason: str) -> ScheduledVisit:
    """Cancel a scheduled visit, with the reason."""
    visit = _visit_for_edit(actor, visit_id)
    _require_editable(visit.plan)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 300:
        raise Invalid(_("Give the reason (at most 300 characters)."), fields={"reason": [_("Give the reason.")]})
    visit.state = VisitState.CANCELLED
    visit.cancel_reason = reason
    visit.save(update_fields=["state", "cancel_reason", "updated_at"])
    _event(visit.plan, actor, "visit_cancel", note=f"{visit.planned_on} #{visit.customer_id} {reason}")
    audit_record(actor=actor, action="visit.cancel", obj=visit, changes={"state": ["scheduled", "cancelled"],
                                                                         "reason": [None, reason]})
    return visit


@transaction.atomic
def visit_authorise(*, actor, visit_id: int, note: str = "") -> ScheduledVisit:
    """A leader authorises a return visit to a key account (004 第1篇 7), never their own."""
    require_manage(actor)
    visit = selectors.visit_get(actor=actor, visit_id=visit_id, for_update=True)
    if visit.owner_id == actor.pk:
        raise Forbidden(_("A return visit is authorised by someone else than the one who makes it."))
    if not visit.needs_authorisation:
        raise Conflict(_("This visit needs no authorisation."), code="no_authorisation_needed")
    if visit.authorised_at is not None:
        return visit  # idempotent
    if visit.state == VisitState.CANCELLED:
        raise Conflict(_("The visit was cancelled."), code="visit_cancelled")
    visit.authorised_by, visit.authorised_at = actor, timezone.now()
    visit.save(update_fields=["authorised_by", "authorised_at", "updated_at"])
    _event(visit.plan, actor, "visit_authorise", note=f"{visit.planned_on} #{visit.customer_id} {note}"[:500])
    audit_record(actor=actor, action="visit.authorise", obj=visit, changes={"authorised": [False, True]})
    notify(user=visit.owner, title=_("Return visit to %(c)s authorised") % {"c": visit.customer.name},
           link=reverse("visits:visit", args=[visit.pk]))
    return visit


# ---------------------------------------------------------------- the interaction hook

def on_visit_recorded(interaction, *, actor) -> ScheduledVisit | None:
    """A visit recorded as a follow-up ticks the owner's nearest open scheduled visit to that customer within
    KEHU_VISITS["match_window_days"] of its date, and links it. Idempotent: an interaction ticks at most one
    visit, once. Runs inside the follow-up's transaction."""
    if getattr(interaction, "channel", None) != "visit":
        return None
    if ScheduledVisit.objects.filter(interaction_id=interaction.pk).exists():
        return None
    day = timezone.localdate(interaction.occurred_at)
    window = dt.timedelta(days=int(rules.config()["match_window_days"]))
    candidates = list(ScheduledVisit.objects.select_for_update().filter(
        owner_id=interaction.owner_id, customer_id=interaction.customer_id, state=VisitState.SCHEDULED,
        interaction__isnull=True, planned_on__gte=day - window, planned_on__lte=day + window)
        .order_by("planned_on", "id")[:20])
    if not candidates:
        return None
    visit = min(candidates, key=lambda v: (abs((v.planned_on - day).days), v.planned_on, v.pk))
    visit.state, visit.done_at, visit.interaction_id = VisitState.DONE, interaction.occurred_at, interaction.pk
    visit.save(update_fields=["state", "done_at", "interaction", "updated_at"])
    audit_record(actor=actor, action="visit.done_by_followup", obj=visit,
                 changes={"state": ["scheduled", "done"], "interaction": [None, interaction.pk]})
    return visit


def on_visit_recorded_sql(values: dict, *, actor):
    """``on_visit_recorded``'s SQL form (kehu.engagement.hooks): nothing for a follow-up that is not a visit; for a
    visit the same match — the owner's first 20 open scheduled visits to the customer within the window (by day,
    locked), the nearest of them (then the earlier day, then the lower id) — ticked done and linked, with the
    same ``visit.done_by_followup`` audit entry (object_repr as ``str(visit)``: day and customer id)."""
    if values.get("channel") != "visit":
        return ()
    from kehu.access.context import current_ip
    from kehu.audit.models import AuditEntry

    day = timezone.localdate(values["occurred_at"])
    window = dt.timedelta(days=int(rules.config()["match_window_days"]))
    table, audit = ScheduledVisit._meta.db_table, AuditEntry._meta.db_table
    now = timezone.now()
    ctes = (
        f"visits_match AS (SELECT m.id FROM (SELECT v.id, v.planned_on FROM {table} v JOIN recorded"
        " ON v.owner_id = recorded.owner_id AND v.customer_id = recorded.customer_id"
        " WHERE v.state = %s AND v.interaction_id IS NULL AND v.planned_on >= %s::date AND v.planned_on <= %s::date"
        " ORDER BY v.planned_on, v.id LIMIT 20 FOR UPDATE OF v) m"
        " ORDER BY abs(m.planned_on - %s::date), m.planned_on, m.id LIMIT 1),"
        f" visits_done AS (UPDATE {table} SET state = %s, done_at = recorded.occurred_at,"
        " interaction_id = recorded.id, updated_at = %s::timestamptz FROM visits_match, recorded"
        f" WHERE {table}.id = visits_match.id RETURNING {table}.id, {table}.planned_on, {table}.customer_id,"
        " recorded.id AS interaction_id),"
        f" visits_audit AS (INSERT INTO {audit} (at, actor_id, actor_name, ip, action, object_type, object_id,"
        " object_repr, changes) SELECT %s::timestamptz, %s::bigint, %s::text, %s::inet, %s::text, %s::text,"
        " d.id::text, left(to_char(d.planned_on, 'YYYY-MM-DD') || ' ' || d.customer_id::text, 200),"
        " jsonb_build_object('state', jsonb_build_array(%s::text, %s::text),"
        " 'interaction', jsonb_build_array(NULL, d.interaction_id)) FROM visits_done d)")
    return ctes, [VisitState.SCHEDULED, day - window, day + window, day, VisitState.DONE, now, now, actor.pk,
                  actor.get_username(), current_ip.get(), "visit.done_by_followup",
                  ScheduledVisit._meta.label_lower, VisitState.SCHEDULED, VisitState.DONE]


# ---------------------------------------------------------------- reports

def _scale_choice(value, scale: str, items: dict[str, list[ScaleItem]], errors: dict) -> ScaleItem | None:
    choices = items.get(scale, [])
    for item in choices:
        if (_int(value) is not None and item.pk == _int(value)) or (isinstance(value, str) and value.strip() == item.label):
            return item
    errors[scale] = [_("Choose one of the form's choices.")]
    return None


def department_by_path(path: str) -> Department | None:
    parent = None
    for name in [n.strip() for n in (path or "").replace("›", "/").split("/") if n.strip()]:
        parent = Department.objects.filter(parent=parent, name=name).first()
        if parent is None:
            return None
    return parent


def leader_for(user) -> User | None:
    """The nearest leader over ``user``: an active user holding VISIT_PLAN_MANAGE in the user's department
    or the closest department above it (never the user)."""
    if user.department_id is None:
        return None
    path = Department.objects.filter(pk=user.department_id).values_list("path", flat=True).first() or ""
    ancestors = [int(p) for p in path.strip("/").split("/") if p.isdigit()]
    roles = [name for name, spec in ROLES.items() if Perm.VISIT_PLAN_MANAGE in spec.perms]
    rows = list(User.objects.filter(is_active=True, role__in=roles, department_id__in=ancestors)
                .exclude(pk=user.pk).order_by("id"))
    if not rows:
        return None
    depth = {pk: i for i, pk in enumerate(ancestors)}
    return max(rows, key=lambda u: (depth.get(u.department_id, -1), -u.pk))


def _clean_suggestions(raw, errors: dict, owner) -> list[dict]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > 20:
        errors["suggestions"] = [_("Give at most 20 suggestions.")]
        return []
    conf = rules.config()
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors[f"suggestions.{i}"] = [_("Not valid.")]
            continue
        text = item.get("text")
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            continue  # an empty row of the form
        if len(text) > 2000:
            errors[f"suggestions.{i}.text"] = [_("At most %(n)d characters.") % {"n": 2000}]
        topic = item.get("topic") or SuggestionTopic.OTHER
        if topic not in SuggestionTopic.values:
            errors[f"suggestions.{i}.topic"] = [_("Choose a topic.")]
            continue
        addressee = None
        if item.get("addressee") not in (None, ""):
            pk = _int(item.get("addressee"))
            addressee = User.objects.filter(pk=pk, is_active=True).first() if pk else None
            if addressee is None:
                errors[f"suggestions.{i}.addressee"] = [_("Choose an active user.")]
                continue
        dept_ids = item.get("departments") or []
        if not isinstance(dept_ids, list) or any(_int(d) is None for d in dept_ids):
            errors[f"suggestions.{i}.departments"] = [_("Choose departments.")]
            continue
        departments = list(Department.objects.filter(pk__in=[_int(d) for d in dept_ids]))
        if len(departments) != len(set(dept_ids)):
            errors[f"suggestions.{i}.departments"] = [_("Choose departments.")]
            continue
        if not departments:  # routed by the topic → department map
            routed = department_by_path(conf["suggestion_routes"].get(topic, ""))
            departments = [routed] if routed else []
        out.append({"topic": topic, "text": text, "addressee": addressee or leader_for(owner),
                    "departments": departments})
    return out


@transaction.atomic
def report_file(*, actor, visit_id: int, data: dict) -> VisitReport:
    """File the visit report (客户走访报告单) of a scheduled visit: the three scales (choices of the current
    scale version), the texts, the customer's signatory; the score is computed; the visit is done; each
    suggestion is routed to its leader and departments and waits for an answer."""
    _require_write(actor)
    visit = selectors.visit_get(actor=actor, visit_id=visit_id, for_update=True)
    if visit.owner_id != actor.pk:
        require_manage(actor)
    elif not actor.has_kehu_perm(Perm.INTERACTION_WRITE):
        raise Forbidden(_("You are not allowed to file visit reports."))
    if visit.state == VisitState.CANCELLED:
        raise Conflict(_("The visit was cancelled."), code="visit_cancelled")
    if VisitReport.objects.filter(visit=visit).exists():
        raise Conflict(_("This visit already has its report."), code="report_exists")
    if visit.awaiting_authorisation:
        raise Conflict(_("This return visit to a key account needs a leader's authorisation first."),
                       code="authorisation_required")
    errors: dict = {}
    items = selectors.scale_items()
    chosen = {scale: _scale_choice(data.get(scale), scale, items, errors) for scale in Scale.values}
    today = timezone.localdate()
    visited_on = _date(data.get("visited_on")) if data.get("visited_on") not in (None, "") else today
    if visited_on is None or visited_on > today or visited_on.year < 2000:
        errors["visited_on"] = [_("Enter the day of the visit (not in the future).")]
    signed_on = _date(data.get("signed_on")) if data.get("signed_on") not in (None, "") else visited_on
    if signed_on is None or (visited_on and signed_on < visited_on) or (signed_on and signed_on > today):
        errors["signed_on"] = [_("Enter the day the customer signed (from the visit day to today).")]
    customer = visit.customer
    texts = {name: _text(data, name, errors) for name in ("product_info", "market_info", "needs",
                                                            "other_suggestions")}
    head = {"customer_name": _text(data, "customer_name", errors, max_length=200, default=customer.name)
            or customer.name,
            "customer_address": _text(data, "customer_address", errors, max_length=300,
                                      default=customer.address),
            "legal_representative": _text(data, "legal_representative", errors, max_length=100)}
    people = {name: _text(data, name, errors, max_length=100 if name.endswith(("name", "title")) else 40)
              for name in ("principal_name", "principal_title", "principal_phone", "principal_mobile",
                           "handler_name", "handler_title", "handler_phone", "handler_mobile")}
    signatory = _text(data, "signatory_name", errors, max_length=100, required=True)
    suggestions = _clean_suggestions(data.get("suggestions"), errors, visit.owner)
    _raise(errors)
    conf = rules.config()
    score = rules.report_score({s: item.points for s, item in chosen.items()}, conf["score_weights"])
    report = VisitReport.objects.create(
        visit=visit, customer=customer, owner_id=visit.owner_id, department_id=visit.department_id,
        visited_on=visited_on, quality=chosen["quality"], service=chosen["service"],
        reputation=chosen["reputation"], score=score, signatory_name=signatory, signed_on=signed_on,
        created_by=actor, **head, **texts, **people)
    if visit.state != VisitState.DONE:
        visit.state, visit.done_at = VisitState.DONE, timezone.now()
        visit.save(update_fields=["state", "done_at", "updated_at"])
    due = today + dt.timedelta(days=int(conf["suggestion_answer_days"]))
    for s in suggestions:
        row = Suggestion.objects.create(report=report, topic=s["topic"], text=s["text"], addressee=s["addressee"],
                                        due_on=due)
        if s["departments"]:
            row.departments.set(s["departments"])
        if s["addressee"] is not None:
            notify(user=s["addressee"], title=_("A customer's suggestion awaits your answer: %(c)s")
                   % {"c": report.customer_name}, body=s["text"][:500],
                   link=reverse("visits:suggestion", args=[row.pk]))
    audit_record(actor=actor, action="visit_report.file", obj=report,
                 changes={"score": [None, str(score)], "suggestions": [None, len(suggestions)]})
    return report


# ---------------------------------------------------------------- suggestions

@transaction.atomic
def suggestion_answer(*, actor, suggestion_id: int, answer: str) -> Suggestion:
    """The addressee (or a leader of a department concerned) answers an open suggestion."""
    s = selectors.suggestion_get(actor=actor, suggestion_id=suggestion_id)
    if not selectors.can_answer(actor, s):
        raise Forbidden(_("Only the leader or a department concerned answers this suggestion."))
    s = Suggestion.objects.select_for_update().get(pk=s.pk)
    if s.state != SuggestionState.OPEN:
        raise Conflict(_("The suggestion was already answered."), code="suggestion_not_open")
    answer = answer.strip() if isinstance(answer, str) else ""
    if not answer or len(answer) > TEXT_MAX:
        raise Invalid(_("Write the answer."), fields={"answer": [_("This field is required.")]})
    s.state, s.answer, s.answered_by, s.answered_at = SuggestionState.ANSWERED, answer, actor, timezone.now()
    s.save(update_fields=["state", "answer", "answered_by", "answered_at"])
    audit_record(actor=actor, action="suggestion.answer", obj=s, changes={"state": ["open", "answered"]})
    notify(user=s.report.owner, title=_("Your customer's suggestion was answered: %(c)s")
           % {"c": s.report.customer_name}, body=answer[:500], link=reverse("visits:suggestion", args=[s.pk]))
    return s


@transaction.atomic
def suggestion_close(*, actor, suggestion_id: int) -> Suggestion:
    """Close an answered suggestion (the report's account manager, once the customer was told), or any
    suggestion by someone who may answer it."""
    s = selectors.suggestion_get(actor=actor, suggestion_id=suggestion_id)
    answerer = selectors.can_answer(actor, s)
    if not answerer and not (actor.pk == s.report.owner_id and s.state == SuggestionState.ANSWERED):
        raise Forbidden(_("You may not close this suggestion."))
    s = Suggestion.objects.select_for_update().get(pk=s.pk)
    if s.state == SuggestionState.CLOSED:
        raise Conflict(_("The suggestion is closed already."), code="suggestion_closed")
    if s.state == SuggestionState.OPEN:
        raise Conflict(_("Answer the suggestion before closing it."), code="suggestion_not_answered")
    before = s.state
    s.state, s.closed_by, s.closed_at = SuggestionState.CLOSED, actor, timezone.now()
    s.save(update_fields=["state", "closed_by", "closed_at"])
    audit_record(actor=actor, action="suggestion.close", obj=s, changes={"state": [before, "closed"]})
    return s


# ---------------------------------------------------------------- executive mutual visits

def _clean_executive(actor, data: dict, *, instance: ExecutiveVisit | None) -> tuple[dict, list, list]:
    errors: dict = {}
    values: dict = {}
    if instance is None:
        cid = _int(data.get("customer"))
        customer = customer_base(actor=actor).filter(pk=cid).first() if cid else None
        if customer is None:
            errors["customer"] = [_("Choose a customer in your scope.")]
        values["customer"] = customer
    customer_id = instance.customer_id if instance else (values["customer"].pk if values.get("customer") else None)
    get = (lambda k: data.get(k, getattr(instance, k))) if instance else data.get
    direction = get("direction") or ExecutiveVisitDirection.OUTBOUND
    if direction not in ExecutiveVisitDirection.values:
        errors["direction"] = [_("Choose a direction.")]
    values["direction"] = direction
    values["purpose"] = _text({"purpose": get("purpose")}, "purpose", errors, max_length=300, required=True)
    values["place"] = _text({"place": get("place")}, "place", errors, max_length=200, required=True)
    values["customer_participants_note"] = _text(
        {"n": get("customer_participants_note")}, "n", errors, max_length=300)
    if "n" in errors:
        errors["customer_participants_note"] = errors.pop("n")
    starts = get("starts_at")
    if isinstance(starts, str):
        try:
            starts = dt.datetime.fromisoformat(starts.strip())
        except ValueError:
            starts = None
    if not isinstance(starts, dt.datetime):
        errors["starts_at"] = [_("Enter the date and time.")]
    else:
        if timezone.is_naive(starts):
            starts = timezone.make_aware(starts)
        values["starts_at"] = starts
    ours, theirs = None, None
    if instance is None or "our_participants" in data:
        ids = data.get("our_participants") or []
        pks = [_int(x) for x in ids] if isinstance(ids, list) else [None]
        ours = list(User.objects.filter(pk__in=[p for p in pks if p], is_active=True))
        if not ours or len(ours) != len(set(pks)) or None in pks:
            errors["our_participants"] = [_("Choose our participants (active users).")]
    if instance is None or "customer_participants" in data:
        ids = data.get("customer_participants") or []
        pks = [_int(x) for x in ids] if isinstance(ids, list) else [None]
        theirs = list(Contact.objects.filter(pk__in=[p for p in pks if p], customer_id=customer_id or 0))
        if len(theirs) != len(set(pks)) or None in pks:
            errors["customer_participants"] = [_("Choose contacts of this customer.")]
    _raise(errors)
    return values, ours, theirs


@transaction.atomic
def executive_create(*, actor, data: dict) -> ExecutiveVisit:
    """Plan an executive mutual visit (高层互访, 002 05: purpose, time, place, participants)."""
    require_manage(actor)
    values, ours, theirs = _clean_executive(actor, data, instance=None)
    customer = values["customer"]
    visit = ExecutiveVisit.objects.create(owner_id=customer.owner_id, department_id=customer.department_id,
                                          created_by=actor, **values)
    visit.our_participants.set(ours)
    visit.customer_participants.set(theirs or [])
    audit_record(actor=actor, action="executive_visit.create", obj=visit,
                 changes={"purpose": [None, visit.purpose], "starts_at": [None, visit.starts_at.isoformat()]})
    for user in ours:
        if user.pk != actor.pk:
            notify(user=user, title=_("Executive visit: %(p)s") % {"p": visit.purpose},
                   link=reverse("visits:executive", args=[visit.pk]))
    return visit


@transaction.atomic
def executive_update(*, actor, visit_id: int, data: dict) -> ExecutiveVisit:
    require_manage(actor)
    visit = selectors.executive_get(actor=actor, visit_id=visit_id)
    if visit.state != ExecutiveVisitState.PLANNED:
        raise Conflict(_("Only a planned visit can be changed."), code="executive_not_planned")
    values, ours, theirs = _clean_executive(actor, data, instance=visit)
    changes = {k: [str(getattr(visit, k)), str(v)] for k, v in values.items() if getattr(visit, k) != v}
    for k, v in values.items():
        setattr(visit, k, v)
    visit.save()
    if ours is not None:
        visit.our_participants.set(ours)
    if theirs is not None:
        visit.customer_participants.set(theirs)
    audit_record(actor=actor, action="executive_visit.update", obj=visit, changes=changes)
    return visit


@transaction.atomic
def executive_record_outcome(*, actor, visit_id: int, outcome: str) -> ExecutiveVisit:
    require_manage(actor)
    visit = selectors.executive_get(actor=actor, visit_id=visit_id)
    if visit.state == ExecutiveVisitState.CANCELLED:
        raise Conflict(_("The visit was cancelled."), code="executive_cancelled")
    outcome = outcome.strip() if isinstance(outcome, str) else ""
    if not outcome or len(outcome) > TEXT_MAX:
        raise Invalid(_("Write the outcome."), fields={"outcome": [_("This field is required.")]})
    before = visit.state
    visit.state, visit.outcome = ExecutiveVisitState.DONE, outcome
    visit.save(update_fields=["state", "outcome", "updated_at"])
    audit_record(actor=actor, action="executive_visit.outcome", obj=visit, changes={"state": [before, "done"]})
    return visit


@transaction.atomic
def executive_cancel(*, actor, visit_id: int, reason: str) -> ExecutiveVisit:
    require_manage(actor)
    visit = selectors.executive_get(actor=actor, visit_id=visit_id)
    if visit.state != ExecutiveVisitState.PLANNED:
        raise Conflict(_("Only a planned visit can be cancelled."), code="executive_not_planned")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise Invalid(_("Give the reason."), fields={"reason": [_("This field is required.")]})
    visit.state, visit.outcome = ExecutiveVisitState.CANCELLED, reason[:TEXT_MAX]
    visit.save(update_fields=["state", "outcome", "updated_at"])
    audit_record(actor=actor, action="executive_visit.cancel", obj=visit, changes={"state": ["planned", "cancelled"]})
    return visit


# ---------------------------------------------------------------- reminders

@transaction.atomic
def visits_remind(*, today: dt.date | None = None) -> int:
    """Remind each account manager of their scheduled visits due within KEHU_VISITS["remind_working_days_before"]
    working days (once per visit; moving a visit reminds again)."""
    today = today or timezone.localdate()
    ahead = int(rules.config()["remind_working_days_before"])
    until = _calendar().add_working_days(today, ahead) if ahead > 0 else today
    rows = list(ScheduledVisit.objects.select_for_update().filter(
        state=VisitState.SCHEDULED, reminded_at__isnull=True, planned_on__gte=today, planned_on__lte=until)
        .select_related("customer", "owner")[:5000])
    now = timezone.now()
    for visit in rows:
        notify(user=visit.owner, title=_("Visit %(c)s on %(d)s") % {"c": visit.customer.name, "d": visit.planned_on},
               link=reverse("visits:visit", args=[visit.pk]))
    ScheduledVisit.objects.filter(pk__in=[v.pk for v in rows]).update(reminded_at=now)
    return len(rows)


def scale_q_current() -> Q:
    return Q(active=True)
