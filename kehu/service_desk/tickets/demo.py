"""Demo data: service requests over the last weeks across kinds and states, an on-duty roster and
two emergencies — created through the services, as the agents would."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Customer
from kehu.service_desk.tickets import services

REQUESTS = {
    "repair": [
        ("空压机运行异响", "二号车间空压机运行时有明显异响，振动偏大，请安排工程师上门检修。"),
        ("激光打印机频繁卡纸", "财务室激光打印机近一周频繁卡纸，影响报销单据打印。"),
        ("冷却塔风机不转", "厂区三号冷却塔风机停转，水温持续升高，需尽快维修。"),
        ("门禁读卡器失灵", "办公楼东侧门禁读卡器无法识别员工卡，请派人检修。"),
        ("生产线传感器报警", "包装线光电传感器误报警，导致流水线频繁停机。"),
        ("中央空调制冷效果差", "三楼会议室中央空调制冷不足，室温偏高。"),
    ],
    "consultation": [
        ("系统登录方式咨询", "客户询问新版客户门户是否支持企业微信扫码登录。"),
        ("发票开具流程咨询", "客户咨询增值税专用发票的开具时限和所需资料。"),
        ("设备保修期限咨询", "客户询问去年采购的数控机床保修期是否包含易损件。"),
        ("对账单格式咨询", "客户财务希望了解月度对账单能否导出为 Excel 格式。"),
        ("产品技术参数咨询", "客户询问新型号变频器的额定功率和防护等级。"),
    ],
    "service": [
        ("现场服务：设备年度保养", "按合同约定安排年度保养，包括润滑、紧固和安全检查。"),
        ("现场服务：操作人员培训", "客户新进操作人员十名，申请安排一次现场操作培训。"),
        ("系统数据迁移支持", "客户更换服务器，需要协助将历史订单数据迁移到新环境。"),
        ("安装调试新购设备", "客户新购两台包装机已到货，申请安排安装调试。"),
        ("备件更换服务", "客户申请更换磨损的传送带及轴承备件。"),
    ],
}
EMERGENCIES = [
    ("主控系统宕机，生产线全线停机", "客户反映主控服务器无响应，三条生产线全部停机，急需现场支援。"),
    ("配电柜冒烟，已紧急断电", "客户厂区二号配电柜冒烟，已紧急断电疏散，请求立即派员处置。"),
]
CHANNELS = ["phone", "phone", "wechat", "email", "online", "in_person"]
CONTACTS = ["王工", "李主任", "张经理", "刘师傅", "陈会计", "赵主管", "周工程师"]
RESOLUTIONS = ["更换损坏部件后试运行正常。", "远程指导客户完成参数设置，问题已解决。", "已按要求完成现场服务并出具服务报告。",
               "已书面答复客户咨询的问题。"]


def _roster(users: dict, rng: random.Random) -> int:
    today = timezone.localdate()
    admin = users["admin"]
    shifts = [
        # the service agent takes the nights for every department, Monday to Friday
        {"user": users["agent"].pk, "department": None, "weekdays": [0, 1, 2, 3, 4],
         "start_time": dt.time(18, 0), "end_time": dt.time(8, 30), "note": "客服夜间值班"},
        # the sales managers cover their regions at the weekend, all day
        {"user": users["manager"].pk, "department": users["manager"].department_id, "weekdays": [5, 6],
         "start_time": dt.time(0, 0), "end_time": dt.time(0, 0), "note": "华东区周末值班"},
        {"user": users["north_manager"].pk, "department": users["north_manager"].department_id, "weekdays": [5, 6],
         "start_time": dt.time(0, 0), "end_time": dt.time(0, 0), "note": "华北区周末值班"},
    ]
    for s in shifts:
        services.duty_create(actor=admin, data={**s, "start_date": today - dt.timedelta(days=7),
                                                "end_date": today + dt.timedelta(days=60)})
    return len(shifts)


def demo_load(*, users: dict, rng: random.Random, count: int = 40) -> str:
    """About ``count`` requests over the last four weeks in every state, two emergencies and a roster."""
    agent, now = users["agent"], timezone.now()
    shifts = _roster(users, rng)
    customer_ids = list(Customer.objects.filter(deleted_at__isnull=True).order_by("id").values_list("id", flat=True)[:300])
    if not customer_ids:
        return f"service requests: none (no customers); {shifts} on-duty shifts"
    handlers = [users[u] for u in ("agent", "rep", "rep2", "north_rep", "manager") if u in users]
    made = {"open": 0, "accepted": 0, "in_progress": 0, "resolved": 0, "closed": 0, "cancelled": 0}
    kinds = [k for k in REQUESTS for _i in range(len(REQUESTS[k]))]
    for i in range(count):
        kind = kinds[i % len(kinds)] if i % 7 else rng.choice(list(REQUESTS))
        subject, description = rng.choice(REQUESTS[kind])
        # older requests further along the procedure
        age = dt.timedelta(days=rng.uniform(0, 28), hours=rng.uniform(0, 8))
        received = now - age
        t = services.ticket_record(actor=agent, data={
            "customer": rng.choice(customer_ids), "kind": kind, "channel": rng.choice(CHANNELS),
            "subject": subject, "description": description, "contact_name": rng.choice(CONTACTS),
            "priority": rng.choice(["low", "normal", "normal", "high"]), "received_at": received})
        steps = _steps_for(age, rng)
        t = _walk(agent, t, steps, handlers, rng)
        made[t.state] += 1
    for j, (subject, description) in enumerate(EMERGENCIES):
        received = now - dt.timedelta(hours=1 + 30 * j)
        t = services.ticket_record(actor=agent, data={
            "customer": rng.choice(customer_ids), "kind": "emergency", "channel": "phone", "subject": subject,
            "description": description, "contact_name": rng.choice(CONTACTS), "received_at": received})
        if j:  # the older one was handled and the customer told the result
            t = _walk(agent, t, ["accept", "start", "resolve", "inform", "close"], handlers, rng)
        made[t.state] += 1
    swept = services.ticket_sla_sweep()
    summary = ", ".join(f"{k} {v}" for k, v in made.items() if v)
    return (f"service requests: {count + len(EMERGENCIES)} ({summary}; {swept['breached']} overdue), "
            f"{len(EMERGENCIES)} emergencies, {shifts} on-duty shifts")


def _steps_for(age: dt.timedelta, rng: random.Random) -> list[str]:
    if rng.random() < 0.05:
        return ["cancel"]
    # Telling the customer the result stops the SLA clock; closing follows the customer's confirmation.
    full = ["accept", "start", "resolve", "inform", "close"]
    if age > dt.timedelta(days=10):
        return full[: rng.choice([4, 5, 5, 5])]
    return full[: rng.choice([0, 1, 2, 2, 3, 4])]


def _walk(actor, t, steps: list[str], handlers: list, rng: random.Random):
    for step in steps:
        if step == "start" and rng.random() < 0.5:
            t = services.ticket_assign(actor=actor, ticket_id=t.pk, user_id=rng.choice(handlers).pk)
        data = {"resolution": rng.choice(RESOLUTIONS), "confirmation": "已电话回访，客户确认问题解决。",
                "reason": "客户表示问题已自行解决，撤回申请。", "informed_via": "phone",
                "informed_note": "已电话告知客户处理结果及后续防范措施。"}
        t = services.ticket_act(actor=actor, ticket_id=t.pk, action=step, data=data)
    return t
