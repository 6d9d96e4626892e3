"""The commission split engine (佣金分配): pure, ORM-free. Given the facts of how a won deal came about
(kehu.sales.facts.DealFacts), the commission rules (rows of CommissionRule, passed in as RuleSpec) and
the deal's commission base, it returns who gets which share and amount, which rule applied and why.

The rules (seed 004; the default shares are the policy's, every one editable as a row):

==========================  =============================================  ==============================
code                        when (the fact in DealFacts)                    party A / party B (default)
==========================  =============================================  ==============================
company_other_staff         公司客户, arranged by the company and the        receiving rep 0 % / 公佣 100 %
                            after-sale formalities followed by other staff  (第12篇 6(1) 2)、5))
company_arranged            公司客户 whose deal the company arranged         receiving rep 30 % / 公佣 70 %
                            directly (无须接待、洽谈)                        (第12篇 6(1) 4))
company_customer            公司客户 brought by the company, the rep         receiving rep 70 % / 公佣 30 %
                            followed it through                             (第12篇 6(1) 3))
designated_mid_visit        a new customer asked for another rep mid-visit  first receiver 70 % /
                                                                            designated rep 30 % (第12篇 5 2))
referral                    confirmed referral by another employee          receiving rep 70 % / referrer
                                                                            30 % (第11篇 8; 第12篇 6(2) 5))
spouses                     the spouse was registered separately by         receiving rep 50 % / spouse's
                            another rep                                     rep 50 % (第12篇 7 4)); variant
                                                                            "first_receiver": all to whoever
                                                                            received first (第14篇 3 (11))
within_validity             another rep served a customer inside the first  serving rep 80 % / registered
                            rep's registration validity                     rep 20 % (第14篇 3 (2)(3))
forgotten_rep               the customer forgot the earlier rep, found      receiving rep 50 % / earlier rep
                            later in the records within validity            50 % (第14篇 3 (7))
returned_within_month       came back within a month after a visit          new rep 50 % / earlier rep 50 %:
                            without a deal; the new rep follows             the new rep's commission halved
                                                                            (第12篇 3 7) i)
same_day_double             two reps received the customer the same day     receiving rep 50 % / the other
                                                                            50 % (第14篇 (二) 5 五五分成)
default                     none of the above                               receiving rep 100 %
==========================  =============================================  ==============================

Precedence (when several facts hold, ONE rule applies: the active rule of lowest ``precedence`` whose
facts hold and whose parties are distinct people; the others are named in the explanation as
superseded). The default order, and why:

1. the company-customer rules first — a 公司客户 is not a rep's own customer at all (第12篇 6(1)), so
   which rep received it matters only inside the company rule;
2. ``designated_mid_visit`` — decided by the sales manager during the very visit that led to the deal;
3. ``referral`` — a referral is confirmed by the project manager before the first visit, so it
   predates any later dispute between reps;
4. ``spouses`` — a family is one customer: the household rule settles both registrations;
5. ``within_validity``, ``forgotten_rep``, ``returned_within_month`` — an earlier rep's claim, from the
   strongest (a valid registration, 80/20) to the weakest;
6. ``same_day_double`` — the weakest claim, a second reception the same day;
7. ``default``.

Amounts: each share is a percentage with two decimals, party A's share stored and party B getting
100 − A. Every line except the receiving rep's is truncated to the fen; the receiving rep's line gets the
remainder, so the amounts always sum to the base exactly (when the receiving rep has no share, the
first line with a share takes the remainder). A line of 0 % is left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from kehu.sales.facts import DealFacts

FEN = Decimal("0.01")
HUNDRED = Decimal("100")

POOL = "pool"  # 公佣: the company's commission pool (no user)

# role codes of a line (who the party is in the rule's terms)
RECEIVING, REFERRER, FIRST_RECEIVER, DESIGNATED, REGISTERED, FORGOTTEN, SAME_DAY, SPOUSE, PREVIOUS = (
    "receiving", "referrer", "first_receiver", "designated", "registered", "forgotten", "same_day", "spouse",
    "previous")

SPOUSES_SPLIT, SPOUSES_FIRST_RECEIVER = "split", "first_receiver"


@dataclass(frozen=True)
class RuleSpec:
    code: str
    share: Decimal  # party A's share in percent (0–100, two decimals); party B gets 100 − share
    precedence: int
    active: bool = True
    variant: str = ""  # spouses: "split" (50/50) or "first_receiver"


@dataclass(frozen=True)
class Share:
    role: str  # receiving / referrer / pool / …
    user_id: int | None  # None for the pool (公佣)
    percent: Decimal
    amount: Decimal

    @property
    def is_pool(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True)
class Split:
    rule: str
    shares: tuple[Share, ...]
    explanation_zh: str
    explanation_en: str
    superseded: tuple[str, ...] = ()


# code → (precedence, party A share, Chinese name, English name, source)
DEFAULT_RULES: dict[str, tuple[int, Decimal, str, str, str]] = {
    "company_other_staff": (10, Decimal("0"), "公司客户（其他员工跟进）", "Company customer followed up by other staff",
                            "004 第12篇 6(1) 2)、5)"),
    "company_arranged": (20, Decimal("30"), "公司客户（公司直接安排成交）", "Company customer, deal arranged by the company",
                         "004 第12篇 6(1) 4)"),
    "company_customer": (30, Decimal("70"), "公司客户（售楼员全程跟进）", "Company customer followed by the rep",
                         "004 第12篇 6(1) 3)"),
    "designated_mid_visit": (40, Decimal("70"), "中途指定接待", "Another rep designated mid-visit",
                             "004 第12篇 5 2)"),
    "referral": (50, Decimal("70"), "员工介绍客户", "Referral by an employee", "004 第11篇 8；第12篇 6(2) 5)"),
    "spouses": (60, Decimal("50"), "夫妻分别登记", "Spouses registered separately", "004 第12篇 7 4)；第14篇 3(11)"),
    "within_validity": (70, Decimal("80"), "建档有效期内他人接待", "Another rep within the registration's validity",
                        "004 第14篇 3(2)(3)"),
    "forgotten_rep": (80, Decimal("50"), "忘记原接待人后查明", "Earlier rep found later", "004 第14篇 3(7)"),
    "returned_within_month": (90, Decimal("50"), "一个月内未成交再访", "Returned within a month after no deal",
                              "004 第12篇 3 7) i"),
    "same_day_double": (100, Decimal("50"), "当日重复接待", "Received twice the same day", "004 第14篇 (二) 5"),
    "default": (1000, Decimal("100"), "本人接待成交", "Received and closed by the rep", "004 第12篇 3"),
}
CODES = tuple(DEFAULT_RULES)


def default_rules() -> list[RuleSpec]:
    return [RuleSpec(code=c, share=s, precedence=p, variant=SPOUSES_SPLIT if c == "spouses" else "")
            for c, (p, s, *_rest) in DEFAULT_RULES.items()]


def name_zh(code: str) -> str:
    return DEFAULT_RULES[code][2] if code in DEFAULT_RULES else code


def _pct(value: Decimal) -> str:
    value = value.quantize(FEN).normalize()
    return f"{value:f}%"


# ---------------------------------------------------------------- which rule's facts hold

def _parties(code: str, f: DealFacts) -> tuple[tuple[str, int | None], tuple[str, int | None]] | None:
    """(party A, party B) as (role, user id) when the rule's facts hold, else None."""
    rep = f.receiving_rep_id
    if code == "company_other_staff":
        return ((RECEIVING, rep), (POOL, None)) if f.customer_is_company and f.followed_up_by_other_staff else None
    if code == "company_arranged":
        return ((RECEIVING, rep), (POOL, None)) if f.customer_is_company and f.arranged_by_company else None
    if code == "company_customer":
        return ((RECEIVING, rep), (POOL, None)) if f.customer_is_company else None
    if code == "designated_mid_visit":
        if f.first_receiver_id and f.designated_rep_id:
            return (FIRST_RECEIVER, f.first_receiver_id), (DESIGNATED, f.designated_rep_id)
        return None
    if code == "referral":
        return ((RECEIVING, rep), (REFERRER, f.referrer_id)) if f.referrer_id else None
    if code == "spouses":
        return ((RECEIVING, rep), (SPOUSE, f.spouse_rep_id)) if f.spouse_rep_id else None
    if code == "within_validity":
        return ((RECEIVING, rep), (REGISTERED, f.registered_rep_id)) if f.registered_rep_id else None
    if code == "forgotten_rep":
        return ((RECEIVING, rep), (FORGOTTEN, f.forgotten_rep_id)) if f.forgotten_rep_id else None
    if code == "returned_within_month":
        if f.returned_within_month_after_no_deal and f.previous_rep_id:
            return (RECEIVING, rep), (PREVIOUS, f.previous_rep_id)
        return None
    if code == "same_day_double":
        return ((RECEIVING, rep), (SAME_DAY, f.same_day_other_rep_id)) if f.same_day_other_rep_id else None
    if code == "default":
        return (RECEIVING, rep), (POOL, None)
    return None


