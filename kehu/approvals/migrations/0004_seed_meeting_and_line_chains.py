"""The policy's severity routing and extension rule in the default chains (issue 8):

- 较大 / 严重 complaints: the handling proposal is decided in a managers' meeting (经理办公会专题会议,
  called by the general manager), so the chain "complaint.solution.serious" (the code stays: the
  complaints app routes both severities to it) becomes one meeting step recorded by the executive.
- Extending a complaint's deadline needs every level of supervisor up the line (各级主管领导批准):
  "complaint.deadline_extension" becomes one "every manager up the line" step.

A chain an administrator has changed since 0002 seeded it is left as it is. A step that names a role
nobody could ever hold, or a step kind without an approver, is refused here rather than seeded.
"""

from django.db import migrations

# code: (name, [(kind, role, mode, step name)])
CHAINS = {
    "complaint.solution.serious": ("较大/严重投诉处理方案审批（经理办公会专题会议）", [
        ("meeting", "executive", "any", "经理办公会专题会议"),
    ]),
    "complaint.deadline_extension": ("投诉处理延期审批（各级主管领导）", [
        ("line_managers", "", "any", "各级主管领导"),
    ]),
}
# What 0002 seeded: replaced only while still so.
SEEDED_BY_0002 = {
    "complaint.solution.serious": [("role_in_line", "manager", "all"), ("role_in_line", "executive", "all")],
    "complaint.deadline_extension": [("role_in_line", "manager", "any")],
}
# Roles that can approve; an approver role outside them is a seed error (checked without importing
# app code, which may change after this migration).
APPROVER_ROLES = {"admin", "executive", "manager", "account_manager", "service_agent", "finance", "analyst",
                  "auditor"}


def check_steps(code, steps):
    """Refuse a seeded step whose approver could be nobody: an unknown role, a role step or meeting
    without a role."""
    for kind, role, mode, _name in steps:
        if kind not in ("role_in_line", "meeting", "line_managers") or mode not in ("any", "all"):
            raise ValueError(f"approval chain {code}: unknown step kind or mode {kind!r}/{mode!r}")
        if kind in ("role_in_line", "meeting") and role not in APPROVER_ROLES:
            raise ValueError(f"approval chain {code}: step {kind!r} needs a known role, not {role!r}: "
                             "nobody could approve it")


def seed(apps, schema_editor):
    Chain = apps.get_model("approvals", "ApprovalChain")
    Step = apps.get_model("approvals", "ApprovalStep")
    for code, (name, steps) in CHAINS.items():
        check_steps(code, steps)
        chain = Chain.objects.filter(code=code).first()
        if chain is None:
            chain = Chain.objects.create(code=code, name=name, active=True)
        else:
            current = [(s.kind, s.role, s.mode) for s in Step.objects.filter(chain=chain).order_by("order")]
            if current and current != SEEDED_BY_0002[code]:
                continue  # changed by an administrator (or already this seed's)
            Step.objects.filter(chain=chain).delete()
            chain.name = name
            chain.save(update_fields=["name"])
        for order, (kind, role, mode, step_name) in enumerate(steps, start=1):
            Step.objects.create(chain=chain, order=order, kind=kind, role=role, mode=mode, name=step_name)


def unseed(apps, schema_editor):
    """Back to 0002's chains (while they have no open requests)."""
    Chain = apps.get_model("approvals", "ApprovalChain")
    Step = apps.get_model("approvals", "ApprovalStep")
    old_names = {"complaint.solution.serious": "严重投诉处理方案审批（经理会议）",
                 "complaint.deadline_extension": "投诉处理延期审批"}
    old_step_names = {"manager": "部门经理", "executive": "总经理"}
    for code, steps in SEEDED_BY_0002.items():
        chain = Chain.objects.filter(code=code).first()
        if chain is None or [s.kind for s in Step.objects.filter(chain=chain)] != [CHAINS[code][1][0][0]]:
            continue
        Step.objects.filter(chain=chain).delete()
        chain.name = old_names[code]
        chain.save(update_fields=["name"])
        for order, (kind, role, mode) in enumerate(steps, start=1):
            Step.objects.create(chain=chain, order=order, kind=kind, role=role, mode=mode,
                                name=old_step_names[role])


class Migration(migrations.Migration):
    dependencies = [("approvals", "0003_meeting_and_line_manager_steps")]

    operations = [migrations.RunPython(seed, unseed)]
