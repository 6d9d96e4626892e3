"""The approval chain for an order that breaks the customer's payment terms (004 第13篇: 款到发货 or
a credit limit): the sales manager, then finance. Administrators change it later; a chain already
present (same code) is left as it is."""

from django.db import migrations

CHAINS = [
    ("order_terms_exception", "订单付款条件例外审批", [
        ("manager", "any", "销售经理"),
        ("finance", "any", "财务部"),
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
    dependencies = [("orders", "0001_orders_payments_terms"), ("approvals", "0002_seed_default_chains")]

    operations = [migrations.RunPython(seed, unseed)]
