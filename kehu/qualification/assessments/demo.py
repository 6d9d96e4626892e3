"""Demo data of the assessments: last quarter's run over the demo company (through the real service), the
cooperation of up to 40 customers scored by the manager, the run finalised (the scores go to grading), and a
proposal to give one well-paying customer a credit limit, waiting for finance."""

from __future__ import annotations

import random

from django.utils import timezone

from kehu.qualification.assessments import scoring, services
from kehu.qualification.assessments.models import Assessment, AssessmentRun


def demo_load(*, users: dict, rng: random.Random) -> str:
    if AssessmentRun.objects.exists():
        return "assessments: demo run already there"
    manager = users.get("admin") or users.get("manager")
    year, number = scoring.previous_period("quarter", timezone.localdate())
    run = services.run_create(actor=manager, period_kind="quarter", year=year, number=number)
    scored = 0
    for a in Assessment.objects.filter(run=run).order_by("-total", "id")[:40]:
        services.cooperation_score_set(actor=manager, assessment_id=a.pk, score=rng.choice((70, 80, 85, 90, 95)),
                                       note=rng.choice(["按计划提货，配合度高", "对账及时", "响应较慢，需督促"]))
        scored += 1
    proposal = 0
    best = (Assessment.objects.filter(run=run, credit_score__gte=95, terms_kind__in=["", "prepay"])
            .order_by("-total", "id").first())
    if best is not None:
        try:
            services.terms_propose(actor=manager, assessment_id=best.pk, kind="credit", credit_limit="500000.00",
                                   credit_days=30, reason=f"{run.label}考评优秀，回款及时，建议给予50万元信用额度、30天账期")
            proposal = 1
        except Exception:  # noqa: BLE001 — no finance user in a trimmed demo: the run still stands
            proposal = 0
    services.run_finalize(actor=manager, run_id=run.pk)
    return (f"assessments: {run.label} run over {run.customers} customers, {scored} cooperation scores, "
            f"{proposal} payment-terms proposal")
