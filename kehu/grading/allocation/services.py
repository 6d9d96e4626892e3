"""Every write of resource allocation: monthly plans (enter, edit, delete, import) and rounds (create,
edit while a draft, compute the preview, confirm, delete a draft). Each takes the acting user first, checks
Perm.ALLOCATION_MANAGE (plans also the customer's scope), runs in one transaction and writes its audit
entry in it. A confirmed round is immutable, and so are the plans it allocated (409)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.gates import Action, refusal
from kehu.customers.selectors import customer_base
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.grading.allocation import allocate, inputs
from kehu.grading.allocation.models import (
    AllocationRound,
    AllocationShare,
    ParticipantType,
    RoundState,
    SalesPlan,
)

MAX_QUANTITY = Decimal("9999999999999.999")
MAX_IMPORT_ROWS = 5_000
TONNE = Decimal("0.001")


def config() -> dict:
    """The allocation defaults (settings.KEHU_ALLOCATION over the built-in ones)."""
    base = {"class_order": ["direct", "exclusive_agent", "dealer"],
            "weights": {"review": "0.40", "completion": "0.35", "regularity": "0.25"},
            "lookback_months": 3, "unit_t": "0.001", "default_review_score": "60",
            "default_completion": "0.5", "default_regularity": "0.5"}
    return {**base, **getattr(settings, "KEHU_ALLOCATION", {})}


def require_manage(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.ALLOCATION_MANAGE):
        raise Forbidden(_("Only a sales manager or an administrator may manage resource allocation."))


# ---------------------------------------------------------------- cleaning

def parse_month(value) -> dt.date | None:
    """A month as a date on its first day, from a date or "YYYY-MM" / "YYYY-MM-DD" / "YYYY年M月"."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = re.fullmatch(r"(\d{4})\s*(?:-|/|年)\s*(\d{1,2})(?:\s*(?:-|/|月)\s*(\d{1,2})?\s*日?)?", text)
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return None


def _quantity(value, errors: dict, name: str, *, required: bool, positive: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors[name] = [_("This field is required.")]
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[name] = [_("Enter a number of tonnes, e.g. 1200.5.")]
        return None
    if not number.is_finite() or number.as_tuple().exponent < -3:
        errors[name] = [_("Enter at most three decimals (kilograms).")]
        return None
    if number > MAX_QUANTITY:
        errors[name] = [_("The quantity is too large.")]
        return None
    if positive and number <= 0:
        errors[name] = [_("The planned quantity must be above 0 t.")]
        return None
    if number < 0:
        errors[name] = [_("The capacity cannot be negative.")]
        return None
    return number


TYPE_WORDS = {"直销": "direct", "直销客户": "direct", "独家代理": "exclusive_agent", "独家代理商": "exclusive_agent",
              "代理": "exclusive_agent", "代理商": "exclusive_agent", "经销": "dealer", "经销商": "dealer"}


def declared_types(customer_ids) -> dict[int, str]:
    """customer → the participant type declared at account opening (qualification.CustomerQualification
    .customer_type, whose codes direct / exclusive_agent / dealer are ParticipantType's), for those that have one."""
    from kehu.qualification.models import CustomerQualification

    ids = [i for i in customer_ids if i is not None]
    if not ids:
        return {}
    return {cid: code for cid, code in CustomerQualification.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "customer_type__code") if code in ParticipantType.values}


