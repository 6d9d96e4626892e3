"""The approval chain of a questionnaire (问卷审核): the department manager, then the general manager.
Administrators change it later (API /approvals/chains); a chain already present is left as it is."""

from django.db import migrations

CODE = "survey.questionnaire"
STEPS = [("manager", "any", "部门经理"), ("executive", "any", "总经理")]


def seed(apps, schema_editor):
    Chain = apps.get_model("approvals", "ApprovalChain")
    Step = apps.get_model("approvals", "ApprovalStep")
    chain, created = Chain.objects.get_or_create(code=CODE, defaults={"name": "满意度调查问卷审批", "active": True})
    if created:
        for order, (role, mode, name) in enumerate(STEPS, start=1):
            Step.objects.create(chain=chain, order=order, kind="role_in_line", role=role, mode=mode, name=name)


def unseed(apps, schema_editor):
    apps.get_model("approvals", "ApprovalChain").objects.filter(code=CODE, requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_campaign_records"), ("approvals", "0004_seed_meeting_and_line_chains")]

    operations = [migrations.RunPython(seed, unseed)]
