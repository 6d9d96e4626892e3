"""`python -m bench.workdays`: calls per second of the working-day arithmetic (kehu.workdays.calendar) on
the full statutory calendar chinese-calendar knows, in one pure-Python thread. Prints one JSON line per
benchmark like bench.run and merges them into bench/results/latest.json (entries of the same name are
replaced, all others kept)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.run import merge_results as merge
from kehu.workdays import statutory
from kehu.workdays.calendar import SlaRule, WorkCalendar

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
TARGETS = {"workdays_add_working_days": 500_000, "workdays_sla_due": None}  # calls/s; None: no target yet


def statutory_calendar() -> WorkCalendar:
    days = statutory.statutory_days()
    return WorkCalendar(holidays=[d.date for d in days if d.kind == statutory.HOLIDAY],
                        makeup_days=[d.date for d in days if d.kind == statutory.MAKEUP_WORKDAY],
                        loaded_years=statutory.statutory_years())


def rate(fn, args: list[tuple], seconds: float, repeats: int) -> float:
    """Best calls/s over ``repeats`` runs of at least ``seconds`` each, cycling through ``args``."""
    best = 0.0
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            for a in args:
                fn(*a)
            calls += len(args)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = max(best, calls / elapsed)
    return best


def emit(results: list, name: str, per_s: float, calls_sample: int) -> None:
    target = TARGETS[name]
    row = {"name": name, "rate_per_s": round(per_s), "inputs": calls_sample,
           "target": f">= {target}/s" if target else "none", "met": bool(target is None or per_s >= target)}
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)



def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum length of one timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per benchmark (the best counts)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    opts = parser.parse_args(argv)

    calendar = statutory_calendar()
    rng = random.Random(2025)
    years = statutory.statutory_years()
    first, last = dt.date(years[0], 1, 1).toordinal(), dt.date(years[-1], 12, 1).toordinal()
    # Receipt dates across the loaded years, counts as SLA policies use them (1–15 working days).
    add_args = [(dt.date.fromordinal(rng.randint(first, last)), rng.randint(1, 15)) for _ in range(10_000)]
    tz, rule = ZoneInfo("Asia/Shanghai"), SlaRule()
    due_args = [(dt.datetime.combine(d, dt.time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=tz), n, rule)
                for d, n in add_args]

    results: list = []
    emit(results, "workdays_add_working_days",
         rate(calendar.add_working_days, add_args, opts.seconds, opts.repeats), len(add_args))
    emit(results, "workdays_sla_due", rate(calendar.sla_due, due_args, opts.seconds, opts.repeats), len(due_args))
    if not opts.no_write:
        merge(results)
    return results


if __name__ == "__main__":
    main()