def clean_plan(data: dict, *, actor, partial_of: SalesPlan | None = None,
               declared: dict[int, str] | None = None) -> tuple[dict, dict]:
    """The plan's fields cleaned, and the errors per field (customer in the actor's scope). A new plan without a
    participant type takes the type declared for the customer at account opening (``declared``: those already
    looked up, as ``declared_types`` gives them; else one query)."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if partial_of is None:
        raw = data.get("customer")
        pk = int(raw) if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()) else None
        found = customer_base(actor=actor).filter(pk=pk).first() if pk is not None and 0 < pk < 2**63 else None
        if found is None:
            errors["customer"] = [_("Choose a customer in your scope.")]
        elif (err := refusal(found, Action.ALLOCATION)) is not None:
            # 准入 / 暂停业务往来: no plan (and so no allocation) for a customer business is refused for.
            errors["customer"] = [err.message]
        values["customer_id"] = pk
    month = parse_month(data.get("month") if "month" in data or partial_of is None else partial_of.month)
    if month is None:
        errors["month"] = [_("Enter a month as YYYY-MM.")]
    values["month"] = month
    line = data.get("product_line", partial_of.product_line if partial_of else "")
    line = line.strip() if isinstance(line, str) else ""
    if not line or len(line) > 100:
        errors["product_line"] = [_("Give the product line (1 to 100 characters).")]
    values["product_line"] = line
    ptype = data.get("participant_type", partial_of.participant_type if partial_of else None)
    ptype = TYPE_WORDS.get(ptype.strip(), ptype.strip()) if isinstance(ptype, str) else ptype
    if partial_of is None and ptype in (None, "") and "customer" not in errors:
        pk = values["customer_id"]
        ptype = (declared if declared is not None else declared_types([pk])).get(pk, ptype)
    if ptype not in ParticipantType.values:
        errors["participant_type"] = [_("Choose direct customer, exclusive agent or dealer.")]
    values["participant_type"] = ptype
    values["quantity_t"] = _quantity(data.get("quantity_t", partial_of.quantity_t if partial_of else None),
                                     errors, "quantity_t", required=True, positive=True)
    values["capacity_t"] = _quantity(data.get("capacity_t", partial_of.capacity_t if partial_of else None),
                                     errors, "capacity_t", required=False, positive=False)
    note = data.get("pickup_note", partial_of.pickup_note if partial_of else "") or ""
    if not isinstance(note, str) or len(note) > 200:
        errors["pickup_note"] = [_("At most 200 characters.")]
    values["pickup_note"] = note.strip() if isinstance(note, str) else ""
    return values, errors


def _raise(errors: dict) -> None:
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


def _refuse_if_confirmed(month: dt.date, product_line: str) -> None:
    if AllocationRound.objects.filter(month=month, product_line=product_line, state=RoundState.CONFIRMED).exists():
        raise Conflict(_("The allocation of %(month)s for %(line)s is confirmed: its plans can no longer change.")
                       % {"month": month.strftime("%Y-%m"), "line": product_line})


def _plan_for_update(*, actor, plan_id: int) -> SalesPlan:
    from kehu.grading.allocation.selectors import plan_base

    plan = plan_base(actor=actor).select_for_update(of=("self",)).filter(pk=plan_id).first() \
        if 0 < plan_id < 2**63 else None
    if plan is None:
        raise NotFound(_("Plan not found."))
    return plan


def _plan_changes(plan: SalesPlan) -> dict:
    return {"month": plan.month.strftime("%Y-%m"), "product_line": plan.product_line,
            "participant_type": plan.participant_type, "quantity_t": str(plan.quantity_t),
            "capacity_t": None if plan.capacity_t is None else str(plan.capacity_t)}


# ---------------------------------------------------------------- plans

@transaction.atomic
def plan_create(*, actor, data: dict) -> SalesPlan:
    """A participant's plan for a month and product line (one per customer, month and line)."""
    require_manage(actor)
    values, errors = clean_plan(data, actor=actor)
    _raise(errors)
    _refuse_if_confirmed(values["month"], values["product_line"])
    if SalesPlan.objects.filter(customer_id=values["customer_id"], month=values["month"],
                                product_line=values["product_line"]).exists():
        raise Invalid(_("This customer already has a plan for this month and product line; edit it instead."),
                      fields={"month": [_("Already planned.")]})
    try:
        with transaction.atomic():
            plan = SalesPlan.objects.create(submitted_by=actor, **values)
    except IntegrityError:
        raise Conflict(_("The same plan was saved at the same time; reload and try again.")) from None
    audit_record(actor=actor, action="allocation.plan.create", obj=plan, changes=_plan_changes(plan))
    return plan


