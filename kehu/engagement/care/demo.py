"""Demo data of customer care: care profiles of key contacts (preferences; birthdays in the coming days for
a few of them), a new-product notice to key accounts, and today's reminders made as the daily task would —
withheld where the person has not consented to being contacted."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Contact
from kehu.engagement.care import services
from kehu.engagement.care.models import CareProfile, ProductNotice

PREFERENCES = ["喜欢龙井茶，不饮酒", "关注孩子升学，喜欢书籍类礼品", "爱好高尔夫", "偏好电话沟通，不喜欢群发短信",
               "生日当天避免打扰，提前一天致电问候", "收藏紫砂壶", "喜欢钓鱼，周末常去千岛湖"]


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if CareProfile.objects.exists():
        return "care: demo already loaded"
    today = today or timezone.localdate()
    from kehu.grading.models import CustomerGrade

    key = list(CustomerGrade.objects.filter(grade__in=["三星", "二星"]).values_list("customer_id", flat=True)[:60])
    live = Contact.objects.filter(erased_at__isnull=True, customer__deleted_at__isnull=True)
    contacts = list(live.filter(customer_id__in=key).order_by("customer_id", "id")[:20])
    if len(contacts) < 20:  # before grading (or with few key accounts): decision makers of other customers
        contacts += list(live.filter(role="decision_maker").exclude(pk__in=[c.pk for c in contacts])
                         .order_by("id")[:20 - len(contacts)])
    for i, c in enumerate(contacts[:6]):
        # a few birthdays within the coming week, so the reminders show (demo data, as an import would set it)
        c.birthday = (today + dt.timedelta(days=i + 1)).replace(year=1968 + 3 * i)
    Contact.objects.bulk_update(contacts[:6], ["birthday"])
    for i, c in enumerate(contacts):
        services.care_profile_set(actor=users["admin"], contact_id=c.pk, data={
            "preferences": PREFERENCES[i % len(PREFERENCES)], "opt_out": i == 11})
    result = services.care_reminders_generate(today=today)
    if not ProductNotice.objects.exists():
        services.product_notice_create(actor=users["manager"], data={
            "title": "高透明聚丙烯专用料 PP-T2026", "product_line": "聚丙烯 PP",
            "summary": "透明度提升 15%，适用于食品包装与注塑件，华东区首批供货。",
            "launch_date": (today + dt.timedelta(days=10)).isoformat()})
    return (f"care: {len(contacts)} care profiles, {result['created']} reminders, {result['withheld']} withheld "
            f"for lack of consent")
