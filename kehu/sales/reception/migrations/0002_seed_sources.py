"""The source channels of visitors and callers that a sales office starts with (configurable rows)."""

from django.db import migrations

SOURCES = [
    ("ad_outdoor", "户外广告", False),
    ("ad_newspaper", "报纸广告", False),
    ("ad_online", "网络广告", False),
    ("website", "官网/线上咨询", False),
    ("referral_friend", "亲友介绍", False),
    ("referral_customer", "老客户介绍", False),
    ("passing_by", "路过", False),
    ("exhibition", "展会/活动", False),
    ("company", "公司安排", True),
    ("other", "其他", False),
]


def seed(apps, schema_editor):
    SourceChannel = apps.get_model("reception", "SourceChannel")
    for i, (code, name, company) in enumerate(SOURCES):
        SourceChannel.objects.get_or_create(code=code, defaults={"name": name, "company": company,
                                                                 "position": (i + 1) * 10})


def unseed(apps, schema_editor):
    apps.get_model("reception", "SourceChannel").objects.filter(code__in=[s[0] for s in SOURCES]).delete()


class Migration(migrations.Migration):
    dependencies = [("reception", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
