"""Every write of commissions. Each takes the acting user first, checks the permission (Perm.SALES_MANAGE for
the rules, the rates and an entered base; Perm.SALES_WRITE to ask for an adjustment of a deal in scope),
runs in one transaction and writes its audit entry there.

- ``split_deal`` runs on kehu.sales.hooks.deal_won (registered in AppConfig.ready), inside the signing
  transaction: it computes the commission base (an entered amount, else the rate of the deal's product or
  deal type), asks kehu.sales.facts for the deal's facts, applies the split engine (splits.py) and stores
  the split with its lines — a failure rolls the signing back.
- A change after closing is an Adjustment approved through the chain ``commission.adjustment``; the
  outcome handler adds the next split version (the old one stays, marked not current)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.access.scopes import in_scope
from kehu.audit.services import audit_record
from kehu.errors import Conflict, Forbidden, Invalid, NotFound, from_django_validation
from kehu.sales.commissions import splits
from kehu.sales.commissions.models import (
    Adjustment,
    AdjustmentStatus,
    BaseSource,
    CommissionRate,
    CommissionRule,
    CompanyDeclaration,
    DealSplit,
    EnteredBase,
    SplitLine,
    SpousesVariant,
)

ADJUSTMENT_CHAIN = "commission.adjustment"
MAX_LINES = 6
OTHER = "other"


def _require_manage(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.SALES_MANAGE):
        raise Forbidden(_("Only a sales manager, an executive or an administrator may change commission rules."))


def _decimal(value, name: str, *, places: int = 2, low=Decimal("0"), high: Decimal | None = None) -> Decimal:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise Invalid(_("Enter a number."), fields={name: [_("Enter a number.")]})
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(_("Enter a number."), fields={name: [_("Enter a number.")]}) from None
    if not d.is_finite():
        raise Invalid(_("Enter a number."), fields={name: [_("Enter a number.")]})
    # The range first: quantizing a huge value (1E+30) raises InvalidOperation instead of answering.
    if d < low or (high is not None and d > high) or d.adjusted() > 15:
        msg = (_("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high} if high is not None
               else _("Enter a number of at least %(low)s.") % {"low": low})
        raise Invalid(msg, fields={name: [msg]})
    try:
        exact = d == d.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        exact = False
    if not exact:
        raise Invalid(_("At most %(n)d decimal places.") % {"n": places},
                      fields={name: [_("At most %(n)d decimal places.") % {"n": places}]})
    if d.adjusted() >= 12:
        raise Invalid(_("The amount is too large."), fields={name: [_("The amount is too large.")]})
    return d.quantize(Decimal(1).scaleb(-places))


def _save(obj) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from exc
    obj.save()


# ---------------------------------------------------------------- rules and rates

@transaction.atomic
def rule_update(*, actor, code: str, data: dict) -> CommissionRule:
    """Change a rule's party-A share, precedence, active flag or (spouses) variant."""
    _require_manage(actor)
    rule = (CommissionRule.objects.select_for_update().filter(code=code).first()
            if isinstance(code, str) and code in splits.CODES else None)
    if rule is None:
        raise NotFound(_("Commission rule not found."))
    if not isinstance(data, dict):
        raise Invalid(_("Enter the rule's values."), fields={"__all__": [_("Enter the rule's values.")]})
    before = {"share_percent": str(rule.share_percent), "precedence": rule.precedence, "active": rule.active,
              "variant": rule.variant}
    version = data.get("version")
    if version is not None and version != rule.version:
        raise Conflict(_("The rule was changed meanwhile: reload it."), code="version_conflict")
    if "share_percent" in data:
        rule.share_percent = _decimal(data["share_percent"], "share_percent", high=Decimal("100"))
    if "precedence" in data:
        p = data["precedence"]
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 100000:
            raise Invalid(_("Enter a whole number between 1 and 100000."),
                          fields={"precedence": [_("Enter a whole number between 1 and 100000.")]})
        if CommissionRule.objects.filter(precedence=p).exclude(pk=rule.pk).exists():
            raise Invalid(_("Another rule has this precedence."),
                          fields={"precedence": [_("Another rule has this precedence.")]})
        rule.precedence = p
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid(_("Enter true or false."), fields={"active": [_("Enter true or false.")]})
        rule.active = data["active"]
    if "variant" in data:
        v = data["variant"]
        if rule.code != "spouses":
            if v not in ("", None):
                raise Invalid(_("Only the spouses rule has variants."),
                              fields={"variant": [_("Only the spouses rule has variants.")]})
        elif v not in SpousesVariant.values:
            raise Invalid(_("Choose a variant."), fields={"variant": [_("Choose a variant.")]})
        else:
            rule.variant = v
    rule.version += 1
    rule.updated_by = actor
    _save(rule)
    after = {"share_percent": str(rule.share_percent), "precedence": rule.precedence, "active": rule.active,
             "variant": rule.variant}
    audit_record(actor=actor, action="commission.rule_update", obj=rule,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return rule


@transaction.atomic
def rate_set(*, actor, prefix, name, rate_percent, active: bool = True) -> CommissionRate:
    """Create or change the rate of a product or deal type (deals whose object code starts with prefix)."""
    _require_manage(actor)
    if not isinstance(prefix, str) or len(prefix.strip()) > 50 or "\x00" in prefix:
        raise Invalid(_("Enter a prefix of at most 50 characters."),
                      fields={"prefix": [_("Enter a prefix of at most 50 characters.")]})
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100 or "\x00" in name:
        raise Invalid(_("Enter a name."), fields={"name": [_("Enter a name.")]})
    if not isinstance(active, bool):
        raise Invalid(_("Enter true or false."), fields={"active": [_("Enter true or false.")]})
    rate = _decimal(rate_percent, "rate_percent", places=3, high=Decimal("100"))
    row = CommissionRate.objects.select_for_update().filter(prefix=prefix.strip()).first()
    before = None if row is None else {"name": row.name, "rate_percent": str(row.rate_percent), "active": row.active}
    if row is None:
        row = CommissionRate(prefix=prefix.strip())
    row.name, row.rate_percent, row.active, row.updated_by = name.strip(), rate, active, actor
    _save(row)
    audit_record(actor=actor, action="commission.rate_set", obj=row,
                 changes={"prefix": row.prefix, "before": before,
                          "after": {"name": row.name, "rate_percent": str(row.rate_percent), "active": row.active}})
    return row


def rate_for(object_code: str) -> CommissionRate | None:
    """The active rate whose prefix is the longest one starting the object code."""
    code = object_code or ""
    best = None
    for r in CommissionRate.objects.filter(active=True):
        if code.startswith(r.prefix) and (best is None or len(r.prefix) > len(best.prefix)):
            best = r
    return best


def _deal_in_scope(actor, deal_id, *, lock: bool = False):
    from kehu.sales.models import Deal

    try:
        pk = int(deal_id)
    except (TypeError, ValueError):
        raise NotFound(_("Deal not found.")) from None
    qs = Deal.objects.select_related("rep", "customer")
    if lock:
        qs = qs.select_for_update(of=("self",))
    deal = qs.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if deal is None or not in_scope(actor, owner_id=deal.rep_id,
                                    department_id=deal.department_id or deal.rep.department_id):
        raise NotFound(_("Deal not found."))
    return deal


@transaction.atomic
def base_enter(*, actor, deal_id, amount) -> EnteredBase:
    """Enter the commission base of a deal not yet won (instead of its rate)."""
    _require_manage(actor)
    deal = _deal_in_scope(actor, deal_id, lock=True)
    if DealSplit.objects.filter(deal=deal).exists():
        raise Conflict(_("The deal is closed: change its commission through an adjustment."), code="deal_closed")
    value = _decimal(amount, "amount")
    entry, _created = EnteredBase.objects.update_or_create(deal=deal, defaults={"amount": value,
                                                                                  "entered_by": actor})
    audit_record(actor=actor, action="commission.base_enter", obj=deal, changes={"amount": str(value)})
    return entry


@transaction.atomic
def company_customer_declare(*, actor, deal_id, arranged_by_company=False, followed_up_by_other_staff=False,
                             note: str = "", withdraw: bool = False) -> CompanyDeclaration | None:
    """Declare (or withdraw) a deal not yet won as a company customer's (公司客户, 004 第12篇 6(1))."""
    _require_manage(actor)
    deal = _deal_in_scope(actor, deal_id, lock=True)
    if DealSplit.objects.filter(deal=deal).exists():
        raise Conflict(_("The deal is closed: change its commission through an adjustment."), code="deal_closed")
    for name, value in (("arranged_by_company", arranged_by_company),
                        ("followed_up_by_other_staff", followed_up_by_other_staff), ("withdraw", withdraw)):
        if not isinstance(value, bool):
            raise Invalid(_("Enter true or false."), fields={name: [_("Enter true or false.")]})
    if not isinstance(note, str) or len(note.strip()) > 500 or "\x00" in note:
        raise Invalid(_("At most %(n)d characters.") % {"n": 500}, fields={"note": [_("At most %(n)d characters.")
                                                                                   % {"n": 500}]})
    if withdraw:
        CompanyDeclaration.objects.filter(deal=deal).delete()
        audit_record(actor=actor, action="commission.company_withdraw", obj=deal)
        return None
    row, _created = CompanyDeclaration.objects.update_or_create(deal=deal, defaults={
        "arranged_by_company": arranged_by_company, "followed_up_by_other_staff": followed_up_by_other_staff,
        "note": note.strip(), "declared_by": actor})
    audit_record(actor=actor, action="commission.company_declare", obj=deal,
                 changes={"arranged_by_company": arranged_by_company,
                          "followed_up_by_other_staff": followed_up_by_other_staff, "note": row.note})
    return row


def company_facts(deal, facts) -> None:
    """Facts provider: a declared company customer (公司客户)."""
    row = CompanyDeclaration.objects.filter(deal_id=deal.pk).first()
    if row is None:
        return
    facts.customer_is_company = True
    facts.arranged_by_company = row.arranged_by_company
    facts.followed_up_by_other_staff = row.followed_up_by_other_staff
    facts.notes.append("公司客户申报" + (f"：{row.note}" if row.note else ""))


# ---------------------------------------------------------------- the split of a won deal

def _rule_specs() -> list[splits.RuleSpec]:
    rows = [r.spec() for r in CommissionRule.objects.all()]
    return rows or splits.default_rules()


def _departments(user_ids) -> dict[int, int | None]:
    ids = {u for u in user_ids if u}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "department_id")) if ids else {}


