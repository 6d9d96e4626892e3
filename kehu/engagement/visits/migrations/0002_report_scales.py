"""The visit report form's three scales (004 附件《客户走访报告单》), version 1, as rows:

注: 在质量、服务、产品三个栏目自左至右的分值分别为100分、90分、85分、80分、70分、60分、50分,
服务栏的"不好"为30分,"恶劣"为0分。"""

from django.db import migrations

SCALES = {
    "quality": [("非常优良", 100), ("优良", 90), ("良好", 85), ("一般", 80), ("合格", 70), ("不合格", 60)],
    "service": [("非常优良", 100), ("优良", 90), ("良好", 85), ("一般", 80), ("不好", 30), ("恶劣", 0)],
    "reputation": [("非常驰名", 100), ("驰名", 90), ("知名度高", 85), ("知名度较高", 80), ("知名", 70),
                   ("知道", 60), ("不知道", 50)],
}


def seed(apps, schema_editor):
    ScaleItem = apps.get_model("visits", "ScaleItem")
    for scale, rows in SCALES.items():
        for position, (label, points) in enumerate(rows, start=1):
            ScaleItem.objects.get_or_create(scale=scale, version=1, label=label,
                                            defaults={"position": position, "points": points, "active": True})


def unseed(apps, schema_editor):
    apps.get_model("visits", "ScaleItem").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_plans_reports")]
    operations = [migrations.RunPython(seed, unseed)]
