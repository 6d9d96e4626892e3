"""Demo data of grading, loaded after the orders demo: the polyolefin pickup policy (004 第13篇 第九条)
active and run, an RFM policy active and run, a scorecard draft to preview, and each polyolefin grade's
service policy (000 2.2). Grades the demo company's customers on their 12 months of orders."""

from __future__ import annotations

import datetime as dt
import random

from kehu.grading import services
from kehu.grading.kinds import rfm, scorecard, threshold
from kehu.grading.models import GradingPolicy

POLYOLEFIN = "聚烯烃月提货量分级"
RFM = "RFM 客户价值分群"
SCORECARD = "客户综合评分（2.1 价值/战略/互动）"

SERVICE = [  # grade, dedicated manager, complaint SLA, request SLA, inspection cycle, visit every, priorities
    ("三星", True, 1, 1, 30, 14, 1, 1),
    ("二星", True, 1, 2, 60, 30, 2, 2),
    ("一星", False, 2, 3, 90, 60, 3, 3),
    ("普通", False, None, None, 180, 90, 4, 4),
    ("网拍", False, None, None, None, 180, 5, 5),
]


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    admin = users["admin"]
    if GradingPolicy.objects.filter(name=POLYOLEFIN).exists():
        return "grading demo already loaded"
    as_of = services.default_as_of(today)
    runs = []
    for name, kind, config in ((POLYOLEFIN, "threshold", {**threshold.DEFAULT_CONFIG, "months": 1,
                                                          "aggregate": "total"}),
                               (RFM, "rfm", rfm.DEFAULT_CONFIG)):
        policy = services.policy_create(actor=admin, name=name, kind=kind, config=config,
                                        description="演示数据" if kind == "rfm" else "化工品客户管理办法 第九条")
        run = services.policy_activate_and_run(actor=admin, policy_id=policy.pk, as_of=as_of)
        runs.append(services.run_execute(run_id=run.pk))
    services.policy_create(actor=admin, name=SCORECARD, kind="scorecard", config=scorecard.DEFAULT_CONFIG,
                           description="价值、战略、互动三维加权（草稿，可预览）")
    for grade, manager, complaint, request, inspection, visit, response, resource in SERVICE:
        services.service_policy_set(actor=admin, policy_name=POLYOLEFIN, grade=grade, dedicated_manager=manager,
                                    complaint_sla_working_days=complaint, service_request_sla_working_days=request,
                                    inspection_cycle_days=inspection, visit_every_days=visit,
                                    response_priority=response, resource_priority=resource)
    graded = ", ".join(f"{r.policy.name}: {r.customers} customers, {r.changed} changed" for r in runs)
    return f"grading: {graded}"