def _distinct(a, b) -> bool:
    return a[1] is None or b[1] is None or a[1] != b[1]


# ---------------------------------------------------------------- explanations (Chinese first)

_WHY_ZH = {
    "company_other_staff": "公司客户由公司直接安排成交，售后手续由其他员工（非售楼员）主要跟进，成交佣金作为公佣",
    "company_arranged": "公司客户无须接待、洽谈，由公司直接安排成交，售楼员负责售后跟进",
    "company_customer": "公司客户由公司介绍到现场，由售楼员全程跟进成交",
    "designated_mid_visit": "新客户被接待后中途指定其他售楼员接待，经销售经理同意后成交：最先接待的售楼员与被指定的售楼员分配",
    "referral": "公司其他员工介绍的客户（经项目经理确认）成交：介绍人与接待客户的售楼员分配",
    "spouses": "夫妻客户成交前分别来访，分别由两位售楼员登记",
    "within_validity": "客户在原售楼员建档有效期内由其他售楼员接待并成交",
    "forgotten_rep": "客户忘记原接待售楼员，事后查明原售楼员且在建档有效期内",
    "returned_within_month": "客户当场未成交，一个月内再次来访时认出原售楼员，由新售楼员跟进，佣金减半、与原售楼员平分",
    "same_day_double": "客户当日由两位售楼员接待并当日成交，佣金五五分成",
    "default": "由接待售楼员本人成交",
}
_WHY_EN = {
    "company_other_staff": "company customer whose deal the company arranged and whose formalities other staff "
                           "followed: the commission goes to the pool",
    "company_arranged": "company customer whose deal the company arranged directly; the rep follows up after sale",
    "company_customer": "company customer introduced by the company and followed through by the rep",
    "designated_mid_visit": "new customer asked for another rep mid-visit, agreed by the sales manager",
    "referral": "customer referred by another employee (confirmed by the project manager)",
    "spouses": "spouses visited separately and were registered by two reps",
    "within_validity": "another rep served the customer within the first rep's registration validity",
    "forgotten_rep": "the customer forgot the earlier rep, found later within the registration's validity",
    "returned_within_month": "the customer came back within a month after a visit without a deal; the new rep "
                             "follows and the commission is halved with the earlier rep",
    "same_day_double": "two reps received the customer on the day of the deal",
    "default": "received and closed by the rep",
}
_ROLE_ZH = {RECEIVING: "接待售楼员", REFERRER: "介绍人", FIRST_RECEIVER: "最先接待的售楼员", DESIGNATED: "被指定接待的售楼员",
            REGISTERED: "原登记售楼员", FORGOTTEN: "原接待售楼员", SAME_DAY: "当日另一接待售楼员", SPOUSE: "配偶的登记售楼员",
            PREVIOUS: "原售楼员", POOL: "公佣", "other": "其他售楼员"}
