"""Rotation fairness over a simulated month on the database (issue 13 "rotation fairness over a simulated
month"): March 2026's working days at 华东区's desk, four reps on the roster every day, the rotation carried
over from day to day; reps sent out on assigned duties and back (make-ups), customers asking for a rep
(designated) and returning customers (their own rep) mixed in. Every new walk-in is one counted turn, the
others none, and at the month's end every rep has had the same number of turns within one; the month's
statistics count the same."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from kehu.customers.tests.factories import org_customer
from kehu.sales.reception import selectors, services
from kehu.sales.reception.models import DutyDay, RegisterEntry

from .conftest import walk_in


def test_rotation_fairness_over_a_simulated_month_through_the_register(office):
    from kehu.access.services import user_create

    rng = random.Random(20260301)
    rep4 = user_create(
        actor=None,
        username="rep4",
        password=office.password,
        role="account_manager",
        department=office.depts["east"],
        display_name="赵磊",
    )
    reps = [office.rep, office.rep2, office.rep3, rep4]
    regulars = {
        r.pk: org_customer(r, f"杭州{r.display_name}老客户有限公司", serial=60 + i)
        for i, r in enumerate(reps)
    }
    days = [dt.date(2026, 3, d) for d in range(2, 32) if dt.date(2026, 3, d).weekday() < 5]
    expected_counted = 0
    not_counted = 0
    for day in days:
        services.roster_set(actor=office.manager, day=day, reps=[r.pk for r in reps])
        out = rng.choice(reps) if rng.random() < 0.5 else None
        minute = 0
        for i in range(rng.randint(4, 9)):
            minute += 7
            if out is not None and i == 1:
                services.shift_status_set(actor=office.manager, day=day, rep=out.pk, status="out")
            if out is not None and i == 4:
                services.shift_status_set(actor=out, day=day, rep=out.pk, status="present")
            roll = rng.random()
            if roll < 0.1:  # the customer asks for a rep on arrival: not counted
                e = walk_in(
                    office,
                    actor=office.manager,
                    day=day,
                    hour=9 + minute // 60,
                    minute=minute % 60,
                    designated_rep=rng.choice(reps).pk,
                )
                not_counted += 1
            elif (
                roll < 0.2
            ):  # a returning customer goes to their own rep (or a courtesy reception): not counted
                owner = rng.choice(reps)
                e = walk_in(
                    office,
                    actor=office.manager,
                    day=day,
                    hour=9 + minute // 60,
                    minute=minute % 60,
                    customer=regulars[owner.pk].pk,
                    visitor_name="",
                )
                assert e.rep == owner or e.assignment == "courtesy"
                not_counted += 1
            else:
                e = walk_in(office, actor=office.manager, day=day, hour=9 + minute // 60, minute=minute % 60)
                assert e.counted
                expected_counted += 1
        if out is not None:  # back at the desk before the day ends; make-ups owed are received the same day
            services.shift_status_set(actor=out, day=day, rep=out.pk, status="present")
        while DutyDay.objects.get(department=office.depts["east"], day=day).makeups:
            minute += 7
            e = walk_in(office, actor=office.manager, day=day, hour=9 + minute // 60, minute=minute % 60)
            assert e.assignment == "makeup"
            expected_counted += 1
    entries = RegisterEntry.objects.filter(day__gte=days[0], day__lte=days[-1])
    turns = Counter(entries.filter(counted=True).values_list("rep_id", flat=True))
    assert sum(turns.values()) == expected_counted
    assert entries.filter(counted=False).count() == not_counted
    per_rep = [turns[r.pk] for r in reps]
    assert max(per_rep) - min(per_rep) <= 1, per_rep
    stats = selectors.statistics(actor=office.manager, period="month", on=dt.date(2026, 3, 15))
    assert stats["totals"]["walk_ins"] == expected_counted + not_counted
    assert stats["totals"]["turns"] == expected_counted
    by_rep = {r["rep_id"]: r["turns"] for r in stats["by_rep"]}
    assert all(by_rep.get(r.pk, 0) == turns[r.pk] for r in reps)