def _write_split(*, deal, actor, result: splits.Split, base: Decimal, base_source: str, rate, facts: dict,
                 version: int, adjustment=None) -> DealSplit:
    known = _departments([s.user_id for s in result.shares] + [deal.rep_id])
    missing = {s.user_id for s in result.shares if s.user_id and s.user_id not in known}
    if missing:
        raise Invalid(_("A party of the split is not a user."), fields={"lines": [_("Unknown user.")]})
    split = DealSplit.objects.create(
        deal=deal, version=version, current=True, rep_id=deal.rep_id,
        department_id=deal.department_id or known.get(deal.rep_id), signed_on=deal.signed_on or timezone.localdate(),
        base=base, base_source=base_source, rate_percent=rate, rule=result.rule,
        explanation_zh=result.explanation_zh, explanation_en=result.explanation_en, facts=facts,
        adjustment=adjustment, created_by=actor if actor and actor.pk else None)
    SplitLine.objects.bulk_create([
        SplitLine(split=split, role=s.role, user_id=s.user_id,
                  department_id=known.get(s.user_id) if s.user_id else split.department_id,
                  share_percent=s.percent, amount=s.amount, signed_on=split.signed_on, current=True)
        for s in result.shares])
    return split


def commission_base(deal) -> tuple[Decimal, str, Decimal | None]:
    entry = EnteredBase.objects.filter(deal=deal).first()
    if entry is not None:
        return entry.amount, BaseSource.ENTERED, None
    rate = rate_for(deal.object_code)
    pct = rate.rate_percent if rate else Decimal("0")
    return (Decimal(deal.amount) * pct / 100).quantize(splits.FEN), BaseSource.RATE, pct