_ROLE_EN = {RECEIVING: "receiving rep", REFERRER: "referrer", FIRST_RECEIVER: "first receiver",
            DESIGNATED: "designated rep", REGISTERED: "registered rep", FORGOTTEN: "earlier rep",
            SAME_DAY: "other rep the same day", SPOUSE: "spouse's rep", PREVIOUS: "earlier rep", POOL: "pool",
            "other": "other rep"}


def role_zh(role: str) -> str:
    return _ROLE_ZH.get(role, role)


def role_en(role: str) -> str:
    return _ROLE_EN.get(role, role)


# ---------------------------------------------------------------- the engine

def amounts(base: Decimal, lines: list[tuple[str, int | None, Decimal]], *,
            receiving_rep_id: int | None = None) -> tuple[Share, ...]:
    """Amounts to the fen: every line but the remainder-taker truncated; the remainder-taker (the receiving
    rep's line, else the first line) gets base − the others, so the sum is exactly the base."""
    base = Decimal(base).quantize(FEN)
    lines = [(r, u, p) for r, u, p in lines if p > 0]
    taker = next((i for i, (r, u, _p) in enumerate(lines)
                  if (receiving_rep_id is not None and u == receiving_rep_id) or r == RECEIVING), 0)
    out: list[Share | None] = [None] * len(lines)
    given = Decimal("0")
    for i, (role, user, pct) in enumerate(lines):
        if i == taker:
            continue
        amount = (base * pct / HUNDRED).quantize(FEN, rounding=ROUND_DOWN)
        given += amount
        out[i] = Share(role=role, user_id=user, percent=pct, amount=amount)
    if lines:
        role, user, pct = lines[taker]
        out[taker] = Share(role=role, user_id=user, percent=pct, amount=base - given)
    return tuple(s for s in out if s is not None)


