"""Every write of grading: policy versions (draft → active → retired), import, and (later) runs and
overrides. Each takes the acting user first, checks GRADING_MANAGE, runs in one transaction and writes its
audit entry in it."""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu import bulk_fk
from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.models import Customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.grading import metrics, notify, policies
from kehu.grading.kinds import KINDS, ConfigError
from kehu.grading.models import (
    CustomerGrade,
    GradeHistory,
    GradingPolicy,
    GradingRun,
    HandScore,
    Movement,
    PolicyState,
    RunStatus,
    RunTrigger,
    ServicePolicy,
)

MAX_NAME = 100


def require_manage(actor) -> None:
    if actor is not None and not actor.has_kehu_perm(Perm.GRADING_MANAGE):
        raise Forbidden(_("Only an administrator or an executive may manage grading policies."))


def check_policy(*, name, kind, config, active_from=None, description="") -> dict:
    """Validate the fields of a policy version; return them cleaned, or raise Invalid naming each field."""
    fields: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        fields["name"] = [_("Give the policy a name of 1 to 100 characters.")]
    if kind not in KINDS:
        fields["kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(KINDS)}]
    elif config is None or not isinstance(config, dict):
        fields["config"] = [_("The configuration must be a mapping of settings.")]
    else:
        try:
            KINDS[kind].validate(config)
        except ConfigError as exc:
            for key, messages in exc.fields.items():
                fields[f"config.{key}"] = messages
    if active_from not in (None, ""):
        if isinstance(active_from, str):
            try:
                active_from = dt.date.fromisoformat(active_from)
            except ValueError:
                fields["active_from"] = [_("Enter a date as YYYY-MM-DD.")]
        elif not isinstance(active_from, dt.date):
            fields["active_from"] = [_("Enter a date as YYYY-MM-DD.")]
    else:
        active_from = None
    description = description if isinstance(description, str) else ""
    if len(description) > 500:
        fields["description"] = [_("At most 500 characters.")]
    if fields:
        first = next(iter(fields.values()))[0]
        raise Invalid(first, fields=fields)
    return {"name": name, "kind": kind, "config": config, "active_from": active_from, "description": description}


def _lock_policy(policy_id: int) -> GradingPolicy:
    policy = GradingPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such grading policy."))
    return policy


@transaction.atomic
def policy_create(*, actor, name, kind, config, active_from=None, description="") -> GradingPolicy:
    """A new draft: version 1 of a new name, or the next version of an existing one."""
    require_manage(actor)
    data = check_policy(name=name, kind=kind, config=config, active_from=active_from, description=description)
    latest = GradingPolicy.objects.filter(name=data["name"]).aggregate(v=Max("version"))["v"] or 0
    try:
        with transaction.atomic():
            policy = GradingPolicy.objects.create(version=latest + 1, created_by=actor if actor else None, **data)
    except IntegrityError:
        raise Conflict(_("Another version of this policy was saved at the same time; try again.")) from None
    audit_record(actor=actor, action="grading.policy.create", obj=policy,
                 changes={"kind": policy.kind, "version": policy.version})
    return policy


@transaction.atomic
def policy_update(*, actor, policy_id: int, name, kind, config, active_from=None, description="") -> GradingPolicy:
    """Edit a draft. An active or retired version is history: edit a new version instead."""
    require_manage(actor)
    policy = _lock_policy(policy_id)
    if policy.state != PolicyState.DRAFT:
        raise Conflict(_("Only a draft can be edited; save a new version instead."))
    data = check_policy(name=name, kind=kind, config=config, active_from=active_from, description=description)
    if data["name"] != policy.name:
        raise Invalid(_("A version keeps its policy's name."), fields={"name": [_("Cannot be changed.")]})
    for key, value in data.items():
        setattr(policy, key, value)
    policy.save()
    audit_record(actor=actor, action="grading.policy.update", obj=policy, changes={"config": policy.config})
    return policy


@transaction.atomic
def policy_activate(*, actor, policy_id: int, active_from: dt.date | None = None) -> GradingPolicy:
    """Make a draft the active version of its name (the previous active version retires)."""
    require_manage(actor)
    policy = _lock_policy(policy_id)
    if policy.state != PolicyState.DRAFT:
        raise Conflict(_("Only a draft can be activated."))
    check_policy(name=policy.name, kind=policy.kind, config=policy.config)
    retired = list(GradingPolicy.objects.select_for_update()
                   .filter(name=policy.name, state=PolicyState.ACTIVE).values_list("version", flat=True))
    GradingPolicy.objects.filter(name=policy.name, state=PolicyState.ACTIVE).update(state=PolicyState.RETIRED)
    policy.state = PolicyState.ACTIVE
    policy.active_from = active_from or policy.active_from or dt.date.today()
    try:
        with transaction.atomic():
            policy.save(update_fields=["state", "active_from", "updated_at"])
    except IntegrityError:
        raise Conflict(_("Another version of this policy was activated at the same time.")) from None
    audit_record(actor=actor, action="grading.policy.activate", obj=policy,
                 changes={"active_from": policy.active_from.isoformat(), "retired_versions": retired})
    return policy


@transaction.atomic
def policy_retire(*, actor, policy_id: int) -> GradingPolicy:
    require_manage(actor)
    policy = _lock_policy(policy_id)
    if policy.state == PolicyState.RETIRED:
        raise Conflict(_("This version is already retired."))
    policy.state = PolicyState.RETIRED
    policy.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="grading.policy.retire", obj=policy)
    return policy