@transaction.atomic
def split_deal(deal, *, actor) -> DealSplit:
    """on_deal_won: compute and store the split of a deal just signed (idempotent: a deal already split
    keeps its split)."""
    from kehu.sales.facts import facts_for
    from kehu.sales.models import Deal

    deal = Deal.objects.select_for_update(of=("self",)).get(pk=deal.pk)
    existing = DealSplit.objects.filter(deal=deal, current=True).first()
    if existing is not None:
        return existing
    base, source, rate = commission_base(deal)
    facts = facts_for(deal)
    result = splits.split(facts, _rule_specs(), base)
    try:
        with transaction.atomic():
            split = _write_split(deal=deal, actor=actor, result=result, base=base, base_source=source, rate=rate,
                                 facts=splits.facts_dict(facts), version=1)
    except IntegrityError as exc:
        raise Conflict(_("The deal's commission was split meanwhile."), code="already_split") from exc
    audit_record(actor=actor, action="commission.split", obj=split, object_repr=deal.title[:200],
                 changes={"deal": deal.pk, "rule": result.rule, "base": str(base),
                          "lines": [[s.role, s.user_id, str(s.percent), str(s.amount)] for s in result.shares]})
    return split


def on_deal_won(deal, *, actor) -> None:
    split_deal(deal, actor=actor)


