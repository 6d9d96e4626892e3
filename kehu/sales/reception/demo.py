"""Demo data of reception: 华东区's sales office over the last month — a duty roster every day (copied from
the day before, the order turned by one each week), reps now and then absent or sent out by the manager
(make-up turns), walk-ins through the day from believable sources (passing by, outdoor and online ads,
friends' and customers' referrals, the company's own), calls, returning customers to their rep,
designated receptions, refusals (one still waiting for the manager), and today's walk-ins being
received. Everything goes through the services."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.access.models import User
from kehu.customers.models import Customer
from kehu.errors import DomainError
from kehu.sales.reception import services
from kehu.sales.reception.models import DutyDay, RegisterEntry, SourceChannel

DAYS = 30
EXTRA_REPS = [("rep_wang", "王芳"), ("rep_zhao", "赵磊")]
PASSWORD = "Kehu#Rep2026"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
TITLES = ["先生", "女士"]
INTENTIONS = ["三居室，预算300万左右", "两居室，首套刚需", "改善型四居室，关注学区", "看商铺，投资用途",
              "写字楼整层，公司自用", "给父母买一楼带院", "比较几个楼盘的价格", "了解付款方式和贷款政策",
              "关注交房时间和装修标准", "想看样板间", "咨询车位价格", "老客户带朋友来看房"]
CALL_INTENTIONS = ["咨询开盘时间", "询问均价", "问周末是否有活动", "了解户型面积", "咨询看房路线", "问能否线上选房"]
SOURCE_WEIGHTS = {"passing_by": 18, "ad_outdoor": 14, "ad_online": 16, "ad_newspaper": 4, "website": 10,
                  "referral_friend": 12, "referral_customer": 10, "exhibition": 6, "company": 3, "other": 2}
OUTCOMES = [("registered", 45), ("left", 25), ("appointment", 20), ("deposit", 6), ("info", 4)]


def _pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(TITLES)


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "136", "158", "186", "189"]) + f"{rng.randint(0, 99999999):08d}"


def _reps(users: dict) -> list[User]:
    from kehu.access.services import user_create

    base = [users[k] for k in ("rep", "rep2") if users.get(k) is not None]
    if not base:
        return []
    dept = base[0].department
    extra = []
    for username, name in EXTRA_REPS:
        user = User.objects.filter(username=username).first() or user_create(
            actor=None, username=username, password=PASSWORD, role="account_manager", department=dept,
            display_name=name)
        extra.append(user)
    return base + extra


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None, days: int = DAYS) -> str:
    manager = users.get("manager")
    if manager is None or manager.department_id is None:
        return "reception: no sales manager, nothing loaded"
    if DutyDay.objects.filter(department_id=manager.department_id).exists():
        return "reception: demo roster already there"
    today = today or timezone.localdate()
    reps = _reps(users)
    if len(reps) < 2:
        return "reception: not enough reps, nothing loaded"
    sources = {s.code: s for s in SourceChannel.objects.filter(active=True)}
    weights = {k: w for k, w in SOURCE_WEIGHTS.items() if k in sources}
    customers = list(Customer.objects.filter(department_id=manager.department_id, owner__in=reps,
                                             deleted_at__isnull=True).only("pk", "name", "owner_id")[:200])
    order = [r.pk for r in reps]
    walk_ins = calls = refusals = 0
    for back in range(days, -1, -1):
        day = today - dt.timedelta(days=back)
        if back % 7 == 0:
            order = order[1:] + order[:1]  # the order turns once a week
        services.roster_set(actor=manager, day=day, reps=order, note="周末加班" if day.weekday() >= 5 else "")
        w, c, f = _day(rng, day=day, manager=manager, reps=reps, sources=sources, weights=weights,
                       customers=customers, is_today=back == 0)
        walk_ins, calls, refusals = walk_ins + w, calls + c, refusals + f
    return (f"reception: {days + 1} days of roster for {len(reps)} reps, {walk_ins} walk-ins, {calls} calls, "
            f"{refusals} refusals")


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 0) + dt.timedelta(minutes=minutes))


def _day(rng, *, day, manager, reps, sources, weights, customers, is_today) -> tuple[int, int, int]:
    weekend = day.weekday() >= 5
    n_walk = rng.randint(8, 16) if weekend else rng.randint(3, 9)
    n_call = rng.randint(4, 12)
    now = timezone.now()
    times = sorted(rng.sample(range(0, 9 * 60), n_walk + n_call))
    if is_today:
        # what the desk has written so far; before it opens (a demo loaded after midnight) the morning's first
        # entries, so that today always shows walk-ins being received and one refusal waiting for the manager
        past = [t for t in times if _at(day, t) <= now]
        times = past if len(past) >= 4 else times[:4]
    kinds = ["walk_in"] * n_walk + ["call"] * n_call
    rng.shuffle(kinds)
    if is_today and kinds[0] != "walk_in":  # today opens with a walk-in (n_walk ≥ 3)
        w = kinds.index("walk_in")
        kinds[0], kinds[w] = kinds[w], kinds[0]
    desk = reps[0]
    # now and then a rep is absent in the morning or sent out by the manager for a while
    away = None
    if rng.random() < 0.35:
        away = (rng.choice(reps), rng.choice(["absent", "out"]), rng.randint(1, 3))
        services.shift_status_set(actor=manager, day=day, rep=away[0].pk, status=away[1])
    walk = call = refused = 0
    for i, (minutes, kind) in enumerate(zip(times, kinds, strict=False)):
        if away and i == away[2] * 2:
            services.shift_status_set(actor=manager, day=day, rep=away[0].pk, status="present")
            away = None
        data = {"kind": kind, "source": sources[_pick(rng, weights)].pk, "visitor_name": _name(rng),
                "visitor_phone": _phone(rng) if rng.random() < 0.8 else "",
                "intention": rng.choice(CALL_INTENTIONS if kind == "call" else INTENTIONS),
                "party_size": rng.choice([1, 1, 2, 2, 2, 3, 4])}
        roll = 1.0 if is_today and i == 0 else rng.random()  # today's first walk-in: by rotation (counted)
        if kind == "walk_in" and customers and roll < 0.15:
            data["customer"] = rng.choice(customers).pk  # a returning customer: to their rep
        elif kind == "walk_in" and roll < 0.22:
            data["designated_rep"] = rng.choice(reps).pk  # asks for a rep by name
        if kind == "walk_in" and sources.get("company") and data["source"] == sources["company"].pk:
            data["arranged_by_company"] = rng.random() < 0.3
        try:
            entry = services.entry_create(actor=desk, data=data, now=_at(day, minutes))
        except DomainError:
            continue
        if kind == "call":
            call += 1
            continue
        walk += 1
        if is_today and i >= len(times) - 3:
            continue  # still being received
        if entry.counted and rng.random() < 0.04:
            services.entry_refuse(actor=entry.rep, entry_id=entry.pk, reason=rng.choice(
                ["客户觉得讲解不够专业，要求换人", "客户与该顾问沟通不顺畅", "客户点名要之前接触过的顾问"]))
            refused += 1
            if not is_today:
                services.refusal_resolve(actor=manager, entry_id=entry.pk, decision="reassigned")
            continue
        outcomes = dict(OUTCOMES)
        if entry.customer_id is not None and entry.customer.owner_id != entry.rep_id:
            # a returning customer whose own rep is not on duty: received by another, who cannot register them
            outcomes = {k: w for k, w in outcomes.items() if k not in ("registered", "deposit")}
        services.entry_outcome_set(actor=entry.rep, entry_id=entry.pk, outcome=_pick(rng, outcomes))
    if is_today and not RegisterEntry.objects.filter(day=day, refusal="pending").exists():
        last = RegisterEntry.objects.filter(day=day, kind="walk_in", counted=True).order_by("-at").first()
        if last is not None:
            services.entry_refuse(actor=last.rep, entry_id=last.pk, reason="客户要求更换置业顾问")
            refused += 1
    return walk, call, refused
