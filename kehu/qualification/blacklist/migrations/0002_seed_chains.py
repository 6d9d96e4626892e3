"""The disqualification and lifting chains (seed 004 第13篇 第十七条): the manager, then the general manager.
A chain already present (same code) is left as it is."""

from django.db import migrations

CHAINS = [
    ("customer.disqualification", "取消客户资格审批", [
        ("manager", "any", "部门经理"),
        ("executive", "any", "总经理"),
    ]),
    ("customer.blacklist_lift", "解除黑名单审批", [
        ("manager", "any", "部门经理"),
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
    dependencies = [("blacklist", "0001_initial"), ("approvals", "0004_seed_meeting_and_line_chains")]

    operations = [migrations.RunPython(seed, unseed)]