# ---------------------------------------------------------------- adjustments after closing

def _clean_lines(deal, data_lines) -> list[dict]:
    if not isinstance(data_lines, list) or not 1 <= len(data_lines) <= MAX_LINES:
        raise Invalid(_("Enter between 1 and %(n)d shares.") % {"n": MAX_LINES},
                      fields={"lines": [_("Enter between 1 and %(n)d shares.") % {"n": MAX_LINES}]})
    out, seen, total = [], set(), Decimal("0")
    for i, item in enumerate(data_lines):
        if not isinstance(item, dict):
            raise Invalid(_("Each share needs a user (or the pool) and a percentage."),
                          fields={f"lines.{i}": [_("Enter a share.")]})
        user = item.get("user")
        if user is not None and (isinstance(user, bool) or not isinstance(user, int) or not 0 < user < 2**63):
            raise Invalid(_("Unknown user."), fields={f"lines.{i}.user": [_("Unknown user.")]})
        share = _decimal(item.get("share"), f"lines.{i}.share", high=Decimal("100"))
        if share <= 0:
            raise Invalid(_("A share must be more than 0 %."), fields={f"lines.{i}.share": [_("More than 0 %.")]})
        if user in seen:
            raise Invalid(_("Each party only once."), fields={f"lines.{i}.user": [_("Each party only once.")]})
        seen.add(user)
        total += share
        out.append({"user": user, "share": share})
    if total != splits.HUNDRED:
        raise Invalid(_("The shares must sum to 100 %."), fields={"lines": [_("The shares must sum to 100 %.")]},
                      code="shares_not_100")
    users = {u for u in seen if u is not None}
    found = set(User.objects.filter(pk__in=users, is_active=True).values_list("pk", flat=True))
    if users - found:
        raise Invalid(_("Unknown user."), fields={"lines": [_("Unknown user.")]})
    for line in out:
        line["role"] = (splits.POOL if line["user"] is None else
                        splits.RECEIVING if line["user"] == deal.rep_id else OTHER)
    return out


