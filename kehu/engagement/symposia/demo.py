"""Demo data of symposia: 2026年度重点客户座谈会 held this year (12 key customers invited, attendance,
minutes, three follow-up items, one of them done) and a spring symposium of 华东区 planned."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Customer
from kehu.engagement.symposia import services
from kehu.engagement.symposia.models import Symposium

HELD = "2026年度重点客户座谈会"
PLANNED = "2027年春季华东区客户座谈会"
MINUTES = """一、市场行情：与会客户普遍认为明年聚烯烃需求稳中有升，华东地区包装膜、注塑件需求增长较快。
二、产品质量：两家客户反映 PP 拉丝料批次间熔指波动偏大，希望提供每批次质检报告。
三、业务流程：建议简化月度提货计划的报送流程，支持在线提交与变更。
四、服务质量：对客服热线响应速度表示满意；希望投诉处理结果能及时回访。
五、产品结构：希望增加高透明、高熔指专用料品种。
六、客户满意程度：现场调查总体满意度 92%。
七、客户需求：希望在华东增设前置仓，缩短交货周期。"""


def _key_customers(n: int) -> list[int]:
    from kehu.grading.models import CustomerGrade

    graded = list(CustomerGrade.objects.filter(grade__in=["三星", "二星"], customer__deleted_at__isnull=True)
                  .order_by("grade", "customer_id").values_list("customer_id", flat=True)[:n])
    if len(graded) < n:
        graded += list(Customer.objects.filter(deleted_at__isnull=True, kind="organization").exclude(pk__in=graded)
                       .order_by("id").values_list("pk", flat=True)[:n - len(graded)])
    return graded


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if Symposium.objects.filter(title=HELD).exists():
        return "symposia: demo already loaded"
    ceo, manager = users["ceo"], users["manager"]
    now = timezone.now()
    held_at = now - dt.timedelta(days=35)
    held_at = held_at.replace(hour=1, minute=30, second=0, microsecond=0)  # 09:30 Asia/Shanghai
    s = services.symposium_create(actor=ceo, data={
        "title": HELD, "starts_at": held_at, "ends_at": held_at + dt.timedelta(hours=6), "place": "杭州总部三楼第一会议室",
        "topics": ["market", "quality", "process", "service", "product_structure", "satisfaction", "needs"],
        "agenda": "09:30 公司年度经营情况通报\n10:30 分组座谈（市场、质量、服务）\n14:00 客户需求与建议汇总\n15:30 总经理总结"})
    services.symposium_invite(actor=ceo, symposium_id=s.pk, customers=_key_customers(12))
    invitations = list(s.invitations.order_by("id"))
    # answers as the customers gave them, recorded as the organizer would before the day
    Symposium.objects.filter(pk=s.pk).update(starts_at=now + dt.timedelta(days=1), ends_at=None)
    for i, inv in enumerate(invitations):
        services.invitation_answer(actor=ceo, invitation_id=inv.pk, state="declined" if i in (4, 9) else "accepted",
                                   note="年底检修，无法参会" if i == 4 else "")
    Symposium.objects.filter(pk=s.pk).update(starts_at=held_at, ends_at=held_at + dt.timedelta(hours=6))
    came = [inv.pk for i, inv in enumerate(invitations) if i not in (4, 9, 7)]
    services.symposium_hold(actor=ceo, symposium_id=s.pk, attended=came)
    services.symposium_minutes(actor=ceo, symposium_id=s.pk, minutes=MINUTES)
    due = timezone.localdate()
    items = [("为 PP 拉丝料每批次随货提供质检报告", manager, due + dt.timedelta(days=20)),
             ("研究华东前置仓选址方案并报总经理办公会", ceo, due + dt.timedelta(days=55)),
             ("月度提货计划支持客户在线提交与变更", users["rep"], due - dt.timedelta(days=3))]
    made = [services.item_create(actor=ceo, symposium_id=s.pk, data={
        "title": t, "owner": u.pk, "due_date": d.isoformat(),
        "customer": invitations[0].customer_id if n == 0 else None}) for n, (t, u, d) in enumerate(items)]
    services.item_close(actor=manager, item_id=made[0].pk, state="done",
                        resolution="质检部已于本月起随货附批次检验报告，并在客户门户可下载。")
    services.symposium_close(actor=ceo, symposium_id=s.pk)
    # the next one, planned by 华东区
    spring = timezone.localtime(now).replace(hour=9, minute=30, second=0, microsecond=0) + dt.timedelta(days=100)
    p = services.symposium_create(actor=manager, data={
        "title": PLANNED, "starts_at": spring, "ends_at": spring + dt.timedelta(hours=5), "place": "宁波南苑饭店会议厅",
        "topics": ["market", "quality", "service", "needs"], "agenda": "新品介绍、质量改进通报、客户需求座谈"})
    east = list(Customer.objects.filter(deleted_at__isnull=True, owner__in=[users["rep"], users["rep2"]])
                .order_by("id").values_list("pk", flat=True)[:8])
    if east:
        services.symposium_invite(actor=manager, symposium_id=p.pk, customers=east)
        for inv in p.invitations.order_by("id")[:3]:
            services.invitation_answer(actor=users["rep"] if inv.customer.owner_id == users["rep"].pk else manager,
                                       invitation_id=inv.pk, state="accepted")
    return f"symposia: 1 held ({len(invitations)} invited, {len(came)} attended, 3 follow-up items), 1 planned"
