"""Demo data: complaints in every state of the procedure — received on the hotline, by letter, at the
counter and on the public form — with believable Chinese text, created through the services as the
agents would. General complaints' solutions are approved through the approval engine by the
supervisors; major and serious ones are left waiting for the managers' meeting. Some are overdue
(breached, escalated), some wait for a deadline extension, some are answered and wait for their
return visit. Then the SLA sweep runs, so every board and report has content.

Complaints about a known customer are recorded with that customer (the receiver picks it in the form),
so their deadlines follow the customer's grade as in real use: a major complaint about a 三星 customer is
due in the grade's working days, with its "Deadline set" step in the history. About half of them are
about customers whose grade's service policy promises a complaint deadline (every major or serious one
when there are such customers), so the demo shows some."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import F, Q
from django.utils import timezone

from kehu.customers.models import Customer
from kehu.service_desk import services, sla, workflow
from kehu.service_desk.models import Complaint, ComplaintEvent

CASES = [
    # (subject, description, category, cause, solution, reply)
    ("订单发货延迟五天", "三月份下的两吨聚丙烯订单，合同约定五日内发货，至今未收到物流信息，影响我方排产。",
     "物流", "仓库排班调整，订单漏排。", "当日安排专车补发，免收本单运费。", "已安排专车补发，预计明日送达，本单运费全免，再次致歉。"),
    ("发票金额与合同不符", "收到的增值税专用发票金额比合同少了 3,600 元，无法入账，请尽快重开。",
     "财务", "开票时引用了旧版报价单。", "作废原发票，按合同金额重新开具并快递寄出。", "原发票已作废，新发票已开具并寄出，快递单号已短信告知。"),
    ("客服热线长时间无人接听", "连续三天拨打客服热线，每次等待超过十分钟都无人接听。",
     "服务态度", "午间只有一名坐席值班。", "午间增设两名坐席并开通回拨功能。", "已增加午间坐席并开通回拨，今后来电可在五分钟内得到答复。"),
    ("上门维修工程师迟到", "约定上午九点上门维修空压机，工程师十一点才到，且未提前告知。",
     "现场服务", "工程师前一单超时，未及时通知客户。", "规范改约流程，超时须提前一小时电话告知，并赠送一次免费保养。",
     "已对相关工程师批评教育并完善改约流程，赠送一次免费保养，欢迎监督。"),
    ("产品质量问题：批次色差", "最近一批 ABS 粒料与样品色差明显，已影响下游注塑件外观。",
     "产品质量", "原料供应商批次变更未做来料检验。", "退换该批次货物，并加严来料检验。", "该批货物已安排退换，新批次经色差检测合格后发货。"),
    ("对账单数据错误", "二月对账单重复计入一笔 12 万元的货款，与我方账目差异较大。",
     "财务", "系统导出时重复计入退货冲销单。", "修正对账单并核对近三个月账目。", "已修正对账单并复核近三个月账目，修正版已邮件发送。"),
    ("业务员承诺未兑现", "签约时业务员承诺免费提供两次操作培训，至今未安排。",
     "销售承诺", "业务员调岗，交接遗漏。", "一周内安排两次现场培训，并完善客户交接清单。", "两次现场培训已排期，培训讲师会提前与您确认时间。"),
    ("送货车辆损坏厂区道闸", "贵司送货车辆倒车时撞坏我厂东门道闸，司机未说明即离开。",
     "物流", "承运商司机违规操作。", "由承运商赔偿道闸维修费用，并对司机停用处理。", "维修费用由承运商全额承担，涉事司机已停用，深表歉意。"),
    ("安装后设备频繁报警", "新安装的包装机每天报警十余次，影响生产。",
     "产品质量", "安装时传感器参数未按现场环境校准。", "派工程师重新校准并延长保修期三个月。", "工程师已完成重新校准，设备运行正常，保修期延长三个月。"),
    ("投诉处理态度冷淡", "上周反映的问题，客服只说“等通知”，之后再无下文。",
     "服务态度", "首问责任人未跟进，无人督办。", "落实首问负责，每周回访进展。", "已落实专人负责，今后每周向您反馈一次进展。"),
]
COMPLAINANTS = ["王先生", "李女士", "张经理", "刘主任", "陈会计", "赵总", "周工", "吴女士", "孙先生", "郑主管"]
CHANNELS = ["phone", "phone", "letter", "in_person", "email", "proxy", "suggestion_box"]
RETURN_VISITS = ["电话回访，客户对处理结果表示满意。", "上门回访，客户认可整改措施。", "微信回访，客户表示基本满意，希望加快响应。"]
EVALUATIONS = ["原因清楚，整改到位，纳入月度服务质量分析。", "暴露出交接流程漏洞，已修订制度并培训。"]

# The states to show, each with how many days ago it was received and whether it is on the public form.
PLAN = [
    # (target state, severity, days ago, extra)
    (workflow.RECORDED, "general", 0.1, "public"),
    (workflow.RECORDED, "general", 8.0, "public"),  # never judged: overdue, escalated
    (workflow.JUDGED, "general", 0.3, ""),
    (workflow.INVESTIGATING, "major", 1.0, ""),
    (workflow.INVESTIGATING, "general", 12.0, "extension"),  # overdue, an extension waiting for approval
    (workflow.ASSIGNED, "general", 0.5, ""),
    (workflow.ASSIGNED, "major", 2.0, "extension"),
    (workflow.SOLUTION_PROPOSED, "major", 2.0, ""),  # waits for the managers' meeting
    (workflow.SOLUTION_PROPOSED, "serious", 1.0, ""),  # waits for the managers' meeting
    (workflow.SOLUTION_PROPOSED, "general", 0.5, ""),  # waits for the supervisor
    (workflow.SOLUTION_APPROVED, "general", 0.6, ""),
    (workflow.ANSWERED, "major", 4.0, ""),  # decided in a managers' meeting, then answered
    (workflow.ANSWERED, "general", 2.0, ""),  # answered in time, return visit pending
    (workflow.ANSWERED, "general", 9.0, ""),  # answered in time, return visit overdue (not a breach)
    (workflow.RETURN_VISITED, "general", 5.0, ""),
    (workflow.EVALUATED, "general", 8.0, ""),
    (workflow.CLOSED, "general", 20.0, ""),
    (workflow.CLOSED, "general", 35.0, "late"),  # answered after its deadline: a true breach
    (workflow.CLOSED, "general", 60.0, ""),
    (workflow.CLOSED, "general", 90.0, "public"),
]


def _step_data(case, responsible, rng: random.Random) -> dict:
    subject, description, category, cause, solution, reply = case
    return {"category": category, "cause": cause, "responsible": responsible.pk, "solution": solution,
            "meeting_minutes": "经理办公会专题会议：同意处理方案，由责任部门落实并跟踪。", "reply": reply,
            "return_visit_note": rng.choice(RETURN_VISITS), "satisfied": rng.random() < 0.8,
            "evaluation": rng.choice(EVALUATIONS)}


def _approve(request_id: int) -> None:
    """Every pending step of the approval decided "approve" by its assignee, as the supervisors would."""
    from kehu.approvals.models import ApprovalRequest
    from kehu.approvals.services import approval_decide

    for _i in range(10):
        req = ApprovalRequest.objects.get(pk=request_id)
        if req.status != "pending":
            return
        task = req.tasks.filter(round=req.round, step_order=req.current_step, status="pending").first()
        if task is None:
            return
        step = req.chain.steps.filter(order=req.current_step).first()
        if step is not None and step.kind == "meeting":
            _meeting(req, task.assignee)
            continue
        approval_decide(actor=task.assignee, request_id=req.pk, decision="approve", comment="同意。")


def _meeting(req, chair) -> None:
    """经理办公会专题会议: the general manager and the sales and service managers decide the proposal."""
    from kehu.access.models import User
    from kehu.approvals.services import approval_meeting_record

    people = [chair.pk, *User.objects.filter(role__in=["manager", "executive"], is_active=True)
              .exclude(pk=chair.pk).order_by("id").values_list("pk", flat=True)[:3]]
    approval_meeting_record(
        actor=chair, request_id=req.pk, held_on=timezone.localdate() - dt.timedelta(days=1), participants=people,
        minutes="经理办公会专题会议纪要：听取客服部关于该投诉的调查汇报，认定为较大投诉。会议决定：同意处理方案，"
                "由责任部门三个工作日内落实，质量部跟踪整改效果，客服部负责答复客户并回访。",
        decision="approve")


def _solution_request(c: Complaint):
    from kehu.approvals.models import ApprovalRequest

    return (ApprovalRequest.objects.filter(object_id=str(c.pk), chain__code=services.APPROVAL_CHAINS[c.severity])
            .order_by("-id").first())


def _backdate(c: Complaint, received: dt.datetime, answered: dt.datetime | None, now: dt.datetime) -> None:
    """Spread the steps' times between receipt and now (the demo walks them in a second): the steps
    up to the answer before ``answered``, the rest after it."""
    events = list(c.events.order_by("id"))
    answer_idx = next((i for i, e in enumerate(events) if e.action == "answer"), None)
    end_before = answered or now
    for i, e in enumerate(events):
        if answer_idx is None or i <= answer_idx:
            n = answer_idx + 1 if answer_idx is not None else len(events)
            at = received + (end_before - received) * (i / max(n - 1, 1)) if i else received
        else:
            rest = len(events) - answer_idx - 1
            span = min(now - answered, dt.timedelta(days=4))
            at = answered + span * ((i - answer_idx) / (rest + 1))
        ComplaintEvent.objects.filter(pk=e.pk).update(at=at)
        if e.action == "close":
            Complaint.objects.filter(pk=c.pk).update(closed_at=at)
    if answered is not None:
        Complaint.objects.filter(pk=c.pk).update(answered_at=answered, followup_due_at=sla.followup_due_for(answered))


def _tiered_customer_ids(limit: int = 200) -> list[int]:
    """Customers whose grade's service policy sets a complaint deadline (loaded before this demo)."""
    from kehu.grading.models import CustomerGrade, ServicePolicy

    tiers = Q()
    for policy_name, grade in ServicePolicy.objects.filter(complaint_sla_working_days__isnull=False).values_list(
            "policy_name", "grade"):
        tiers |= Q(policy_name=policy_name, grade=grade)
    if not tiers:
        return []
    return list(CustomerGrade.objects.filter(tiers, customer__deleted_at__isnull=True).order_by("customer_id")
                .values_list("customer_id", flat=True).distinct()[:limit])