@transaction.atomic
def adjustment_request(*, actor, deal_id, lines, reason, base=None) -> Adjustment:
    """Ask to change a closed deal's split (shares and optionally the base): applied once approved."""
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.SALES_WRITE):
        raise Forbidden(_("You are not allowed to ask for a commission adjustment."))
    deal = _deal_in_scope(actor, deal_id, lock=True)
    current = DealSplit.objects.filter(deal=deal, current=True).first()
    if current is None:
        raise Conflict(_("The deal has no commission split yet."), code="not_split")
    if not isinstance(reason, str) or not reason.strip() or len(reason.strip()) > 2000 or "\x00" in reason:
        raise Invalid(_("Give the reason (at most 2000 characters)."),
                      fields={"reason": [_("Give the reason (at most 2000 characters).")]})
    clean = _clean_lines(deal, lines)
    new_base = current.base if base in (None, "") else _decimal(base, "base")
    if Adjustment.objects.filter(deal=deal, status=AdjustmentStatus.PENDING).exists():
        raise Conflict(_("An adjustment of this deal is already awaiting approval."), code="already_requested")
    adj = Adjustment.objects.create(
        deal=deal, from_split=current, rep_id=deal.rep_id, department_id=current.department_id, base=new_base,
        lines=[{"role": x["role"], "user": x["user"], "share": str(x["share"])} for x in clean],
        reason=reason.strip(), requested_by=actor)
    from kehu.approvals.services import approval_request

    approval_request(actor=actor, chain_code=ADJUSTMENT_CHAIN, target=adj, line_of=deal.rep,
                     title=_("Commission adjustment: %(deal)s") % {"deal": deal.title[:150]},
                     payload={"deal": deal.pk, "base": str(new_base), "lines": adj.lines})
    audit_record(actor=actor, action="commission.adjustment_request", obj=adj, object_repr=deal.title[:200],
                 changes={"deal": deal.pk, "from_version": current.version, "base": str(new_base),
                          "lines": adj.lines, "reason": adj.reason[:500]})
    return adj


def on_approval_outcome(request, outcome: str) -> None:
    """The approval engine's answer about an adjustment (same transaction as the decision): approved → a
    new split version (the old one kept, no longer current); rejected / cancelled → closed unchanged."""
    adj = Adjustment.objects.select_for_update().select_related("deal").get(pk=request.object_id)
    if adj.status != AdjustmentStatus.PENDING or outcome == "returned":
        return
    now = timezone.now()
    if outcome != "approved":
        adj.status = AdjustmentStatus.REJECTED if outcome == "rejected" else AdjustmentStatus.CANCELLED
        adj.decided_at = now
        adj.save(update_fields=["status", "decided_at"])
        audit_record(actor=None, action=f"commission.adjustment_{adj.status}", obj=adj,
                     changes={"request": request.pk})
        return
    deal = adj.deal
    current = DealSplit.objects.select_for_update().filter(deal=deal, current=True).first()
    if current is None or current.pk != adj.from_split_id:
        raise Conflict(_("The deal's split changed since the adjustment was asked: ask again."),
                       code="split_changed")
    result = splits.manual_split(adj.base, [(x["role"], x["user"], Decimal(x["share"])) for x in adj.lines],
                                 reason=adj.reason[:300])
    DealSplit.objects.filter(pk=current.pk).update(current=False)
    SplitLine.objects.filter(split=current).update(current=False)
    new = _write_split(deal=deal, actor=adj.requested_by, result=result, base=adj.base,
                       base_source=BaseSource.ENTERED if adj.base != current.base else current.base_source,
                       rate=current.rate_percent, facts=current.facts, version=current.version + 1, adjustment=adj)
    adj.status, adj.decided_at = AdjustmentStatus.APPROVED, now
    adj.save(update_fields=["status", "decided_at"])
    audit_record(actor=None, action="commission.adjustment_approved", obj=adj, object_repr=deal.title[:200],
                 changes={"request": request.pk, "deal": deal.pk, "version": new.version,
                          "lines": [[s.role, s.user_id, str(s.percent), str(s.amount)] for s in result.shares]})


def register_handlers() -> None:
    from kehu.approvals.hooks import register_outcome_handler
    from kehu.sales.facts import register_facts_provider
    from kehu.sales.hooks import on_deal_won as register_won

    register_facts_provider(company_facts)
    register_won(on_deal_won)
    register_outcome_handler("commissions.adjustment", on_approval_outcome)


# ---------------------------------------------------------------- signing for the demo and tests

@transaction.atomic
def demo_deal_sign(*, actor, deal, signed_on: dt.date) -> DealSplit:
    """Sign a deal and announce the win (the pipeline's signing service does this on its branch); used by
    the demo when the pipeline's deals are absent."""
    from kehu.sales.hooks import deal_won
    from kehu.sales.models import DealStage

    deal.stage, deal.signed_on = DealStage.SIGNED, signed_on
    deal.save(update_fields=["stage", "signed_on", "updated_at"])
    deal_won(deal, actor=actor)
    return DealSplit.objects.get(deal=deal, current=True)