def split(facts: DealFacts, rules: Iterable[RuleSpec], base: Decimal) -> Split:
    """Apply the first active rule (by precedence) whose facts hold and whose parties are distinct people."""
    ordered = sorted((r for r in rules if r.active), key=lambda r: (r.precedence, r.code))
    chosen: RuleSpec | None = None
    parties = None
    superseded: list[str] = []
    for rule in ordered:
        p = _parties(rule.code, facts)
        if p is None or not _distinct(*p):
            continue
        if chosen is None:
            chosen, parties = rule, p
        elif rule.code != "default":
            superseded.append(rule.code)
    if chosen is None:  # the default rule was switched off: the receiving rep keeps it all
        chosen = RuleSpec(code="default", share=HUNDRED, precedence=1000)
        parties = _parties("default", facts)
    (role_a, user_a), (role_b, user_b) = parties
    share_a = Decimal(chosen.share).quantize(FEN)
    if chosen.code == "spouses" and chosen.variant == SPOUSES_FIRST_RECEIVER:
        share_a = Decimal("0") if facts.spouse_registered_first else HUNDRED
    lines = [(role_a, user_a, share_a), (role_b, user_b, HUNDRED - share_a)]
    shares = amounts(base, lines, receiving_rep_id=facts.receiving_rep_id)
    why_zh, why_en = _WHY_ZH[chosen.code], _WHY_EN[chosen.code]
    if chosen.code == "spouses" and chosen.variant == SPOUSES_FIRST_RECEIVER:
        why_zh += "；按先接待者为准（第14篇 3(11)），佣金归" + ("配偶的登记售楼员" if facts.spouse_registered_first
                                                        else "接待售楼员")
        why_en += "; the first receiver takes it all"
    parts_zh = "，".join(f"{role_zh(s.role)} {_pct(s.percent)}（{s.amount}元）" for s in shares)
    parts_en = ", ".join(f"{role_en(s.role)} {_pct(s.percent)} ({s.amount} CNY)" for s in shares)
    source = DEFAULT_RULES[chosen.code][4]
    zh = f"适用规则“{name_zh(chosen.code)}”（{source}）：{why_zh}。分配：{parts_zh}。"
    en = f"Rule “{DEFAULT_RULES[chosen.code][3]}” ({source}): {why_en}. Shares: {parts_en}."
    if superseded:
        zh += "同时存在的情形按优先顺序不适用：" + "、".join(name_zh(c) for c in superseded) + "。"
        en += " Also present but superseded by precedence: " + ", ".join(superseded) + "."
    if facts.notes:
        # the providers' notes are sentences of their own: their full stops would double the one closing the list
        zh += "依据：" + "；".join(str(n).rstrip("。.") for n in facts.notes) + "。"
    return Split(rule=chosen.code, shares=shares, explanation_zh=zh, explanation_en=en,
                 superseded=tuple(superseded))


def manual_split(base: Decimal, lines: list[tuple[str, int | None, Decimal]], *, reason: str) -> Split:
    """A split decided by hand (an approved adjustment, 第12篇 7 7) 项目经理书面意见报销售总监审批): the given
    shares must sum to 100 %."""
    total = sum((Decimal(p) for _r, _u, p in lines), Decimal("0"))
    if total != HUNDRED:
        raise ValueError("shares must sum to 100")
    shares = amounts(base, lines)
    parts_zh = "，".join(f"{role_zh(s.role)} {_pct(s.percent)}（{s.amount}元）" for s in shares)
    parts_en = ", ".join(f"{role_en(s.role)} {_pct(s.percent)} ({s.amount} CNY)" for s in shares)
    return Split(rule="adjusted", shares=shares,
                 explanation_zh=f"经审批调整（第12篇 7 7)）：{reason}。分配：{parts_zh}。",
                 explanation_en=f"Adjusted after approval: {reason}. Shares: {parts_en}.")


def facts_dict(facts: DealFacts) -> dict:
    d = dataclasses.asdict(facts)
    d["signed_on"] = facts.signed_on.isoformat() if facts.signed_on else None
    return d