def _pick_customer(receiver, pools: dict, rng: random.Random, *, severity: str) -> Customer | None:
    """A customer the receiver can see (what they could choose in the form): 70 % of general complaints
    name one, half of those a customer whose grade promises a complaint deadline; every major or serious
    one names such a customer when there is one (their 3 working days are where a grade's deadline is
    tighter, so the demo shows it)."""
    graded_first = severity != "general"
    if not graded_first and rng.random() >= 0.7:
        return None
    if receiver.pk not in pools:
        from kehu.customers.selectors import customer_base

        visible = customer_base(actor=receiver)
        pools[receiver.pk] = (list(visible.filter(pk__in=pools["tiered"]).order_by("id")),
                              list(visible.order_by("id")[:200]))
    tiered, anyone = pools[receiver.pk]
    pool = tiered if tiered and (graded_first or rng.random() < 0.5) else anyone
    return rng.choice(pool) if pool else None


def demo_load(*, users: dict, rng: random.Random) -> str:
    """The complaints of PLAN, then one SLA sweep; returns a one-line summary."""
    agent, now = users["agent"], timezone.now()
    receivers = [agent, agent, agent, users.get("rep", agent), users.get("north_rep", agent)]
    responsibles = [users[u] for u in ("rep", "rep2", "north_rep", "agent") if u in users]
    customers = list(Customer.objects.filter(deleted_at__isnull=True).order_by("id")[:200])
    pools: dict = {"tiered": _tiered_customer_ids()}
    made: dict[str, int] = {}
    for n, (target, severity, days_ago, extra) in enumerate(PLAN):
        case = CASES[n % len(CASES)]
        received = now - dt.timedelta(days=days_ago, minutes=rng.randint(0, 300))
        receiver = rng.choice(receivers)
        if extra == "public":
            customer = rng.choice(customers) if customers and rng.random() < 0.7 else None
            c = services.complaint_public_submit(data={
                "complainant_name": rng.choice(COMPLAINANTS), "complainant_phone": f"139{rng.randint(0, 99999999):08d}",
                "company": customer.name if customer else "", "subject": case[0], "description": case[1],
                "website": ""}, ip=None)
            Complaint.objects.filter(pk=c.pk).update(received_at=received, due_at=services.due_for(received, c.sla_days))
            customer = None  # the agent links it from the candidates
        else:
            customer = _pick_customer(receiver, pools, rng, severity=severity)
            c = services.complaint_record(actor=receiver, data={
                "complainant_name": rng.choice(COMPLAINANTS), "complainant_phone": f"138{rng.randint(0, 99999999):08d}",
                "channel": rng.choice(CHANNELS), "subject": case[0], "description": case[1],
                "received_at": received, "customer": customer.pk if customer else None,
                "complainant_company": customer.name if customer else ""})
        c.refresh_from_db()
        actor = c.accountable
        data = _step_data(case, rng.choice(responsibles), rng)
        answered = None
        if target != workflow.RECORDED:
            data["severity"] = severity
            steps = workflow.STATES[1:workflow.STATES.index(target) + 1]
            for step in steps:
                if step == workflow.SOLUTION_APPROVED:
                    _approve(_solution_request(c).pk)
                    continue
                action = {workflow.JUDGED: "judge", workflow.INVESTIGATING: "investigate", workflow.ASSIGNED: "assign",
                          workflow.SOLUTION_PROPOSED: "propose", workflow.ANSWERED: "answer",
                          workflow.RETURN_VISITED: "return_visit", workflow.EVALUATED: "evaluate",
                          workflow.CLOSED: "close"}[step]
                c = services.complaint_act(actor=actor, complaint_id=c.pk, action=action, data=data)
            c.refresh_from_db()
            if c.answered_at is not None:
                # answered within the deadline (most) or after it ("late")
                answered = (c.due_at + dt.timedelta(hours=6) if extra == "late"
                            else received + (min(c.due_at, now) - received) * 0.7)
        if extra == "extension":
            services.complaint_request_extension(actor=actor, complaint_id=c.pk, days=min(c.sla_days + 2, 7),
                                                 reason="需第三方检测机构出具报告，预计需两个工作日。")
        _backdate(c, received, answered, now)
        made[target] = made.get(target, 0) + 1
    # The closed complaint answered late was overdue while its clock ran: the breach is true.
    Complaint.objects.filter(answered_at__gt=F("due_at"), breached_at__isnull=True).update(
        breached_at=F("due_at"), escalation_level=1)
    swept = services.complaint_sla_sweep()
    summary = ", ".join(f"{k} {v}" for k, v in made.items())
    by_grade = sum(1 for severity, days in Complaint.objects.values_list("severity", "sla_days")
                   if days < services.sla_days_for(severity))
    return (f"complaints: {len(PLAN)} ({summary}; {by_grade} due by their customer's grade; "
            f"{swept['breached']} overdue, {swept['escalated']} escalated, "
            f"{swept['followup_reminded']} return visits overdue)")
