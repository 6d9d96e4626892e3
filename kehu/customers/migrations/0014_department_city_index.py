"""A department's customers by city, newest first: a manager's list filtered by city counted (and paged) from one
index range instead of the intersection of the city's and the department's bitmaps (at 1M customers: 31 → 6.7 ms
for the capped count; one more index entry per customer, +6–14 % on the customer row's insert, measured in
bench/README.md "Reads at 1M")."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0003_login_throttle_token_expiry_session_epoch'),
        ('customers', '0013_pinyin_trigram_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['department', 'city', '-updated_at', '-id'], name='cust_dept_city_upd'),
        ),
    ]
