"""The approval chain for a manual grade override (人工调整客户级别, with a reason): the sales manager in
the requester's line, then an executive. Administrators change it later; a chain already present (same
code) is left as it is."""

from django.db import migrations

CHAINS = [
    ("grade_override", "客户级别人工调整审批", [
        ("manager", "any", "销售经理"),
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
    dependencies = [("grading", "0002_service_policies"), ("approvals", "0002_seed_default_chains")]

    operations = [migrations.RunPython(seed, unseed)]
