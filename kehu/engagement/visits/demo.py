"""Demo data of visit plans and reports, loaded after grading (the plans follow the customers' grades): this
year's annual plans of the demo account managers, the visits before today mostly done (a few overdue, a
few cancelled with a reason), a dozen visit reports with their scores and suggestions (some answered),
a return visit to a key account awaiting the manager's authorisation, and three executive mutual visits."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from kehu.engagement.visits import selectors, services
from kehu.engagement.visits.models import ExecutiveVisit, ScheduledVisit, VisitPlan, VisitState

REPS = ("rep", "rep2", "north_rep", "south_rep")
MARKET = ["竞品降价约5%，部分客户开始比价", "华东地区下游需求回暖，订单环比增长", "原料价格上涨，客户担心下季度成本",
          "竞争对手推出新牌号，主打低价", "行业淡季，客户库存偏高", "出口订单增加，客户扩产意向明显"]
NEEDS = ["希望缩短交货期至7天以内", "希望提供更灵活的账期", "需要技术人员上门指导新产品使用",
         "希望包装改为吨袋", "希望每月提前锁定供货量", "希望提供质量检测报告"]
PRODUCT = ["PE管材料使用稳定，加工性能良好", "PP拉丝料批次间熔指波动略大", "新牌号试用效果良好，准备批量采购",
           "产品外观质量满意"]
SUGGEST = [("delivery", "建议在华东设立前置仓，缩短交货期"), ("quality", "包装袋破损率偏高，建议改用加厚编织袋"),
           ("service", "希望客服热线延长服务时间"), ("price", "建议对长期合作客户给予季度返利"),
           ("product", "希望开发耐低温牌号")]
ANSWERS = ["已与物流部研究，明年一季度在嘉兴启用前置仓", "质量部已通知包装车间改用加厚编织袋，下批起执行",
           "客服部评估后将热线延长至晚八点", "销售部将在年度合同中明确返利政策"]
SIGNATORIES = [("王建国", "总经理"), ("李秀英", "采购经理"), ("张伟明", "副总经理"), ("陈丽", "供应部部长")]


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if VisitPlan.objects.exists():
        return "visits: demo plans already there"
    today = today or timezone.localdate()
    year = today.year
    admin, manager = users["admin"], users["manager"]
    plans = []
    for key in REPS:
        owner = users.get(key)
        if owner is None:
            continue
        plans.append(services.plan_generate(actor=admin, year=year, owner_id=owner.pk, start=dt.date(year, 1, 1)))
    _tick_past(rng, today)
    reports = _reports(users, rng, today)
    for plan in plans[:2]:
        services.plan_submit(actor=plan.owner, plan_id=plan.pk)
        services.plan_approve(actor=admin if plan.owner.department_id != manager.department_id else manager,
                              plan_id=plan.pk, note="同意")
    if len(plans) > 2:
        services.plan_submit(actor=plans[2].owner, plan_id=plans[2].pk)
    _return_visit(users, today)
    execs = _executive(users, rng, today)
    n = ScheduledVisit.objects.count()
    return f"visits: {len(plans)} plans, {n} visits, {reports} reports, {execs} executive visits"


@transaction.atomic
def _tick_past(rng: random.Random, today: dt.date) -> None:
    """Visits before today: about 98.5 % done (on their day), 1 % cancelled, the rest overdue."""
    tz = timezone.get_default_timezone()
    past = list(ScheduledVisit.objects.filter(planned_on__lt=today, state=VisitState.SCHEDULED))
    for v in past:
        roll = rng.random()
        if roll < 0.985:
            v.state = VisitState.DONE
            v.done_at = dt.datetime.combine(v.planned_on, dt.time(rng.randint(9, 16), rng.choice((0, 30))), tzinfo=tz)
        elif roll < 0.995:
            v.state = VisitState.CANCELLED
            v.cancel_reason = rng.choice(["客户停产检修", "客户负责人出差，改为电话沟通", "合并到下次走访"])
    ScheduledVisit.objects.bulk_update(past, ["state", "done_at", "cancel_reason"], batch_size=2000)


def _reports(users: dict, rng: random.Random, today: dt.date) -> int:
    from kehu.engagement.visits.models import ScaleItem

    items = {}
    for item in ScaleItem.objects.filter(active=True):
        items.setdefault(item.scale, []).append(item)
    count = 0
    for key in ("rep", "rep2", "north_rep"):
        owner = users.get(key)
        if owner is None:
            continue
        visits = list(ScheduledVisit.objects.filter(owner=owner, state=VisitState.DONE,
                                                    planned_on__gte=today - dt.timedelta(days=90))
                      .select_related("customer").order_by("-planned_on")[:4])
        for visit in visits:
            name, title = rng.choice(SIGNATORIES)
            picks = {scale: rng.choice(rows[:4]) for scale, rows in items.items()}
            suggestions = []
            if rng.random() < 0.75:
                topic, text = rng.choice(SUGGEST)
                suggestions.append({"topic": topic, "text": text})
            report = services.report_file(actor=owner, visit_id=visit.pk, data={
                "quality": picks["quality"].pk, "service": picks["service"].pk, "reputation": picks["reputation"].pk,
                "visited_on": visit.planned_on.isoformat(), "product_info": rng.choice(PRODUCT),
                "market_info": rng.choice(MARKET), "needs": rng.choice(NEEDS),
                "other_suggestions": "希望加强技术交流" if rng.random() < 0.3 else "",
                "legal_representative": name, "principal_name": name, "principal_title": title,
                "principal_mobile": f"139{rng.randint(10000000, 99999999)}", "handler_name": "刘强",
                "handler_title": "业务主办", "handler_mobile": f"138{rng.randint(10000000, 99999999)}",
                "signatory_name": name, "suggestions": suggestions})
            count += 1
            for s in report.suggestions.all():
                if s.addressee_id and rng.random() < 0.5:
                    services.suggestion_answer(actor=s.addressee, suggestion_id=s.pk, answer=rng.choice(ANSWERS))
    return count


def _return_visit(users: dict, today: dt.date) -> None:
    """A return visit to one of 张伟's key accounts, waiting for 李经理's authorisation."""
    rep = users.get("rep")
    if rep is None:
        return
    keys = services.key_account_ids(ScheduledVisit.objects.filter(owner=rep).values_list("customer_id", flat=True)
                                    .distinct()[:500])
    plan = VisitPlan.objects.filter(owner=rep, year=today.year).first()
    if not keys or plan is None:
        return
    from kehu.workdays.selectors import calendar_get

    day = calendar_get().add_working_days(today, 3)
    if day.year != today.year:
        day = calendar_get().working_day_on_or_after(today)
    if day.year != today.year or not calendar_get().is_working_day(day):
        return
    was = plan.state
    VisitPlan.objects.filter(pk=plan.pk).update(state="draft")
    services.visit_add(actor=rep, plan_id=plan.pk, data={"customer": sorted(keys)[0], "planned_on": day.isoformat(),
                                                         "purpose": "大客户回访：年度合作满意度", "is_return_visit": True})
    VisitPlan.objects.filter(pk=plan.pk).update(state=was)


def _executive(users: dict, rng: random.Random, today: dt.date) -> int:
    if ExecutiveVisit.objects.exists():
        return 0
    manager, executive = users["manager"], users.get("ceo") or users.get("executive") or users["admin"]
    rep = users.get("rep")
    customers = list(selectors.visit_base(actor=manager).filter(owner=rep).values_list("customer_id", flat=True)
                     .distinct()[:3]) if rep else []
    tz = timezone.get_default_timezone()
    rows = [("年度战略合作会谈", -40, "杭州总部 3号会议室", "双方确认明年供货量增加20%，建立季度高层沟通机制"),
            ("新产品推介与工厂参观", 10, "宁波生产基地", ""),
            ("高层互访：年度合作回顾", 25, "客户总部会议室", "")]
    n = 0
    for cid, (purpose, days, place, outcome) in zip(customers, rows, strict=False):
        when = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(14, 0), tzinfo=tz)
        v = services.executive_create(actor=manager, data={
            "customer": cid, "purpose": purpose, "starts_at": when, "place": place,
            "our_participants": [executive.pk, manager.pk], "customer_participants": [],
            "customer_participants_note": "客户方总经理、采购总监",
            "direction": "outbound" if n != 1 else "inbound"})
        if outcome:
            services.executive_record_outcome(actor=manager, visit_id=v.pk, outcome=outcome)
        n += 1
    return n