@transaction.atomic
def plan_update(*, actor, plan_id: int, data: dict) -> SalesPlan:
    """Change a plan's quantity, capacity, type or pickup time (its customer stays)."""
    require_manage(actor)
    plan = _plan_for_update(actor=actor, plan_id=plan_id)
    _refuse_if_confirmed(plan.month, plan.product_line)
    values, errors = clean_plan(data, actor=actor, partial_of=plan)
    _raise(errors)
    _refuse_if_confirmed(values["month"], values["product_line"])
    before = _plan_changes(plan)
    for key, value in values.items():
        setattr(plan, key, value)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError:
        raise Invalid(_("This customer already has a plan for this month and product line; edit it instead."),
                      fields={"month": [_("Already planned.")]}) from None
    after = _plan_changes(plan)
    audit_record(actor=actor, action="allocation.plan.update", obj=plan,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return plan


@transaction.atomic
def plan_delete(*, actor, plan_id: int) -> None:
    """Withdraw a plan (not one a confirmed round allocated); draft rounds lose its share."""
    require_manage(actor)
    plan = _plan_for_update(actor=actor, plan_id=plan_id)
    _refuse_if_confirmed(plan.month, plan.product_line)
    changes = _plan_changes(plan)
    audit_record(actor=actor, action="allocation.plan.delete", obj=plan, changes=changes)
    AllocationShare.objects.filter(plan=plan).delete()
    plan.delete()


PLAN_COLUMNS = {
    "customer_id": ("客户编号", "客户id", "customerid", "customer_id"),
    "customer": ("客户名称", "客户", "公司名称", "customer", "customername"),
    "month": ("月份", "计划月份", "month"),
    "product_line": ("产品线", "产品", "品种", "productline", "product_line", "product"),
    "participant_type": ("客户类型", "类型", "participanttype", "participant_type", "type"),
    "quantity_t": ("计划量", "计划数量", "销售数量", "计划量(吨)", "quantity", "quantity_t", "plan"),
    "capacity_t": ("产能", "最大提货量", "capacity", "capacity_t"),
    "pickup_note": ("提货时间", "pickup", "pickup_note"),
}


def _norm(text: str) -> str:
    return re.sub(r"[\s*＊:：]|[(（]\s*(必填|选填|吨|t)\s*[)）]", "", str(text)).lower()


@transaction.atomic
def plan_import(*, actor, file_name: str, content: bytes, dry_run: bool = False) -> dict:
    """Plans from a CSV/XLSX file, one row per customer, month and product line: new plans are created,
    existing ones updated. All or nothing: any invalid row refuses the file (422, each row's errors)."""
    from kehu.imports import parsing

    require_manage(actor)
    with tempfile.NamedTemporaryFile(suffix=Path(file_name or "plans.csv").suffix or ".csv") as fh:
        fh.write(content)
        fh.flush()
        info = parsing.inspect(Path(fh.name), file_name or "plans.csv", preview_rows=0)
        aliases = {_norm(a): key for key, names in PLAN_COLUMNS.items() for a in names}
        mapping: dict[str, int] = {}
        for i, header in enumerate(info.headers):
            key = aliases.get(_norm(header))
            if key and key not in mapping:
                mapping[key] = i
        # The type may be left out: each plan then takes the customer's type declared at account opening.
        missing = [c for c in ("month", "product_line", "quantity_t") if c not in mapping]
        if not ({"customer_id", "customer"} & set(mapping)):
            missing.insert(0, "customer")
        if missing:
            message = _("Columns missing: %(c)s.") % {"c": ", ".join(missing)}
            raise Invalid(message, fields={"file": [message]})
        rows = list(parsing.iter_data_rows(Path(fh.name), info))
    if len(rows) > MAX_IMPORT_ROWS:
        message = _("At most %(n)d rows per file.") % {"n": MAX_IMPORT_ROWS}
        raise Invalid(message, fields={"file": [message]})
    base = customer_base(actor=actor)
    names = {}
    wanted = {parsing.cell_text(r[mapping["customer"]]) for _n, r in rows
              if "customer" in mapping and mapping["customer"] < len(r)}
    for pk, name in base.filter(name__in=wanted).values_list("pk", "name"):
        names[name] = None if name in names else pk  # an ambiguous name finds nobody
    row_errors: list[dict] = []
    cleaned: list[dict] = []
    seen: set[tuple] = set()
    ids = set()
    for _n, row in rows:
        i = mapping.get("customer_id")
        raw = parsing.cell_text(row[i]) if i is not None and i < len(row) else ""
        named = parsing.cell_text(row[mapping["customer"]]) if "customer" in mapping and mapping["customer"] < len(
            row) else ""
        raw = raw or (named if named.isdigit() else str(names.get(named) or ""))
        if raw.isdigit() and 0 < int(raw) < 2**63:
            ids.add(int(raw))
    declared = declared_types(base.filter(pk__in=ids).values_list("pk", flat=True)) if ids else {}
    for number, row in rows:
        def cell(key, row=row):
            i = mapping.get(key)
            return parsing.cell_text(row[i]) if i is not None and i < len(row) else ""
        named = cell("customer")
        customer = cell("customer_id") or (named if named.isdigit() else str(names.get(named) or ""))
        values, errors = clean_plan({"customer": customer, "month": cell("month"), "product_line": cell("product_line"),
                                     "participant_type": cell("participant_type"), "quantity_t": cell("quantity_t"),
                                     "capacity_t": cell("capacity_t"), "pickup_note": cell("pickup_note")},
                                    actor=actor, declared=declared)
        key = (values.get("customer_id"), values.get("month"), values.get("product_line"))
        if not errors:
            if key in seen:
                errors["month"] = [_("The same customer, month and product line appear twice in the file.")]
            elif AllocationRound.objects.filter(month=key[1], product_line=key[2],
                                                state=RoundState.CONFIRMED).exists():
                errors["month"] = [_("The allocation of this month and product line is confirmed.")]
        seen.add(key)
        if errors:
            row_errors.append({"row": number, "errors": [f"{k}: {m}" for k, ms in errors.items() for m in ms]})
        else:
            cleaned.append(values)
    if row_errors:
        message = _("%(n)d rows are not valid; nothing was imported.") % {"n": len(row_errors)}
        raise Invalid(message, fields={f"row {e['row']}": e["errors"] for e in row_errors[:200]})
    existing = {(p.customer_id, p.month, p.product_line): p for p in SalesPlan.objects.select_for_update().filter(
        customer_id__in={v["customer_id"] for v in cleaned}, month__in={v["month"] for v in cleaned})}
    created = updated = 0
    if not dry_run:
        new = []
        for values in cleaned:
            plan = existing.get((values["customer_id"], values["month"], values["product_line"]))
            if plan is None:
                new.append(SalesPlan(submitted_by=actor, **values))
                created += 1
            else:
                for key in ("participant_type", "quantity_t", "capacity_t", "pickup_note"):
                    setattr(plan, key, values[key])
                plan.save()
                updated += 1
        SalesPlan.objects.bulk_create(new)
        audit_record(actor=actor, action="allocation.plan.import", object_type="allocation.salesplan",
                     object_repr=(file_name or "")[:200], changes={"created": created, "updated": updated})
    else:
        created = sum(1 for v in cleaned if (v["customer_id"], v["month"], v["product_line"]) not in existing)
        updated = len(cleaned) - created
    return {"rows": len(rows), "created": created, "updated": updated, "dry_run": dry_run}


# ---------------------------------------------------------------- rounds

def _weight(value, errors: dict, name: str) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[name] = [_("Enter a weight from 0 to 1.")]
        return None
    if not number.is_finite() or not 0 <= number <= 1 or number.as_tuple().exponent < -3:
        errors[name] = [_("Enter a weight from 0 to 1 (at most three decimals).")]
        return None
    return number


def clean_round(data: dict, *, current: AllocationRound | None = None) -> dict:
    cfg = config()
    errors: dict[str, list[str]] = {}
    out: dict = {}
    if current is None:
        out["month"] = parse_month(data.get("month"))
        if out["month"] is None:
            errors["month"] = [_("Enter a month as YYYY-MM.")]
        line = data.get("product_line")
        line = line.strip() if isinstance(line, str) else ""
        if not line or len(line) > 100:
            errors["product_line"] = [_("Give the product line (1 to 100 characters).")]
        out["product_line"] = line
    available = data.get("available_t", current.available_t if current else None)
    out["available_t"] = _quantity(available, errors, "available_t", required=True, positive=False)
    for key in ("review", "completion", "regularity"):
        name = f"weight_{key}"
        default = getattr(current, name) if current else cfg["weights"][key]
        value = data.get(name)
        out[name] = _weight(default if value in (None, "") else value, errors, name)
    if all(out.get(f"weight_{k}") is not None for k in ("review", "completion", "regularity")):
        total = out["weight_review"] + out["weight_completion"] + out["weight_regularity"]
        if total != 1:
            errors["weight_review"] = [_("The three weights add up to %(total)s; they must add up to 1.")
                                       % {"total": total}]
    lookback = data.get("lookback_months")
    lookback = (current.lookback_months if current else cfg["lookback_months"]) if lookback in (None, "") else lookback
    try:
        lookback = int(lookback)
        if not 1 <= lookback <= 24:
            raise ValueError
    except (TypeError, ValueError):
        errors["lookback_months"] = [_("Look back 1 to 24 months.")]
    out["lookback_months"] = lookback
    note = data.get("note", current.note if current else "") or ""
    if not isinstance(note, str) or len(note) > 500:
        errors["note"] = [_("At most 500 characters.")]
    out["note"] = note if isinstance(note, str) else ""
    _raise(errors)
    return out


def _round_for_update(round_id: int) -> AllocationRound:
    rnd = AllocationRound.objects.select_for_update().filter(pk=round_id).first() if 0 < round_id < 2**63 else None
    if rnd is None:
        raise NotFound(_("Allocation round not found."))
    return rnd


def _refuse_confirmed(rnd: AllocationRound) -> None:
    if rnd.state == RoundState.CONFIRMED:
        raise Conflict(_("This allocation is confirmed and can no longer change."))


@transaction.atomic
def round_create(*, actor, data: dict) -> AllocationRound:
    """A draft round for a month and product line, with the default weights unless given."""
    require_manage(actor)
    values = clean_round(data)
    if AllocationRound.objects.filter(month=values["month"], product_line=values["product_line"],
                                      state=RoundState.CONFIRMED).exists():
        raise Conflict(_("The allocation of %(month)s for %(line)s is already confirmed.")
                       % {"month": values["month"].strftime("%Y-%m"), "line": values["product_line"]})
    rnd = AllocationRound.objects.create(class_order=list(config()["class_order"]), created_by=actor, **values)
    audit_record(actor=actor, action="allocation.round.create", obj=rnd,
                 changes={"available_t": str(rnd.available_t), "weights": _weights(rnd)})
    return rnd


def _weights(rnd: AllocationRound) -> dict:
    return {"review": str(rnd.weight_review), "completion": str(rnd.weight_completion),
            "regularity": str(rnd.weight_regularity)}


@transaction.atomic
def round_update(*, actor, round_id: int, data: dict) -> AllocationRound:
    """Change a draft's available quantity, weights, look-back or note; its preview is cleared."""
    require_manage(actor)
    rnd = _round_for_update(round_id)
    _refuse_confirmed(rnd)
    values = clean_round(data, current=rnd)
    before = {"available_t": str(rnd.available_t), "weights": _weights(rnd), "lookback_months": rnd.lookback_months}
    for key, value in values.items():
        setattr(rnd, key, value)
    rnd.computed_at, rnd.inputs_digest, rnd.summary = None, "", {}
    rnd.total_plan_t = rnd.total_allocated_t = Decimal(0)
    rnd.save()
    rnd.shares.all().delete()
    after = {"available_t": str(rnd.available_t), "weights": _weights(rnd), "lookback_months": rnd.lookback_months}
    audit_record(actor=actor, action="allocation.round.update", obj=rnd,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return rnd


@transaction.atomic
def round_delete(*, actor, round_id: int) -> None:
    require_manage(actor)
    rnd = _round_for_update(round_id)
    _refuse_confirmed(rnd)
    audit_record(actor=actor, action="allocation.round.delete", obj=rnd, changes={})
    rnd.delete()


def _plans_of(rnd: AllocationRound) -> list[SalesPlan]:
    # Only active customers share the resources: a plan of a customer pending admission, suspended or
    # disqualified is left out of the round (excluded_plans tells which and why).
    return list(SalesPlan.objects.filter(month=rnd.month, product_line=rnd.product_line,
                                         customer__deleted_at__isnull=True, customer__status="active").order_by("id"))


def excluded_plans(rnd: AllocationRound) -> list[dict]:
    """The plans of this round's month and line left out because business with the customer is refused, each
    with the customer's status and the reason (kehu.customers.gates)."""
    out = []
    for plan in SalesPlan.objects.filter(month=rnd.month, product_line=rnd.product_line,
                                         customer__deleted_at__isnull=True).exclude(
            customer__status="active").select_related("customer").order_by("id")[:200]:
        err = refusal(plan.customer, Action.ALLOCATION)
        out.append({"plan": plan.pk, "customer": plan.customer_id, "status": plan.customer.status,
                    "code": err.code if err else "", "reason": err.message if err else ""})
    return out


def _digest(rnd: AllocationRound, plans: list[SalesPlan]) -> str:
    text = "|".join(f"{p.pk}:{p.customer_id}:{p.participant_type}:{p.quantity_t}:{p.capacity_t}" for p in plans)
    text += f"|{rnd.available_t}|{_weights(rnd)}|{rnd.lookback_months}|{rnd.class_order}"
    return hashlib.sha256(text.encode()).hexdigest()


def _compute(rnd: AllocationRound) -> tuple[list[AllocationShare], dict, list[SalesPlan]]:
    cfg = config()
    plans = _plans_of(rnd)
    ids = [p.customer_id for p in plans]
    first, last = inputs.lookback_window(rnd.month, rnd.lookback_months)
    past: dict[int, dict[dt.date, Decimal]] = {}
    for cid, month, quantity in SalesPlan.objects.filter(
            customer_id__in=ids, product_line=rnd.product_line, month__gte=first, month__lte=last).values_list(
            "customer_id", "month", "quantity_t"):
        past.setdefault(cid, {})[month] = quantity
    history = inputs.histories(customer_ids=ids, product_line=rnd.product_line, month=rnd.month,
                               lookback_months=rnd.lookback_months, plans_by_month=past)
    weeks = inputs.week_starts(first, last)
    reviews = inputs.review_scores(ids)
    participants, facts = [], {}
    for plan in plans:
        h = history[plan.customer_id]
        regularity, regularity_facts = inputs.regularity_of(h, weeks)
        review = reviews.get(plan.customer_id)
        completion = inputs.completion_of(h)
        participants.append(allocate.Participant(
            key=plan.customer_id, cls=plan.participant_type, plan=plan.quantity_t, capacity=plan.capacity_t,
            review_score=review["score"] if review else None, completion=completion, regularity=regularity))
        facts[plan.customer_id] = {
            "review": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in (review or {}).items()}
            or {"source": "default"},
            "completion": {"planned_t": str(Decimal(h.planned_t).quantize(TONNE)),
                           "ordered_t": str(Decimal(h.ordered_in_plan_months_t).quantize(TONNE)),
                           "plan_months": h.plan_months},
            "regularity": regularity_facts,
        }
    try:
        result = _allocate(rnd, participants, cfg)
    except allocate.AllocationError as exc:
        # Only a misconfigured KEHU_ALLOCATION (a class missing from class_order, a bad unit) gets here.
        raise Conflict(_("The allocation settings do not fit this round: %(e)s") % {"e": exc}) from None
    classes = {c.cls: c for c in result.classes}
    by_customer = {p.customer_id: p for p in plans}
    shares = []
    for s in result.shares:
        plan = by_customer[s.key]
        cls = classes[s.cls]
        shares.append(AllocationShare(
            round=rnd, customer_id=plan.customer_id, plan=plan, participant_type=plan.participant_type,
            plan_t=plan.quantity_t, capacity_t=plan.capacity_t,
            review_score=Decimal(s.inputs["review_score"]["value"]) if not s.inputs["review_score"]["default"] else None,
            completion_rate=min(Decimal(s.inputs["completion"]["value"]), Decimal(9999))
            if not s.inputs["completion"]["default"] else None,
            regularity=Decimal(s.inputs["regularity"]["value"]) if not s.inputs["regularity"]["default"] else None,
            score=s.score, allocated_t=s.allocated, rule=s.rule,
            explanation={"rule": s.rule, "class": s.cls, "class_rank": cls.rank,
                         "class_need_t": str(cls.need), "class_supply_t": str(cls.supply_before),
                         "class_short": cls.short, "need_t": str(s.need), "score": str(s.score),
                         "fill_rate": None if s.fill_rate is None else str(s.fill_rate.quantize(Decimal("0.0001"))),
                         "inputs": s.inputs, "facts": facts[s.key], "lookback": [first.isoformat(), last.isoformat()]}))
    summary = {"classes": [{"class": c.cls, "rank": c.rank, "need_t": str(c.need), "supply_t": str(c.supply_before),
                            "allocated_t": str(c.allocated), "short": c.short} for c in result.classes],
               "unallocated_t": str(result.unallocated), "participants": len(shares),
               "excluded": excluded_plans(rnd)}
    rnd.total_plan_t = sum((p.quantity_t for p in plans), Decimal(0))
    rnd.total_allocated_t = result.allocated
    return shares, summary, plans


def _allocate(rnd: AllocationRound, participants: list, cfg: dict) -> allocate.Result:
    return allocate.allocate(
        available=rnd.available_t, participants=participants,
        weights=allocate.Weights(rnd.weight_review, rnd.weight_completion, rnd.weight_regularity),
        class_order=rnd.class_order, unit=Decimal(cfg["unit_t"]),
        defaults=allocate.Defaults(review_score=Decimal(cfg["default_review_score"]),
                                   completion=Decimal(cfg["default_completion"]),
                                   regularity=Decimal(cfg["default_regularity"])))


@transaction.atomic
def round_compute(*, actor, round_id: int) -> AllocationRound:
    """Compute (or recompute) a draft's shares from the month's plans and the look-back: the preview."""
    require_manage(actor)
    rnd = _round_for_update(round_id)
    _refuse_confirmed(rnd)
    shares, summary, plans = _compute(rnd)
    rnd.shares.all().delete()
    AllocationShare.objects.bulk_create(shares)
    rnd.summary = summary
    rnd.computed_at = timezone.now()
    rnd.inputs_digest = _digest(rnd, plans)
    rnd.save()
    audit_record(actor=actor, action="allocation.round.compute", obj=rnd,
                 changes={"participants": len(shares), "allocated_t": str(rnd.total_allocated_t),
                          "available_t": str(rnd.available_t)})
    return rnd


@transaction.atomic
def round_confirm(*, actor, round_id: int) -> AllocationRound:
    """Fix a computed draft as the month's allocation. Refused (409) when the plans or the round changed
    since the preview (compute again), or when the month and line already have a confirmed round."""
    require_manage(actor)
    rnd = _round_for_update(round_id)
    _refuse_confirmed(rnd)
    if rnd.computed_at is None:
        raise Conflict(_("Compute the allocation before confirming it."))
    if _digest(rnd, _plans_of(rnd)) != rnd.inputs_digest:
        raise Conflict(_("The plans changed since the allocation was computed; compute it again."))
    rnd.state = RoundState.CONFIRMED
    rnd.confirmed_by = actor
    rnd.confirmed_at = timezone.now()
    try:
        with transaction.atomic():
            rnd.save(update_fields=["state", "confirmed_by", "confirmed_at"])
    except IntegrityError:
        raise Conflict(_("The allocation of this month and product line is already confirmed.")) from None
    audit_record(actor=actor, action="allocation.round.confirm", obj=rnd,
                 changes={"allocated_t": str(rnd.total_allocated_t), "available_t": str(rnd.available_t),
                          "participants": rnd.summary.get("participants", 0)})
    return rnd
