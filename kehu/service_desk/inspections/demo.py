"""Demo inspections: two checklists, plans for about 60 customers, a history of filed reports with
realistic findings, the coming visits, and a few overdue ones. Everything goes through the services."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.service_desk.inspections import cycles, services
from kehu.service_desk.inspections.models import (
    InspectionChecklist,
    InspectionPlan,
    InspectionVisit,
    VisitState,
)

CHECKLISTS = [
    ("设备巡检", "生产设备与配套设施的定期巡检", [
        ("设备运行状态", "温度、振动、噪声、油位"),
        ("系统稳定性", "控制系统报警记录、停机次数"),
        ("安全隐患", "防护罩、急停按钮、接地、消防设施"),
        ("备件库存", "易损件、密封件、轴承的库存"),
        ("操作人员培训", "操作规程掌握情况、上岗证"),
    ]),
    ("信息系统巡检", "客户现场服务器与网络的巡检", [
        ("服务器运行状态", "CPU、内存、磁盘使用率"),
        ("网络与链路", "丢包、延迟、备用链路切换"),
        ("数据备份", "最近一次备份与恢复演练"),
        ("安全补丁与病毒库", ""),
        ("机房环境", "温湿度、UPS、空调"),
    ]),
]
ISSUES = [
    ("设备运行状态", "2号机组振动偏大", "建议下月更换轴承"),
    ("设备运行状态", "空压机排气温度偏高", "建议清洗冷却器并检查油路"),
    ("安全隐患", "配电柜接地线松动", "已现场紧固，建议每月复查"),
    ("安全隐患", "灭火器压力不足两具", "建议本周内更换"),
    ("备件库存", "密封件库存低于安全库存", "建议补充采购一批原厂密封件"),
    ("操作人员培训", "新上岗操作工两名未培训", "建议安排一次现场操作培训"),
    ("系统稳定性", "PLC 上周报警三次", "建议升级控制程序并加装稳压电源"),
    ("数据备份", "近一个月未做恢复演练", "建议本季度安排一次恢复演练"),
    ("服务器运行状态", "数据库服务器磁盘使用率 92%", "建议扩容或清理历史日志"),
    ("机房环境", "UPS 电池已使用五年", "建议年内更换电池组"),
]
SIGNERS = ["王工", "李主任", "赵科长", "陈经理", "刘工程师", "孙主管", "周厂长"]


def _checklists(admin) -> list[InspectionChecklist]:
    out = []
    for name, description, items in CHECKLISTS:
        existing = InspectionChecklist.objects.filter(name=name).first()
        out.append(existing or services.checklist_create(actor=admin, data={
            "name": name, "description": description, "items": [{"label": a, "hint": b} for a, b in items]}))
    return out


def _report_data(checklist: InspectionChecklist, rng: random.Random, performed_at: dt.datetime) -> dict:
    items = list(checklist.items.order_by("position"))
    labels = {i.label for i in items}
    candidates = [x for x in ISSUES if x[0] in labels]
    found = rng.sample(candidates, k=min(len(candidates), rng.choice([0, 0, 1, 1, 2])))
    by_label = {label: (finding, suggestion) for label, finding, suggestion in found}
    results = []
    for item in items:
        if item.label in by_label:
            results.append({"item": item.pk, "answer": "issue", "note": by_label[item.label][0]})
        else:
            results.append({"item": item.pk, "answer": "na" if rng.random() < 0.05 else "ok", "note": ""})
    if found:
        findings = "；".join(f for _l, f, _s in found) + "。"
        suggestions = "；".join(s for _l, _f, s in found) + "。"
    else:
        findings, suggestions = "各项检查正常，设备运行平稳。", "保持日常点检，按计划下次巡检。"
    return {"performed_at": performed_at, "results": results, "findings": findings, "suggestions": suggestions,
            "signed_by": rng.choice(SIGNERS), "follow_up_needed": bool(found) and rng.random() < 0.5}


def _inspector_for(customer, inspectors: list, users: dict, rng: random.Random):
    """Mostly the customer's own rep (who knows the site), else the service desk; never someone from
    another region."""
    roll = rng.random()
    if customer.owner in inspectors and roll < 0.7:
        return customer.owner
    return users.get("agent") or rng.choice(inspectors)


def demo_load(*, users: dict, rng: random.Random) -> str:
    """Checklists, ~60 plans with a history of reports, the coming visits and some overdue ones."""
    from kehu.customers.models import Customer

    admin = users["admin"]
    if InspectionPlan.objects.exists():
        return "inspections: already loaded"
    checklists = _checklists(admin)
    inspectors = [u for key in ("agent", "rep", "rep2", "north_rep", "south_rep") if (u := users.get(key))]
    customers = list(Customer.objects.filter(deleted_at__isnull=True, kind="organization").order_by("id")[:60])
    today = timezone.localdate()
    now = timezone.now()
    importance = ["key"] * 2 + ["important"] * 3 + ["normal"] * 5
    plans, reports = 0, 0
    for n, customer in enumerate(customers):
        level = rng.choice(importance)
        cycle = services.default_cycle(level)[0]
        rounds = rng.randint(1, 3)
        # Start far enough back for the history, within the one year a plan may look back.
        start = today - dt.timedelta(days=min(360, cycle * rounds + rng.randint(5, 25)))
        late = n % 8 == 3  # about one plan in eight is behind
        plan = services.plan_create(actor=admin, data={
            "customer": customer.pk, "checklist": checklists[n % 5 == 4].pk, "importance": level,
            "inspector": _inspector_for(customer, inspectors, users, rng).pk, "next_due": start})
        plans += 1
        while plan.next_due <= today:
            visit = services.visit_schedule_next(actor=admin, plan_id=plan.pk)
            if late and cycles.advance(plan.next_due, plan.cycle_length, plan.cycle_unit) > today:
                break  # leave the last round open: it is overdue
            day = visit.scheduled_date - dt.timedelta(days=rng.randint(0, 3))
            performed = min(timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(9, 16), 30))),
                            now - dt.timedelta(hours=1))
            if rng.random() < 0.06:
                services.visit_cancel(actor=admin, visit_id=visit.pk, reason="客户停产检修，本轮巡检取消")
            else:
                services.visit_report(actor=visit.inspector, visit_id=visit.pk,
                                      data=_report_data(plan.checklist, rng, performed))
                reports += 1
            plan.refresh_from_db()
    services.visits_generate(today=today)
    overdue = services.visits_overdue_sweep()["flagged"]
    upcoming = InspectionVisit.objects.filter(state=VisitState.SCHEDULED, overdue_at__isnull=True).count()
    return (f"inspections: {len(checklists)} checklists, {plans} plans, {reports} reports, "
            f"{upcoming} upcoming and {overdue} overdue visits")
