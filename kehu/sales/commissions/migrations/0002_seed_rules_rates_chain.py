"""The policy's commission rules (seed 004 第11、12、14篇), the fallback commission rate and the approval
chain ``commission.adjustment`` (a change of a closed deal's split: the project manager's written opinion,
then the sales director — 004 第12篇 7 7)). Rows already present are left as they are."""

from decimal import Decimal

from django.db import migrations

# code: (precedence, party A's share, name, source, variant) — the same values as splits.DEFAULT_RULES
# (copied: a migration must not import code that changes later; a test checks they agree).
RULES = {
    "company_other_staff": (10, "0", "公司客户（其他员工跟进）", "004 第12篇 6(1) 2)、5)", ""),
    "company_arranged": (20, "30", "公司客户（公司直接安排成交）", "004 第12篇 6(1) 4)", ""),
    "company_customer": (30, "70", "公司客户（售楼员全程跟进）", "004 第12篇 6(1) 3)", ""),
    "designated_mid_visit": (40, "70", "中途指定接待", "004 第12篇 5 2)", ""),
    "referral": (50, "70", "员工介绍客户", "004 第11篇 8；第12篇 6(2) 5)", ""),
    "spouses": (60, "50", "夫妻分别登记", "004 第12篇 7 4)；第14篇 3(11)", "split"),
    "within_validity": (70, "80", "建档有效期内他人接待", "004 第14篇 3(2)(3)", ""),
    "forgotten_rep": (80, "50", "忘记原接待人后查明", "004 第14篇 3(7)", ""),
    "returned_within_month": (90, "50", "一个月内未成交再访", "004 第12篇 3 7) i", ""),
    "same_day_double": (100, "50", "当日重复接待", "004 第14篇 (二) 5", ""),
    "default": (1000, "100", "本人接待成交", "004 第12篇 3", ""),
}
DEFAULT_RATE = ("", "全部成交（默认佣金比例）", "0.500")
CHAIN = ("commission.adjustment", "佣金分配调整审批（项目经理书面意见 → 销售总监）", [
    ("role_in_line", "manager", "any", "项目经理/销售经理"),
    ("role_in_line", "executive", "any", "销售总监"),
])


def seed(apps, schema_editor):
    Rule = apps.get_model("commissions", "CommissionRule")
    Rate = apps.get_model("commissions", "CommissionRate")
    for code, (precedence, share, name, source, variant) in RULES.items():
        Rule.objects.get_or_create(code=code, defaults={
            "precedence": precedence, "share_percent": Decimal(share), "name": name, "source": source,
            "variant": variant, "active": True})
    prefix, name, rate = DEFAULT_RATE
    Rate.objects.get_or_create(prefix=prefix, defaults={"name": name, "rate_percent": Decimal(rate)})
    Chain = apps.get_model("approvals", "ApprovalChain")
    Step = apps.get_model("approvals", "ApprovalStep")
    code, name, steps = CHAIN
    chain, created = Chain.objects.get_or_create(code=code, defaults={"name": name, "active": True})
    if created:
        for order, (kind, role, mode, step_name) in enumerate(steps, start=1):
            Step.objects.create(chain=chain, order=order, kind=kind, role=role, mode=mode, name=step_name)


def unseed(apps, schema_editor):
    apps.get_model("approvals", "ApprovalChain").objects.filter(code=CHAIN[0], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("commissions", "0001_initial"), ("approvals", "0004_seed_meeting_and_line_chains")]

    operations = [migrations.RunPython(seed, unseed)]
