"""Resource allocation (资源量分配, 004 第13篇 第三条(二) and 第十条): split a month's available quantity of a
product among the participants' plans. Pure: no ORM, no settings; exact rational arithmetic.

The rules, from the policy:
- classes are served in order — by default 直销 (direct customers, "确保直销量"), then 独家代理
  (exclusive agents, "平衡独家代理量"), then 经销商 (dealers, "补充经销量"): a class gets nothing until
  every class before it has its whole need;
- a participant's need is its plan, never more than its capacity ("在产能允许的前提下"): nobody gets more;
- when the supply left cannot meet a class's need, it is split by score — the review result (评审结果), the
  plan completion rate (提货量完成率) and the regularity of pickups (周拿货量均衡), weighted — in
  proportion to score × need, so each share's fill rate (allocation ÷ need) is proportional to its
  score; a share that would pass its need stops at it and the rest is split again among the others
  (water-filling); when every score of those left is 0, the rest goes in proportion to need;
- quantities are whole units (0.001 t by default): the exact shares are rounded down and the units
  left go one each by the largest remainder, ties broken by the higher score, then the smaller key.

The result does not depend on the order of the participants (they are sorted by key first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

HUNDRED = Decimal(100)

# Reasons a share is what it is (the explanation's "rule").
FULL = "full"  # the class's whole need fitted in the supply left: the participant got its need
PROPORTIONAL = "proportional"  # supply short: its part by score × need
CAPPED = "capped"  # supply short, but its part by score reached its need: it got its need
EXHAUSTED = "exhausted"  # a class before it took the whole supply
NO_NEED = "no_need"  # plan or capacity is 0


@dataclass(frozen=True)
class Weights:
    review: Decimal
    completion: Decimal
    regularity: Decimal

    def total(self) -> Decimal:
        return self.review + self.completion + self.regularity


@dataclass(frozen=True)
class Participant:
    """One plan in the round. ``review_score`` 0–100; ``completion`` the plan completion rate (1 = 100 %,
    may exceed 1; counted up to 1); ``regularity`` 0–1. ``None`` means unknown: the defaults apply."""

    key: int | str
    cls: str
    plan: Decimal
    capacity: Decimal | None = None
    review_score: Decimal | None = None
    completion: Decimal | None = None
    regularity: Decimal | None = None


@dataclass(frozen=True)
class Defaults:
    """The values taken for an unknown input (a new participant has no history)."""

    review_score: Decimal = Decimal(60)
    completion: Decimal = Decimal("0.5")
    regularity: Decimal = Decimal("0.5")


@dataclass
class Share:
    key: int | str
    cls: str
    need: Decimal
    score: Decimal
    allocated: Decimal
    rule: str
    inputs: dict = field(default_factory=dict)
    exact: Fraction = Fraction(0)  # the share before rounding to units

    @property
    def fill_rate(self) -> Decimal | None:
        return (self.allocated / self.need) if self.need else None


@dataclass
class ClassSummary:
    cls: str
    rank: int
    need: Decimal
    supply_before: Decimal
    allocated: Decimal
    short: bool


@dataclass
class Result:
    shares: list[Share]
    classes: list[ClassSummary]
    available: Decimal
    allocated: Decimal
    unallocated: Decimal
    total_need: Decimal


class AllocationError(ValueError):
    pass


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return min(max(value, low), high)


def score_of(p: Participant, weights: Weights, defaults: Defaults) -> tuple[Decimal, dict]:
    """The weighted score 0–100 and the inputs it used (each marked when a default stood in)."""
    review = p.review_score if p.review_score is not None else defaults.review_score
    completion = p.completion if p.completion is not None else defaults.completion
    regularity = p.regularity if p.regularity is not None else defaults.regularity
    review_part = clamp(Decimal(review), Decimal(0), HUNDRED) / HUNDRED
    completion_part = clamp(Decimal(completion), Decimal(0), Decimal(1))
    regularity_part = clamp(Decimal(regularity), Decimal(0), Decimal(1))
    total = weights.total()
    score = (weights.review * review_part + weights.completion * completion_part
             + weights.regularity * regularity_part) * HUNDRED / total
    score = score.quantize(Decimal("0.01"))
    inputs = {
        "review_score": {"value": str(review), "default": p.review_score is None, "weight": str(weights.review),
                         "points": str((weights.review * review_part * HUNDRED / total).quantize(Decimal("0.01")))},
        "completion": {"value": str(completion), "default": p.completion is None,
                       "counted": str(completion_part), "weight": str(weights.completion),
                       "points": str((weights.completion * completion_part * HUNDRED / total).quantize(
                           Decimal("0.01")))},
        "regularity": {"value": str(regularity), "default": p.regularity is None, "weight": str(weights.regularity),
                       "points": str((weights.regularity * regularity_part * HUNDRED / total).quantize(
                           Decimal("0.01")))},
    }
    return score, inputs


def _units(quantity: Decimal, unit: Decimal) -> int:
    """Whole units in ``quantity``, rounded down (a need of 10.0005 t at 0.001 t is 10000 units)."""
    return int((Decimal(quantity) / unit).to_integral_value(rounding=ROUND_FLOOR))


def _water_fill(supply: int, items: list[tuple[int, Fraction, int]]) -> dict[int, Fraction]:
    """Split ``supply`` (< the sum of needs) among ``(index, weight, need)`` in proportion to weight,
    none above its need: shares that would pass their need stop there and the rest is split again."""
    out: dict[int, Fraction] = {}
    left = Fraction(supply)
    active = [(i, w, n) for i, w, n in items if n > 0]
    positive = [it for it in active if it[1] > 0]
    zero = [(i, Fraction(n), n) for i, w, n in active if w == 0]
    for group in (positive, zero):
        while group and left > 0:
            total = sum(w for _, w, _ in group)
            capped = [(i, n) for i, w, n in group if left * w / total >= n]
            if not capped:
                for i, w, _ in group:
                    out[i] = left * w / total
                left = Fraction(0)
                break
            for i, n in capped:
                out[i] = Fraction(n)
                left -= n
            done = {i for i, _ in capped}
            group = [it for it in group if it[0] not in done]
    return out


def allocate(*, available: Decimal, participants: list[Participant], weights: Weights,
             class_order: list[str] | tuple[str, ...], unit: Decimal = Decimal("0.001"),
             defaults: Defaults | None = None) -> Result:
    """Allocate ``available`` among ``participants`` (see the module's rules)."""
    defaults = defaults or Defaults()
    unit = Decimal(unit)
    if unit <= 0:
        raise AllocationError("unit must be positive")
    if Decimal(available) < 0:
        raise AllocationError("available must not be negative")
    if min(weights.review, weights.completion, weights.regularity) < 0 or weights.total() <= 0:
        raise AllocationError("weights must not be negative and must not all be 0")
    keys = [p.key for p in participants]
    if len(set(keys)) != len(keys):
        raise AllocationError("participant keys must be unique")
    unknown = {p.cls for p in participants} - set(class_order)
    if unknown:
        raise AllocationError(f"classes not in the order: {sorted(map(str, unknown))}")

    ordered = sorted(participants, key=lambda p: (str(type(p.key)), p.key))
    shares: list[Share] = []
    need_units: list[int] = []
    for p in ordered:
        if Decimal(p.plan) < 0 or (p.capacity is not None and Decimal(p.capacity) < 0):
            raise AllocationError("plan and capacity must not be negative")
        cap = Decimal(p.plan) if p.capacity is None else min(Decimal(p.plan), Decimal(p.capacity))
        n = _units(cap, unit)
        need_units.append(n)
        score, inputs = score_of(p, weights, defaults)
        inputs["plan"] = str(p.plan)
        inputs["capacity"] = None if p.capacity is None else str(p.capacity)
        shares.append(Share(key=p.key, cls=p.cls, need=unit * n, score=score, allocated=Decimal(0),
                            rule=NO_NEED if n == 0 else EXHAUSTED, inputs=inputs))

    supply = _units(Decimal(available), unit)
    got = [0] * len(shares)
    classes: list[ClassSummary] = []
    for rank, cls in enumerate(class_order, start=1):
        members = [i for i, s in enumerate(shares) if s.cls == cls]
        need = sum(need_units[i] for i in members)
        before = supply
        if need <= supply:
            for i in members:
                got[i] = need_units[i]
                shares[i].exact = Fraction(need_units[i])
                if need_units[i]:
                    shares[i].rule = FULL
            supply -= need
        elif supply > 0:
            exact = _water_fill(supply, [(i, Fraction(shares[i].score) * need_units[i], need_units[i])
                                         for i in members])
            for i in members:
                if need_units[i] == 0:
                    continue
                e = exact.get(i, Fraction(0))
                shares[i].exact = e
                got[i] = e.numerator // e.denominator
                shares[i].rule = CAPPED if e >= need_units[i] else PROPORTIONAL
            left = supply - sum(got[i] for i in members)
            # Largest remainder: the units the rounding down left, one each.
            order = sorted((i for i in members if got[i] < need_units[i]),
                           key=lambda i: (-(shares[i].exact - got[i]), -shares[i].score, i))
            for i in order[:left]:
                got[i] += 1
            supply = 0
        classes.append(ClassSummary(cls=cls, rank=rank, need=unit * need, supply_before=unit * before,
                                    allocated=unit * (before - supply), short=need > before))
    for i, s in enumerate(shares):
        s.allocated = unit * got[i]
    allocated = unit * sum(got)
    return Result(shares=shares, classes=classes, available=Decimal(available), allocated=allocated,
                  unallocated=Decimal(available) - allocated, total_need=unit * sum(need_units))
