"""Demo follow-ups (跟进记录): a year of believable contacts with a share of the demo company's customers — calls about
pickup plans (提货计划), visits with the purchasing manager, WeChat about quotations — by their account managers,
a few next steps still open and some of them overdue. Written in bulk (one audit entry per follow-up, the
summaries computed once) so `make run` stays quick."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from kehu.audit.services import audit_record_many
from kehu.customers.models import Contact, Customer
from kehu.engagement.models import CustomerContactSummary, Interaction

SHARE = 0.3  # of the customers with an owner
MAX_CUSTOMERS = 600

TOPICS = {
    "phone": [("电话沟通下月提货计划，客户预计{q}吨", "客户确认按周均衡提货", "发送提货排期表"),
              ("电话确认货款到账时间", "财务本周五前安排付款", "周五核对到账"),
              ("电话回访上批货物使用情况", "客户反馈质量稳定", ""),
              ("电话沟通价格调整通知", "客户希望锁定本季度价格", "提交锁价申请")],
    "visit": [("拜访采购部{contact}，了解明年采购需求", "明年需求预计增长一成", "准备年度框架协议草案"),
              ("上门拜访生产部，查看库存与用料情况", "库存约两周用量", "下周跟进补货订单"),
              ("陪同技术人员到现场解决加工问题", "调整工艺参数后正常", "一周后回访使用效果")],
    "wechat": [("微信发送最新报价单", "客户表示需内部比价", "三天后确认报价意向"),
               ("微信沟通发货物流信息", "客户已收到物流单号", ""),
               ("微信通知春节期间发货安排", "客户确认节前备货{q}吨", "确认节前订单")],
    "wecom": [("企业微信群内答复客户关于质检报告的问题", "已发送质检报告", "")],
    "email": [("邮件发送年度合作协议修订稿", "客户法务审阅中", "跟进合同盖章")],
    "meeting": [("参加客户季度供应商会议", "客户对交付及时率评价良好", "整理会议纪要并反馈生产")],
}
CHANNEL_WEIGHTS = [("phone", 40), ("visit", 15), ("wechat", 30), ("wecom", 5), ("email", 5), ("meeting", 5)]


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if Interaction.objects.exists():
        return "follow-ups: demo follow-ups already there"
    today = today or timezone.localdate()
    now = timezone.now()
    owned = list(Customer.objects.filter(deleted_at__isnull=True, owner__isnull=False)
                 .order_by("id").values_list("id", "owner_id"))
    if not owned:
        return "follow-ups: no customers with an account manager"
    chosen = rng.sample(owned, min(MAX_CUSTOMERS, max(1, int(len(owned) * SHARE))))
    contacts: dict[int, list[tuple[int, str, str]]] = {}
    for pk, cid, name, title in Contact.objects.filter(customer_id__in=[c for c, _ in chosen]).values_list(
            "id", "customer_id", "name", "title"):
        contacts.setdefault(cid, []).append((pk, name, title or ""))
    channels, weights = zip(*CHANNEL_WEIGHTS, strict=True)
    tz = timezone.get_default_timezone()
    rows: list[Interaction] = []
    links: list[tuple[int, int]] = []  # (row index, contact id)
    for cid, owner_id in chosen:
        n = rng.choice((2, 3, 4, 6, 8, 12))
        days = sorted(rng.sample(range(1, 365), n), reverse=True)
        people = contacts.get(cid, [])
        for i, back in enumerate(days):
            channel = rng.choices(channels, weights)[0]
            summary, outcome, step = rng.choice(TOPICS[channel])
            person = rng.choice(people) if people else None
            who = (person[1] + (person[2] or "经理")[:4]) if person else "王经理"
            at = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(rng.randint(8, 18), rng.choice((0, 15, 30, 45))),
                                     tzinfo=tz)
            latest = i == len(days) - 1
            due = None
            done = None
            if step:
                due = at.date() + dt.timedelta(days=rng.choice((2, 3, 5, 7, 14)))
                # older steps were done; the latest contact's step is open (overdue for some)
                if not latest or rng.random() < 0.35:
                    done = at + dt.timedelta(days=rng.randint(1, 6))
                    done = min(done, now)
            rows.append(Interaction(
                customer_id=cid, channel=channel, direction="inbound" if rng.random() < 0.2 else "outbound",
                occurred_at=at, summary=summary.format(q=rng.choice((80, 120, 200, 350, 500)), contact=who),
                outcome=outcome.format(q=rng.choice((50, 100, 150))), next_step=step, next_step_due=due,
                next_step_done_at=done, owner_id=owner_id, recorded_by_id=owner_id,
                latitude=None, longitude=None))
            if person and channel in ("visit", "meeting", "phone"):
                links.append((len(rows) - 1, person[0]))
    with transaction.atomic():
        made = Interaction.objects.bulk_create(rows, batch_size=1000)
        Through = Interaction.contacts.through
        Through.objects.bulk_create([Through(interaction_id=made[i].pk, contact_id=c) for i, c in links],
                                    batch_size=2000, ignore_conflicts=True)
        audit_record_many(actor=users.get("admin"), action="interaction.create", objects=made,
                          changes=[{"channel": it.channel, "customer": it.customer_id, "demo": True} for it in made])
        CustomerContactSummary.objects.bulk_create(_summaries(made), batch_size=1000)
    open_steps = sum(1 for it in made if it.next_step and it.next_step_done_at is None)
    overdue = sum(1 for it in made if it.next_step and it.next_step_done_at is None and it.next_step_due < today)
    return (f"follow-ups: {len(made)} over a year with {len(chosen)} customers, {open_steps} next steps open "
            f"({overdue} overdue)")


def _summaries(made: list[Interaction]) -> list[CustomerContactSummary]:
    by_customer: dict[int, list[Interaction]] = {}
    for it in made:
        by_customer.setdefault(it.customer_id, []).append(it)
    out = []
    for cid, items in by_customer.items():
        last = max(items, key=lambda it: (it.occurred_at, it.pk))
        opened = [it for it in items if it.next_step and it.next_step_done_at is None]
        nxt = min(opened, key=lambda it: (it.next_step_due or dt.date.max, it.pk)) if opened else None
        out.append(CustomerContactSummary(
            customer_id=cid, last_contact_at=last.occurred_at, last_interaction_id=last.pk, last_channel=last.channel,
            next_step=nxt.next_step if nxt else "", next_step_due=nxt.next_step_due if nxt else None,
            next_interaction_id=nxt.pk if nxt else None, open_steps=len(opened), interactions=len(items)))
    return out
