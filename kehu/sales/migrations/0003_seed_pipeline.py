"""The pipeline's default rows (each changeable afterwards in the admin): prospect sources, the opportunity
funnel's stages with their probabilities, lost reasons, the business figures of arrears (dunning after 1 day,
again every 7; a breach case past 2 months, 004 第13篇), and the approval chain ``development.plan``: the
department head (部门负责人), then the managers' meeting (经理办公会) recorded by the general manager. A chain
already present (same code, e.g. defined by an administrator) is left as it is."""

from django.db import migrations

SOURCES = [("walk_in", "来访"), ("call", "来电"), ("referral", "转介绍"), ("online", "网络推广"), ("exhibition", "展会"),
           ("cold_visit", "陌生拜访"), ("old_customer", "老客户")]
# code, name, probability, won, lost
STAGES = [("contact", "初步接洽", 10, False, False), ("needs", "需求确认", 30, False, False),
          ("proposal", "方案报价", 50, False, False), ("negotiation", "商务谈判", 75, False, False),
          ("won", "赢单", 100, True, False), ("lost", "输单", 0, False, True)]
LOST_REASONS = ["价格偏高", "竞争对手抢单", "需求变更或取消", "预算不足", "交期不满足", "产品不符合要求", "客户失联"]
CHAIN = ("development.plan", "客户开发计划审批（部门负责人 → 经理办公会）", [
    ("role_in_line", "manager", "any", "部门负责人"),
    ("meeting", "executive", "any", "经理办公会"),
])


def seed(apps, schema_editor):
    Source = apps.get_model("sales", "ProspectSource")
    Stage = apps.get_model("sales", "OpportunityStage")
    Reason = apps.get_model("sales", "LostReason")
    Policy = apps.get_model("sales", "SalesPolicy")
    for i, (code, name) in enumerate(SOURCES):
        Source.objects.get_or_create(code=code, defaults={"name": name, "position": i})
    for i, (code, name, p, won, lost) in enumerate(STAGES, start=1):
        Stage.objects.get_or_create(code=code, defaults={"name": name, "position": i * 10, "probability": p,
                                                         "is_won": won, "is_lost": lost})
    for i, name in enumerate(LOST_REASONS):
        Reason.objects.get_or_create(name=name, defaults={"position": i})
    if not Policy.objects.exists():
        Policy.objects.create()
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
    dependencies = [("sales", "0002_pipeline"), ("approvals", "0004_seed_meeting_and_line_chains")]

    operations = [migrations.RunPython(seed, unseed)]
