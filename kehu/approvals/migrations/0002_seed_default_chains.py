"""The policy's default approval chains. Administrators change them later (API /approvals/chains);
a chain already present (same code) is left as it is."""

from django.db import migrations

# code, name, steps: (role, mode, step name)
DEFAULT_CHAINS = [
    ("complaint.solution.general", "一般/重大投诉处理方案审批", [
        ("manager", "any", "部门经理"),
    ]),
    ("complaint.solution.serious", "严重投诉处理方案审批（经理会议）", [
        ("manager", "all", "部门经理"),
        ("executive", "all", "总经理"),
    ]),
    ("complaint.deadline_extension", "投诉处理延期审批", [
        ("manager", "any", "部门经理"),
    ]),
    ("customer.account_opening", "客户开户审批", [
        ("manager", "any", "客户经理的上级经理"),
        ("finance", "any", "财务部"),
        ("executive", "any", "总经理"),
    ]),
]


def seed(apps, schema_editor):
    Chain = apps.get_model("approvals", "ApprovalChain")
    Step = apps.get_model("approvals", "ApprovalStep")
    for code, name, steps in DEFAULT_CHAINS:
        chain, created = Chain.objects.get_or_create(code=code, defaults={"name": name, "active": True})
        if not created:
            continue
        for order, (role, mode, step_name) in enumerate(steps, start=1):
            Step.objects.create(chain=chain, order=order, kind="role_in_line", role=role, mode=mode, name=step_name)


def unseed(apps, schema_editor):
    Chain = apps.get_model("approvals", "ApprovalChain")
    Chain.objects.filter(code__in=[c for c, _n, _s in DEFAULT_CHAINS], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
