"""The policy's customer types (seed 004 第13篇 第十条) with their entry and exit criteria and the papers each
must file (第七条). Administrators edit the rows later; a type already present (same code) is left as it is."""

from django.db import migrations

BASE = ["business_licence", "tax_registration", "organisation_code", "invoicing"]
EXIT = ("提供虚假信息，有欺诈、严重失信等行为；给公司造成经济损失或严重影响公司的市场信誉；违反国家和地方法律法规，"
        "被司法或行政机关立案查处（取消客户资格，第十七条）。资质到期未能按期换证且不能提供相关证明的，暂停业务往来"
        "直至有效资质更新完毕（第十五条）。")
TYPES = [
    ("direct", "直供客户", "直销客户必须是具有一定生产规模、资金诚信良好的直接使用公司产品的生产型企业。", EXIT, BASE, False),
    ("exclusive_agent", "独家代理", "在某区域内具有稳健、诚信的经营理念，较强的资金实力、优良的市场信誉和经营能力，且只经营"
     "本公司化工产品的客户；每年颁发独家代理许可证，每月提供下月销售计划（客户信息、销售数量、提货时间）。",
     EXIT + "不再只经营本公司化工产品，或未按月提供下月销售计划的，不再作为独家代理。", BASE + ["exclusive_agency"], True),
    ("dealer", "经销商", "在某区域内具有稳健、诚信的经营理念，较强的资金实力、优良的市场信誉和经营能力的经销商"
     "（非独家经营公司化工产品）。", EXIT, BASE, False),
]


def seed(apps, schema_editor):
    CustomerType = apps.get_model("qualification", "CustomerType")
    for position, (code, name, entry, exit_, kinds, plan) in enumerate(TYPES, start=1):
        CustomerType.objects.get_or_create(code=code, defaults={
            "name": name, "entry_criteria": entry, "exit_criteria": exit_, "required_kinds": kinds,
            "monthly_plan_required": plan, "position": position})


def unseed(apps, schema_editor):
    apps.get_model("qualification", "CustomerType").objects.filter(code__in=[t[0] for t in TYPES]).delete()


class Migration(migrations.Migration):
    dependencies = [("qualification", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
