"""Demo data of registration and ownership: a month of daily registrations (客户登记) by the demo reps, most
verified by their manager, one correction; a registration made 40 days ago that lapsed to the public pool
(公海) and was claimed by another rep; a referral (推荐带客) of a friend who came today, confirmed; and one
open ownership dispute (归属争议)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Customer
from kehu.errors import DomainError
from kehu.sales.ownership import services
from kehu.sales.ownership.models import Registration

REPS = ("rep", "rep2", "north_rep", "south_rep")
NOTES = ["客户到访，看了样品", "电话咨询报价", "展会接待，留了名片", "老客户介绍过来", "来电询问交货期", "到店洽谈年度框架协议", ""]


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.choice((0, 15, 30, 45)))))


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if Registration.objects.exists():
        return "ownership: demo registrations already there"
    today = today or timezone.localdate()
    reps = [users[k] for k in REPS if users.get(k)]
    books = {r.pk: list(Customer.objects.filter(owner=r, deleted_at__isnull=True, status="active",
                                                stage__in=("prospect", "intent")).order_by("id")[:40]) for r in reps}
    made = 0
    # The lapse: 张伟 registered a customer 40 days ago and never followed up.
    lapsed = books[reps[0].pk].pop() if books.get(reps[0].pk) else None
    if lapsed is not None:
        services.registration_create(actor=reps[0], customer_id=lapsed.pk, channel="visit", note="展会接待",
                                     now=_at(today - dt.timedelta(days=40), rng))
        made += 1
    own = books.get(reps[0].pk) or []
    friend = own.pop() if own else None  # kept for the referral
    disputed = own.pop() if own else None  # kept for the dispute
    for back in range(28, -1, -1):
        day = today - dt.timedelta(days=back)
        for rep in reps:
            book = books.get(rep.pk) or []
            if not book or rng.random() < 0.35:
                continue
            customer = book.pop(0)
            services.registration_create(actor=rep, customer_id=customer.pk, channel=rng.choice(("visit", "call")),
                                         note=rng.choice(NOTES), now=min(_at(day, rng), timezone.now()))
            made += 1
    verified = 0
    managers = {"rep": "manager", "rep2": "manager", "north_rep": "north_manager", "south_rep": "manager"}
    for key in REPS:
        rep, manager = users.get(key), users.get(managers[key])
        if rep is None or manager is None:
            continue
        old = Registration.objects.filter(rep=rep, registered_at__lt=timezone.now() - dt.timedelta(days=3)).order_by("id")
        for reg in old:
            try:
                services.registration_verify(actor=manager, registration_id=reg.pk, verdict="confirmed")
                verified += 1
            except DomainError:
                break  # outside the manager's scope
    first = Registration.objects.filter(rep=reps[0], channel="call").order_by("id").first()
    if first is not None:
        services.registration_correct(actor=reps[0], registration_id=first.pk, channel="visit",
                                      note="实为到访，误录为来电")
    swept = services.pool_sweep(idle=False)
    claimed = 0
    # The claimant: the rep with the smallest book, so the demo stays within the maximum a rep may hold
    # (KEHU_POOL_MAX_HELD) whatever the size of the demo company (make run loads 2,000 customers).
    # The reception desk's reps (王芳, 赵磊, loaded just before) start with small books.
    from django.contrib.auth import get_user_model

    candidates = [*reps[1:], *get_user_model().objects.filter(username__in=("rep_wang", "rep_zhao"), is_active=True)]
    held = {r.pk: Customer.objects.filter(owner=r, deleted_at__isnull=True).count() for r in candidates}
    claimant = min(candidates, key=lambda r: held[r.pk], default=None)
    if lapsed is not None and claimant is not None and held[claimant.pk] < services.cfg()["max_held"]:
        services.pool_claim(actor=claimant, customer_id=lapsed.pk, note="公海领取，计划本周回访")
        claimed = 1
    referred = 0
    if friend is not None and len(reps) > 1:
        ref = services.referral_create(actor=reps[0], customer_id=friend.pk, relation="friend",
                                       expected_visit_on=today, note="大学同学，计划今天下午到访")
        services.registration_create(actor=reps[1], customer_id=friend.pk, channel="visit", note="推荐客户到访")
        services.referral_decide(actor=users["manager"], referral_id=ref.pk, confirm=True)
        referred = 1
    disputes = 0
    north = users.get("north_rep")
    if disputed is not None and north is not None:
        services.dispute_raise(actor=north, customer_id=disputed.pk,
                               statement="该客户上月在北京展会由我首次接待，有展会签到表为证")
        disputes = 1
    return (f"ownership: {made} registrations ({verified} verified), {swept['lapsed']} lapsed to the pool, "
            f"{claimed} claimed, {referred} referral, {disputes} dispute")