def policy_import_yaml(*, actor, text: str) -> GradingPolicy:
    """A new draft version from an exported YAML document."""
    require_manage(actor)
    return policy_create(actor=actor, **policies.policy_from_yaml(text))


# ---------------------------------------------------------------- runs: preview and regrade

BATCH = 2000
SAMPLE = 20


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The last day of the last complete month: a review grades whole months."""
    today = today or timezone.localdate()
    return today.replace(day=1) - dt.timedelta(days=1)


def check_as_of(as_of: dt.date | None) -> dt.date:
    as_of = as_of or default_as_of()
    if not dt.date(2000, 1, 1) <= as_of <= dt.date(2100, 12, 31):
        raise Invalid(_("Choose a review date between 2000 and 2100."), fields={"as_of": [_("Out of range.")]})
    return as_of


def movement_of(levels: list[str], previous: str | None, grade: str) -> str:
    if not previous:
        return Movement.NEW
    if previous == grade:
        return Movement.SAME
    if previous in levels and grade in levels:
        return Movement.UP if levels.index(grade) > levels.index(previous) else Movement.DOWN
    return Movement.NEW


@dataclass
class Computation:
    """The outcome of grading a population under a policy. Only what a run writes (or a preview shows) keeps
    its explanation: ``rows`` are ``(customer, grade, computed grade, explanation, previous grade, owner,
    department)`` for the customers whose current grade row must be written (the explanation a mapping in a
    preview, its JSON text in a run: ``explanation_dict`` reads either)."""

    policy: GradingPolicy
    as_of: dt.date
    levels: list
    customers: int  # graded
    moves: dict  # (from, to) → count, "" for none
    changed: list  # customers whose grade changes, in id order
    rows: list
    lost: list  # (customer, current grade, department): graded before, no longer in the population

    def movements(self) -> dict[tuple[str, str], int]:
        counts = dict(self.moves)
        for _cid, grade, _dept in self.lost:
            counts[(grade, "")] = counts.get((grade, ""), 0) + 1
        return counts


MATRIX_KINDS = ("threshold", "consecutive")
# The kinds whose Graded gives ``canonical_text``: a run on PostgreSQL skips their customers whose stored row it
# would leave unchanged (``_current_grades``); the others' rows are all staged and compared in the upsert.
CANONICAL_KINDS = ("rfm", "scorecard", "key_account")
# The metrics of its window a kind reads (metrics.window sums only those); a kind not named reads them all.
WINDOW_NEEDS = {"abc": lambda config: frozenset({config["metric"]}),
                "rfm": lambda config: frozenset({"order_count", "amount"})}


@contextmanager
def _collector_paused():
    """The cyclic garbage collector off while a run builds its per-customer objects (a million window dicts,
    facts, results and texts hold no cycles, but each allocation burst makes the collector walk every live
    object again: 30–40 % of a scorecard preview's CPU at 100k customers). Plain reference counting still frees
    everything; the collector is restored (and runs as usual) after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compute(policy: GradingPolicy, *, as_of: dt.date, explain: str = "written") -> Computation:
    """Grade every customer of the population under ``policy`` (``_compute``), the collector paused."""
    with _collector_paused():
        return _compute(policy, as_of=as_of, explain=explain)


def _compute(policy: GradingPolicy, *, as_of: dt.date, explain: str = "written") -> Computation:
    """Grade every customer of the population under ``policy``. ``explain`` says whose explanation to keep:
    "written" (every row a run must write: new, changed, an expiring override, a new policy version; for the
    kinds outside MATRIX_KINDS every customer) or "sample" (the first SAMPLE changed customers, for a preview).

    Threshold and consecutive-period policies read one row per customer (the months pivoted in SQL,
    kehu.grading.metrics.month_matrix) and decide with the kinds' own ``decide``/``explain``; the other kinds
    run their pure ``grade`` over one window row per customer (metrics.window) and ``customer_facts``: the
    same grades as over ``monthly_rows``
    (kehu/grading/tests/test_sql_equivalence.py)."""
    kind = KINDS[policy.kind]
    try:
        config = kind.validate(policy.config)
    except ConfigError as exc:
        raise Invalid(str(exc), fields={f"config.{k}": v for k, v in exc.fields.items()}) from None
    sample = explain == "sample"
    moves: dict[tuple[str, str], int] = {}
    changed: list[int] = []
    rows: list[tuple] = []
    customers = 0
    if policy.kind in MATRIX_KINDS:
        ctx = kind.context(config, as_of)
        decide, explain_one = kind.decide, kind.explain
        # A run stores each explanation as JSON text: build the text at once (threshold: straight from a
        # template), so a million customers leave a million strings, not a million dicts for the collector.
        text_one = getattr(kind, "explain_text", None) or _explain_text(explain_one)
        matrix = metrics.month_matrix(as_of=as_of, months=config["months"], metric=config["metric"],
                                      first_order=kind.needs_first_order(config), policy_name=policy.name)
        for cid, owner, dept, prev, prev_policy, overridden, first, values in matrix:
            customers += 1
            final, detail = decide(config, ctx, values, first, prev)
            key = (prev or "", final)
            moves[key] = moves.get(key, 0) + 1
            moved = prev != final
            if moved:
                changed.append(cid)
            if (moved and (not sample or len(rows) < SAMPLE)) or (
                    not sample and (overridden or prev_policy != policy.pk)):
                if sample:
                    explanation = explain_one(config, ctx, values, detail, final, prev)
                    computed = explanation.get("computed_grade", final)
                else:
                    explanation, computed = text_one(config, ctx, values, detail, final, prev)
                rows.append((cid, final, computed, explanation, prev, owner, dept))
    else:
        scored = policy.kind in ("scorecard", "key_account")
        pg = connection.vendor == "postgresql"
        # The window's scan also gives the lifetime amount (the only fact of the order history a scorecard
        # reads), when a dimension reads it: customer_facts runs no GROUP BY of the order history.
        facts = metrics.customer_facts(as_of=as_of, with_scores=scored, with_history=False)
        current, digests = _current_grades(policy, facts,
                                           with_digests=pg and not sample and policy.kind in CANONICAL_KINDS)
        # One row per customer from SQL, exact decimals on both databases (metrics.window).
        if scored:
            need = kind.needs(config)
            rows_in = metrics.window(as_of=as_of, months=config["months"], needs=need["metrics"], with_last=False,
                                     with_halves=need["halves"] or need["active"], with_half_amounts=need["halves"],
                                     with_active=need["active"], with_lifetime=need["lifetime"])
            for cid, amount in rows_in.lifetime.items():
                if cid in facts:
                    facts[cid]["lifetime_amount"] = amount
        else:
            rows_in = metrics.window(as_of=as_of, months=config["months"], with_halves=False,
                                     with_last=policy.kind != "abc",
                                     needs=WINDOW_NEEDS.get(policy.kind, lambda c: None)(config))
        results = kind.grade(config, rows=rows_in, customers=facts,
                             previous={cid: v[0] for cid, v in current.items()}, as_of=as_of,
                             **({"texts": not sample, "canonical": digests} if scored else {}))
        for cid in sorted(results):
            graded = results[cid]
            prev, prev_policy, overridden = current.get(cid, (None, None, False))
            customers += 1
            key = (prev or "", graded.grade)
            moves[key] = moves.get(key, 0) + 1
            moved = prev != graded.grade
            if moved:
                changed.append(cid)
            # These kinds read hand scores and whole-book ranks: every row is rewritten, so an explanation
            # follows a new hand score even when the grade holds (the threshold/consecutive rows above are
            # written only when something about the grade changes).
            if not sample and not moved and cid in digests and graded.computed_grade == prev:
                canonical = graded.canonical_text()
                if canonical is not None and hashlib.md5(canonical.encode(), usedforsecurity=False).digest() == digests[cid]:
                    continue  # the stored row says exactly this: the upsert would leave it as it is
            if not sample or (moved and len(rows) < SAMPLE):  # a run keeps the text it stores, a preview the dict
                rows.append((cid, graded.grade, graded.computed_grade,
                             graded.explanation if sample else graded.explanation_text(), prev,
                             facts[cid]["owner_id"], facts[cid]["department_id"]))
    lost = metrics.lost_customers(policy_name=policy.name)
    return Computation(policy, as_of, kind.levels(config), customers, moves, changed, rows, lost)


def _current_grades(policy: GradingPolicy, facts: dict, *, with_digests: bool) -> tuple[dict, dict]:
    """The current rows of ``policy``'s name for the graded customers: customer → (grade, policy version,
    overridden), and (``with_digests``, PostgreSQL) customer → MD5 of its stored explanation without the previous
    grade as ``jsonb`` prints it, for the rows a run could leave as they are (this version, not overridden, no
    override reason, computed grade = grade): a run whose grade and canonical explanation text
    (``Graded.canonical_text``) hash the same skips the customer instead of staging it for the upsert to find
    it unchanged (``_row_differs`` — the same comparison, in SQL, for every row staged). A repeat run of a
    million customers then ships and compares only what changed."""
    if not with_digests:
        current = {cid: (g, pid, o) for cid, g, pid, o in CustomerGrade.objects.filter(policy_name=policy.name)
                   .values_list("customer_id", "grade", "policy_id", "overridden_until_run")
                   .iterator(chunk_size=10000) if cid in facts}
        return current, {}
    current, digests = {}, {}
    with connection.cursor() as cur:
        cur.execute("SELECT customer_id, grade, policy_id, overridden_until_run, CASE WHEN policy_id = %s AND NOT "
                    "overridden_until_run AND override_reason = '' AND computed_grade = grade THEN "
                    "decode(md5((explanation - 'previous_grade')::text), 'hex') END "
                    "FROM grading_customergrade WHERE policy_name = %s", [policy.pk, policy.name])
        while rows := cur.fetchmany(20000):
            for cid, grade, pid, overridden, digest in rows:
                if cid in facts:
                    current[cid] = (grade, pid, overridden)
                    if digest is not None:
                        digests[cid] = bytes(digest)
    return current, digests


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _explain_text(explain_one):
    def text_one(config, ctx, values, detail, final, prev) -> tuple[str, str]:
        explanation = explain_one(config, ctx, values, detail, final, prev)
        return _dumps(explanation), explanation.get("computed_grade", final)
    return text_one


def explanation_dict(explanation) -> dict:
    """A row's explanation as a mapping (``Computation.rows`` of a run hold the threshold and consecutive
    explanations as JSON text)."""
    return json.loads(explanation) if isinstance(explanation, str) else explanation


def _movement_list(comp: Computation) -> list[dict]:
    return [{"from": a, "to": b, "count": n}
            for (a, b), n in sorted(comp.movements().items(), key=lambda kv: (-kv[1], kv[0]))]


def run_preview(*, actor, policy_id: int, as_of: dt.date | None = None) -> dict:
    """What a run would do, written nowhere: how many customers move from which grade to which, and a sample."""
    require_manage(actor)
    policy = GradingPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such grading policy."))
    as_of = check_as_of(as_of)
    comp = compute(policy, as_of=as_of, explain="sample")
    names = dict(Customer.objects.filter(pk__in=[r[0] for r in comp.rows]).values_list("pk", "name"))
    sample = [{"customer_id": cid, "name": names.get(cid, ""), "from": prev or "", "to": grade,
               "explanation": explanation} for cid, grade, _computed, explanation, prev, _o, _d in comp.rows]
    return {"policy_id": policy.pk, "as_of": as_of, "customers": comp.customers, "changed": len(comp.changed),
            "lost": len(comp.lost), "movements": _movement_list(comp), "sample": sample}


def run_start(*, actor, policy_id: int, as_of: dt.date | None = None, trigger: str = RunTrigger.MANUAL) -> GradingRun:
    """Record a run of an active policy (status running); run_execute does the work (in the worker)."""
    require_manage(actor)
    as_of = check_as_of(as_of)
    with transaction.atomic():
        policy = _lock_policy(policy_id)
        if policy.state != PolicyState.ACTIVE:
            raise Conflict(_("Only the active version of a policy grades customers; activate it first."))
        run = GradingRun.objects.create(policy=policy, as_of=as_of, trigger=trigger,
                                        actor=actor if actor else None)
        audit_record(actor=actor, action="grading.run.start", obj=run,
                     changes={"policy": str(policy), "as_of": run.as_of.isoformat(), "trigger": trigger})
    return run


STEPS: dict[str, float] = {}  # seconds per step of the last run_execute in this process (bench/grading.py)


@contextmanager
def _step(name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        STEPS[name] = STEPS.get(name, 0.0) + time.perf_counter() - start


def run_execute(*, run_id: int) -> GradingRun:
    """Regrade every customer for a recorded run: current grades upserted and history written in batches,
    in one transaction; the run records its counts (or its error)."""
    run = GradingRun.objects.select_related("policy").get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return run
    STEPS.clear()
    try:
        with transaction.atomic():
            GradingPolicy.objects.select_for_update().filter(pk=run.policy_id).first()
            with _step("compute"):
                comp = compute(run.policy, as_of=run.as_of)
            changed = _write_grades(run, comp)
            run.customers = comp.customers
            run.changed = changed
            run.movements = {"items": _movement_list(comp)}
            run.status = RunStatus.DONE
            run.finished_at = timezone.now()
            run.save(update_fields=["customers", "changed", "movements", "status", "finished_at"])
            audit_record(actor=run.actor, action="grading.run.finish", obj=run,
                         changes={"customers": run.customers, "changed": run.changed})
            committing = time.perf_counter()
        STEPS["commit"] = time.perf_counter() - committing
    except Exception as exc:
        GradingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now(),
                                                    error=str(exc)[:2000])
        raise
    return run


ANALYZE_AFTER = 50_000  # rows written by one run
GRADE_COLUMNS = ("customer_id", "policy_name", "policy_id", "run_id", "grade", "previous_grade", "computed_grade",
                 "explanation", "graded_at", "override_reason", "overridden_until_run")
HISTORY_COLUMNS = ("customer_id", "policy_name", "policy_id", "run_id", "as_of", "grade", "previous_grade",
                   "movement", "department_id", "explanation", "reason", "actor_id", "created_at")
# What a run ships per written customer into its staging table; the run's constants (policy, run, dates, actor)
# are parameters of the INSERT … SELECT that writes the grade rows and, from the same staged rows, the history.
STAGE_COLUMNS = ("customer_id", "grade", "previous_grade", "computed_grade", "explanation", "override_reason",
                 "overridden_until_run", "movement", "department_id")
STAGE = "grading_stage"


def _write_grades(run: GradingRun, comp: Computation) -> int:
    """Write what changed, set-based: the grade rows of new and changed customers (and of expiring overrides or
    a new policy version) upserted, a history row per change, lost customers' rows removed. A customer whose
    grade holds keeps its row (the review that set the grade, its explanation and date).

    The written rows go once into a staging table (COPY on PostgreSQL); the grade rows are upserted and the
    history rows inserted from it with one ``INSERT … SELECT`` each, so an explanation is built and shipped
    once per customer."""
    now = timezone.now()
    policy = run.policy
    staged, notices = [], []
    department_of: dict[int, int | None] = {}  # of the changed customers, as the run read them
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    levels = comp.levels
    kept = keep_renewed_overrides(policy.name, comp)  # renewed overrides survive this one run (override_renew_*)
    started = time.perf_counter()
    for cid, grade, computed, explanation, previous, owner, dept in comp.rows:
        if previous != grade:
            movement = movement_of(levels, previous, grade)
            notices.append((owner, cid, previous or "", grade))
            department_of[cid] = dept
        else:
            movement = None
        text = explanation if isinstance(explanation, str) else dumps(explanation)
        staged.append((cid, grade, previous or "", computed, text, kept.get(cid, ""), cid in kept,
                       movement, dept))
    changed = len(notices)
    STEPS["stage_rows"] = time.perf_counter() - started
    if staged:
        _stage_and_write(run, staged, now)
    history = []
    lost_rule = dumps({"rule": "left_population"})
    for cid, grade, dept in comp.lost:
        history.append((cid, policy.name, policy.pk, run.pk, run.as_of, grade, grade, Movement.LOST, dept, lost_rule,
                        "", run.actor_id, now))
    with _step("lost"):
        for i in range(0, len(comp.lost), BATCH):
            CustomerGrade.objects.filter(policy_name=policy.name,
                                         customer_id__in=[c for c, _g, _d in comp.lost[i:i + BATCH]]).delete()
        _insert_history(history)
    if len(staged) + changed + len(history) >= ANALYZE_AFTER and connection.vendor == "postgresql":
        # A first run writes a row per customer: refresh the planner's statistics now, or the next customer
        # page plans for the empty table it last saw (a 1M-entry bitmap scan instead of the unique index).
        with _step("analyze"), connection.cursor() as cur:
            cur.execute("ANALYZE grading_customergrade, grading_gradehistory")
    if notices:
        with _step("notify"):
            notify.grade_changes(policy_name=policy.name, notices=notices, department_of=department_of)
    return changed


def _stage_and_write(run: GradingRun, staged: list[tuple], now) -> None:
    policy = run.policy
    update = ", ".join(f"{c} = excluded.{c}" for c in GRADE_COLUMNS if c not in ("customer_id", "policy_name"))
    grade_select = ("customer_id, %s, %s, %s, grade, previous_grade, computed_grade, explanation, %s, override_reason, "
                    "overridden_until_run")
    history_select = ("customer_id, %s, %s, %s, %s, grade, previous_grade, movement, department_id, explanation, '', "
                      "%s, %s")
    pg = connection.vendor == "postgresql"
    at = now if pg else connection.ops.adapt_datetimefield_value(now)
    day = run.as_of if pg else connection.ops.adapt_datefield_value(run.as_of)
    with connection.cursor() as cur:
        if pg:
            cur.execute(f"CREATE TEMP TABLE {STAGE} (customer_id bigint NOT NULL, grade varchar(40), "
                        "previous_grade varchar(40), computed_grade varchar(40), explanation jsonb, "
                        "override_reason text, overridden_until_run boolean, movement varchar(10), "
                        "department_id bigint) ON COMMIT DROP")
            with _step("copy"), cur.cursor.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
                for row in staged:
                    copy.write_row(row)
        else:
            cur.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")  # left by a failed run on this connection
            cur.execute(f"CREATE TEMP TABLE {STAGE} ({', '.join(STAGE_COLUMNS)})")
            sql = f"INSERT INTO {STAGE} VALUES ({', '.join(['%s'] * len(STAGE_COLUMNS))})"
            with _step("copy"):
                for i in range(0, len(staged), 50_000):
                    cur.executemany(sql, staged[i:i + 50_000])
        checking = time.perf_counter()
        with _foreign_keys_checked_in_bulk(cur, run, staged), _sqlite_cache(cur, len(staged)):
            STEPS["fk_check"] = time.perf_counter() - checking
            with _step("upsert"):
                cur.execute(f"INSERT INTO grading_customergrade ({', '.join(GRADE_COLUMNS)}) SELECT {grade_select} "
                            f"FROM {STAGE} WHERE true ON CONFLICT (customer_id, policy_name) DO UPDATE SET {update} "
                            f"WHERE {_row_differs(pg)}",
                            [policy.name, policy.pk, run.pk, at])
            with _step("history"):
                cur.execute(f"INSERT INTO grading_gradehistory ({', '.join(HISTORY_COLUMNS)}) SELECT "
                            f"{history_select} FROM {STAGE} WHERE movement IS NOT NULL ORDER BY customer_id",
                            [policy.name, policy.pk, run.pk, day, run.actor_id, at])
        cur.execute(f"DROP TABLE {STAGE}")


def _row_differs(pg: bool) -> str:
    """The upsert's condition: a customer's current row is rewritten only when its grade, computed grade,
    policy version, override or explanation changes — the explanation compared without its previous grade,
    which names the grade before the review that set the current one (a customer whose grade and reasons hold
    keeps the row, its run and its date, as the threshold and consecutive-period runs never stage it). A
    repeat ABC / RFM / scorecard run over the same numbers writes nothing."""
    table = "grading_customergrade"
    if pg:
        explanation = f"({table}.explanation - 'previous_grade') IS DISTINCT FROM (excluded.explanation - 'previous_grade')"
    else:
        explanation = (f"json_remove({table}.explanation, '$.previous_grade') IS NOT "
                       "json_remove(excluded.explanation, '$.previous_grade')")
    same = " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" if pg else f"{table}.{c} IS NOT excluded.{c}"
                       for c in ("grade", "computed_grade", "policy_id", "override_reason", "overridden_until_run"))
    return f"({same} OR {explanation})"


