"""The payment-terms chain (款到发货 / 信用额度 changed by an assessment): the proposer's line manager, finance,
then the general manager — the account-opening order (sales → finance → GM, seed 004 第13篇 第七条). A first step
of finance alone would find nobody when finance itself asks (every seeded chain must reach a business approver
for every requester). A chain already present (same code) is left as it is."""

from django.db import migrations

CHAINS = [
    ("customer.credit_terms", "客户付款条件变更审批", [
        ("manager", "any", "部门经理"),
        ("finance", "any", "财务部"),
        ("executive", "any", "总经理"),
    ]),
]


def seed(apps, schema_editor):
    Chain = apps.get_model("approvals", "ApprovalChain")
    Step = apps.get_model("approvals", "ApprovalStep")
    for code, name, steps in CHAINS:
        chain, created = Chain.objects.get_or_create(code=code, defaults={"name": name, "active": True})
        if not created:
            continue
        for order, (role, mode, step_name) in enumerate(steps, start=1):
            Step.objects.create(chain=chain, order=order, kind="role_in_line", role=role, mode=mode, name=step_name)


def unseed(apps, schema_editor):
    Chain = apps.get_model("approvals", "ApprovalChain")
    Chain.objects.filter(code__in=[c for c, _n, _s in CHAINS], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial"), ("approvals", "0004_seed_meeting_and_line_chains")]

    operations = [migrations.RunPython(seed, unseed)]
