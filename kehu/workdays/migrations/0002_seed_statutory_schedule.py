"""Load the statutory schedule chinese-calendar knows, so a fresh database has a working calendar.
Same loader as `kehu workdays seed` (which also audits; here no user exists yet)."""

import uuid

from django.db import migrations


def seed(apps, schema_editor):
    from kehu.workdays import statutory
    from kehu.workdays.services import seed_rows

    CalendarDay = apps.get_model("workdays", "CalendarDay")
    CalendarVersion = apps.get_model("workdays", "CalendarVersion")
    seed_rows(CalendarDay, statutory.statutory_days(), overwrite_statutory=False)
    CalendarVersion.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex})


class Migration(migrations.Migration):
    dependencies = [("workdays", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