SQLITE_BULK_CACHE_KIB = 512 * 1024  # the page cache of a large run on SQLite (the connection's is 64 MiB)


@contextmanager
def _sqlite_cache(cur, rows: int):
    """On SQLite, a run writing 20k+ rows keeps the grade and history indexes it fills in a larger page cache
    for the two INSERT … SELECT, then gives the memory back."""
    if connection.vendor != "sqlite" or rows < BULK_FK_CHECK_AFTER:
        yield
        return
    cur.execute("PRAGMA cache_size")
    before = cur.fetchone()[0]
    cur.execute(f"PRAGMA cache_size = -{int(SQLITE_BULK_CACHE_KIB)}")
    try:
        yield
    finally:
        cur.execute(f"PRAGMA cache_size = {int(before)}")


BULK_FK_CHECK_AFTER = 20_000  # staged rows; below this PostgreSQL's own row-by-row checks are cheap enough


def _foreign_keys_checked_in_bulk(cur, run: GradingRun, staged: list):
    """A first run at 1M writes a grade and a history row per customer, about 8 deferred foreign-key checks per
    customer at COMMIT (customer, policy, run, department, actor): on PostgreSQL check them once, set-based
    (kehu.bulk_fk)."""
    common = {"policy_id": run.policy_id, "run_id": run.pk}
    return bulk_fk.foreign_keys_checked(cur, stage=STAGE, rows=len(staged), min_rows=BULK_FK_CHECK_AFTER,
                                        lock_tables=frozenset({"customers_customer"}), targets=[
        bulk_fk.Target("grading_customergrade", staged={"customer_id": "customer_id"}, values=common),
        bulk_fk.Target("grading_gradehistory", staged={"customer_id": "customer_id", "department_id": "department_id"},
                       values={**common, "actor_id": run.actor_id})])


def _insert_history(rows: list[tuple]) -> None:
    if not rows:
        return
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY grading_gradehistory ({', '.join(HISTORY_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = (f"INSERT INTO grading_gradehistory ({', '.join(HISTORY_COLUMNS)}) "
               f"VALUES ({', '.join(['%s'] * len(HISTORY_COLUMNS))})")
        at = connection.ops.adapt_datetimefield_value(rows[0][12])  # one run: one date, one time
        day = connection.ops.adapt_datefield_value(rows[0][4])
        for i in range(0, len(rows), 50_000):
            cur.executemany(sql, [(*r[:4], day, *r[5:12], at) for r in rows[i:i + 50_000]])


@transaction.atomic
def policy_activate_and_run(*, actor, policy_id: int, as_of: dt.date | None = None) -> GradingRun:
    """Activate a draft and start its first run (the worker executes it)."""
    as_of = check_as_of(as_of)
    policy_activate(actor=actor, policy_id=policy_id)
    return run_start(actor=actor, policy_id=policy_id, as_of=as_of, trigger=RunTrigger.ACTIVATION)


def schedule_due(*, today: dt.date | None = None) -> list[GradingRun]:
    """Runs for every active policy whose last run is KEHU_GRADING_SCHEDULE_MONTHS old (quarterly = 3,
    half-yearly = 6; 0 = off). Started by the worker's periodic task."""
    months = int(getattr(settings, "KEHU_GRADING_SCHEDULE_MONTHS", 3))
    if months <= 0:
        return []
    today = today or timezone.localdate()
    if (today.month - 1) % months != 0:
        return []
    as_of = default_as_of(today)
    started = []
    for policy in GradingPolicy.objects.filter(state=PolicyState.ACTIVE):
        if GradingRun.objects.filter(policy__name=policy.name, as_of=as_of, status__in=[
                RunStatus.RUNNING, RunStatus.DONE]).exists():
            continue
        started.append(run_start(actor=None, policy_id=policy.pk, as_of=as_of, trigger=RunTrigger.SCHEDULE))
    return started


# ---------------------------------------------------------------- differentiated service per grade

SERVICE_FIGURES = ("complaint_sla_working_days", "service_request_sla_working_days", "inspection_cycle_days",
                   "visit_every_days")


@transaction.atomic
def service_policy_set(*, actor, policy_name: str, grade: str, dedicated_manager: bool = False,
                       complaint_sla_working_days: int | None = None,
                       service_request_sla_working_days: int | None = None,
                       inspection_cycle_days: int | None = None, visit_every_days: int | None = None,
                       response_priority: int = 3, resource_priority: int = 3) -> ServicePolicy:
    """Set what a grade earns (create or replace)."""
    require_manage(actor)
    fields: dict[str, list[str]] = {}
    policy_name = (policy_name or "").strip()
    grade = (grade or "").strip()
    if not policy_name or len(policy_name) > MAX_NAME:
        fields["policy_name"] = [_("Give the policy a name of 1 to 100 characters.")]
    if not grade or len(grade) > 40:
        fields["grade"] = [_("Each grade needs a name of 1 to 40 characters.")]
    figures = {"complaint_sla_working_days": complaint_sla_working_days,
               "service_request_sla_working_days": service_request_sla_working_days,
               "inspection_cycle_days": inspection_cycle_days, "visit_every_days": visit_every_days}
    for key, value in figures.items():
        if value is not None and not (isinstance(value, int) and 1 <= value <= 3660):
            fields[key] = [_("Enter a whole number from 1 to %(max)s, or leave it empty.") % {"max": 3660}]
    for key, value in (("response_priority", response_priority), ("resource_priority", resource_priority)):
        if not (isinstance(value, int) and 1 <= value <= 9):
            fields[key] = [_("Enter a priority from 1 (first) to 9.")]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    row, created = ServicePolicy.objects.update_or_create(
        policy_name=policy_name, grade=grade,
        defaults={"dedicated_manager": bool(dedicated_manager), "response_priority": response_priority,
                  "resource_priority": resource_priority, **figures})
    audit_record(actor=actor, action="grading.service_policy.set", obj=row,
                 changes={"created": created, "dedicated_manager": row.dedicated_manager, **figures,
                          "response_priority": response_priority, "resource_priority": resource_priority})
    return row


@transaction.atomic
def service_policy_delete(*, actor, service_policy_id: int) -> None:
    require_manage(actor)
    row = ServicePolicy.objects.select_for_update().filter(pk=service_policy_id).first()
    if row is None:
        raise NotFound(_("No such service policy."))
    audit_record(actor=actor, action="grading.service_policy.delete", obj=row)
    row.delete()


# ---------------------------------------------------------------- manual override (人工调整), approved

OVERRIDE_CHAIN = "grade_override"


def override_request(*, actor, customer_id: int, policy_name: str, grade: str, reason: str):
    """Ask to set a customer's grade by hand, with a reason; it holds from approval until the next review."""
    from kehu.approvals.services import approval_request
    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, customer_id=customer_id)
    if not actor.has_kehu_perm(Perm.CUSTOMER_WRITE):
        raise Forbidden(_("You may not change this customer."))
    reason = (reason or "").strip()
    fields: dict[str, list[str]] = {}
    if not reason or len(reason) > 500:
        fields["reason"] = [_("Give the reason for the override (at most 500 characters).")]
    current = CustomerGrade.objects.filter(customer_id=customer.pk, policy_name=policy_name).select_related(
        "policy").first()
    if current is None:
        raise NotFound(_("This customer has no grade under this policy yet."))
    levels = KINDS[current.policy.kind].levels(KINDS[current.policy.kind].validate(current.policy.config))
    if grade not in levels:
        fields["grade"] = [_("Choose one of: %(choices)s.") % {"choices": "、".join(levels)}]
    elif grade == current.grade:
        fields["grade"] = [_("The customer already has this grade.")]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    return approval_request(
        actor=actor, chain_code=OVERRIDE_CHAIN, target=current,
        title=_("Grade override: %(customer)s %(before)s → %(after)s")
        % {"customer": customer.name, "before": current.grade, "after": grade},
        payload={"grade": grade, "reason": reason, "from": current.grade, "run_id": current.run_id})


def override_apply(*, request) -> CustomerGrade:
    """Called in the approval's transaction: set the grade, record the history (movement: override); a
    renewal (payload kind "renew") marks the override to survive the next run instead."""
    payload = request.payload or {}
    if payload.get("kind") == "renew":
        return override_renew_apply(request=request)
    row = CustomerGrade.objects.select_for_update().select_related("customer").get(pk=int(request.object_id))
    if row.run_id != payload.get("run_id"):
        raise Conflict(_("The customer was regraded since the override was asked; ask again."))
    before = row.grade
    row.previous_grade, row.grade = before, payload["grade"]
    row.override_reason = payload["reason"][:500]
    row.overridden_until_run = True
    row.graded_at = timezone.now()
    row.explanation = {k: v for k, v in (row.explanation or {}).items() if k != RENEWAL}  # a new override starts over
    row.save(update_fields=["previous_grade", "grade", "override_reason", "overridden_until_run", "graded_at",
                            "explanation"])
    GradeHistory.objects.create(customer_id=row.customer_id, policy_name=row.policy_name, policy_id=row.policy_id,
                                run_id=row.run_id, as_of=timezone.localdate(), grade=row.grade,
                                previous_grade=before, movement=Movement.OVERRIDE,
                                department_id=row.customer.department_id, reason=row.override_reason,
                                explanation={"rule": "manual_override", "reason": row.override_reason,
                                             "previous_grade": before, "approval_request": request.pk},
                                actor=request.requester)
    audit_record(actor=request.requester, action="grading.override.apply", obj=row,
                 changes={"from": before, "to": row.grade, "reason": row.override_reason})
    return row


# ---------------------------------------------------------------- override renewal (续期)
# An approved override holds until the next run. A renewal, approved through the same chain, marks it
# (``explanation["renewal"]``) so that the next run keeps the overridden grade — recording the computed
# grade and the renewal in the explanation — and clears the mark: the run after expires it again unless
# it is renewed again.

RENEWAL = "renewal"


def override_renew_request(*, actor, customer_id: int, policy_name: str, reason: str):
    """Ask to keep an overridden grade through the next review, with a reason (approval chain grade_override)."""
    from kehu.approvals.services import approval_request
    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, customer_id=customer_id)
    if not actor.has_kehu_perm(Perm.CUSTOMER_WRITE):
        raise Forbidden(_("You may not change this customer."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise Invalid(_("Give the reason for the renewal (at most 500 characters)."),
                      fields={"reason": [_("Give the reason for the renewal (at most 500 characters).")]})
    current = CustomerGrade.objects.filter(customer_id=customer.pk, policy_name=policy_name).first()
    if current is None:
        raise NotFound(_("This customer has no grade under this policy yet."))
    if not current.overridden_until_run:
        raise Conflict(_("Only a grade set by a manual override can be renewed."), code="not_overridden")
    if RENEWAL in (current.explanation or {}):
        raise Conflict(_("This override is already renewed through the next review."), code="already_renewed")
    return approval_request(
        actor=actor, chain_code=OVERRIDE_CHAIN, target=current,
        title=_("Grade override renewal: %(customer)s %(grade)s") % {"customer": customer.name,
                                                                      "grade": current.grade},
        payload={"kind": "renew", "grade": current.grade, "reason": reason, "run_id": current.run_id})


def override_renew_apply(*, request) -> CustomerGrade:
    """Called in the approval's transaction: mark the override to survive the next run."""
    row = CustomerGrade.objects.select_for_update().select_related("customer").get(pk=int(request.object_id))
    payload = request.payload or {}
    if row.run_id != payload.get("run_id") or not row.overridden_until_run or row.grade != payload.get("grade"):
        raise Conflict(_("The customer was regraded since the renewal was asked; ask again."))
    now = timezone.now()
    renewal = {"reason": payload["reason"][:500], "approval_request": request.pk,
               "requested_by": request.requester.get_username() if request.requester else "",
               "approved_at": now.isoformat()}
    row.explanation = {**(row.explanation or {}), RENEWAL: renewal}
    row.save(update_fields=["explanation"])
    GradeHistory.objects.create(customer_id=row.customer_id, policy_name=row.policy_name, policy_id=row.policy_id,
                                run_id=row.run_id, as_of=timezone.localdate(), grade=row.grade,
                                previous_grade=row.grade, movement=Movement.SAME,
                                department_id=row.customer.department_id, reason=renewal["reason"],
                                explanation={"rule": "override_renewed", "reason": renewal["reason"],
                                             "approval_request": request.pk},
                                actor=request.requester)
    audit_record(actor=request.requester, action="grading.override.renew", obj=row,
                 changes={"grade": row.grade, "reason": renewal["reason"]})
    return row


def keep_renewed_overrides(policy_name: str, comp: Computation) -> dict[int, str]:
    """The "keep" rule of a run: every renewed override of ``policy_name`` whose customer is graded and
    whose grade is still a level of the policy keeps its grade this run (``comp.rows`` — where every
    overridden customer is, its row being rewritten — and the movement counts are changed in place; the
    explanation records the computed grade and the renewal). One query; returns customer → override reason
    for the rows to write as still overridden (without the renewal: it is used up)."""
    renewed = {cid: (grade, reason, explanation) for cid, grade, reason, explanation in CustomerGrade.objects.filter(
        policy_name=policy_name, overridden_until_run=True, explanation__has_key=RENEWAL).values_list(
        "customer_id", "grade", "override_reason", "explanation")}
    kept: dict[int, str] = {}
    if not renewed:
        return kept
    for i, (cid, final, _computed, explanation, prev, owner, dept) in enumerate(comp.rows):
        if cid not in renewed or renewed[cid][0] not in comp.levels:
            continue
        grade, reason, old = renewed[cid]
        computed = {k: v for k, v in explanation_dict(explanation).items() if k != RENEWAL}
        computed.setdefault("computed_grade", final)
        computed["kept_override"] = {"grade": grade, "computed_grade": final, "reason": reason,
                                     "renewal": (old or {}).get(RENEWAL)}
        comp.rows[i] = (cid, grade, computed["computed_grade"], computed, prev, owner, dept)
        was, now = (prev or "", final), (prev or "", grade)
        comp.moves[was] -= 1
        if not comp.moves[was]:
            del comp.moves[was]
        comp.moves[now] = comp.moves.get(now, 0) + 1
        if (prev != final) != (prev != grade):
            if prev != grade:
                bisect.insort(comp.changed, cid)
            else:
                comp.changed.remove(cid)
        kept[cid] = reason
    return kept


def schedule_months() -> int:
    return int(getattr(settings, "KEHU_GRADING_SCHEDULE_MONTHS", 3))


def next_review_date(today: dt.date | None = None) -> dt.date | None:
    """The date of the next scheduled review (schedule_due's months), or None when reviews are on demand only."""
    months = schedule_months()
    if months <= 0:
        return None
    day = (today or timezone.localdate()).replace(day=1)
    while True:
        day = (day + dt.timedelta(days=32)).replace(day=1)
        if (day.month - 1) % months == 0:
            return day


def override_expiry(row: CustomerGrade, today: dt.date | None = None) -> dict | None:
    """When an overridden grade expires: at the next review, or (renewed) at the review after it."""
    if not row.overridden_until_run:
        return None
    renewed = RENEWAL in (row.explanation or {})
    nxt = next_review_date(today)
    if nxt is not None and renewed:
        nxt = next_review_date(nxt)
    return {"renewed": renewed, "renewal": (row.explanation or {}).get(RENEWAL), "review": nxt,
            "runs_left": 2 if renewed else 1}


# ---------------------------------------------------------------- hand scores (人工评分)

HAND_KINDS = ("scorecard", "key_account")


def hand_dimensions() -> list[dict]:
    """The dimensions scored by hand (source "manual") of the active scorecard and key-account policies,
    in the order they are configured: ``{"key", "group", "policies": [names]}``."""
    dims: dict[str, dict] = {}
    for policy in GradingPolicy.objects.filter(state=PolicyState.ACTIVE, kind__in=HAND_KINDS).order_by("name"):
        for dim in (policy.config or {}).get("dimensions") or []:
            if isinstance(dim, dict) and dim.get("source") == "manual" and isinstance(dim.get("key"), str):
                item = dims.setdefault(dim["key"], {"key": dim["key"], "group": str(dim.get("group") or ""),
                                                    "policies": []})
                item["policies"].append(policy.name)
    return list(dims.values())


def _score_text(value) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@transaction.atomic
def hand_score_set(*, actor, customer_id: int, dimension: str, score, note: str = "") -> HandScore:
    """Score one hand-scored dimension of a customer 0–100 (the latest score counts); audited with the
    score before, so the audit log is the history of every change."""
    from decimal import Decimal, InvalidOperation

    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, customer_id=customer_id)
    if not actor.has_kehu_perm(Perm.CUSTOMER_WRITE):
        raise Forbidden(_("You may not change this customer."))
    fields: dict[str, list[str]] = {}
    known = {d["key"] for d in hand_dimensions()}
    if dimension not in known:
        fields["dimension"] = [_("No active scorecard policy scores this dimension by hand.")]
    try:
        value = Decimal(str(score)) if score is not None and not isinstance(score, bool) else None
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 100 or value != round(value, 2):
        fields["score"] = [_("Enter a score from 0 to 100 (at most two decimals).")]
    note = (note or "").strip()
    if len(note) > 200:
        fields["note"] = [_("At most 200 characters.")]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    row = HandScore.objects.select_for_update().filter(customer_id=customer.pk, dimension=dimension).first()
    before = _score_text(row.score) if row else None
    if row is None:
        row = HandScore(customer_id=customer.pk, dimension=dimension)
    row.score, row.note, row.scored_by = value, note, actor
    row.save()
    audit_record(actor=actor, action="grading.hand_score.set", obj=customer,
                 changes={"dimension": dimension, "from": before, "to": _score_text(value), "note": note})
    return row
