"""Fewer index writes per customer: the keyed hashes get explicit indexes (db_index=True on a CharField also
gave PostgreSQL a varchar_pattern_ops twin for LIKE, which nobody uses on a hash), merged_into a partial index
of the tombstones only, and the consent's customer none of its own (consent_subject_status leads with it).

The database side is done by hand: Django's AlterField would rebuild the whole customer table on SQLite
(a copy of every row at a million customers) just to drop an index."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The indexes that db_index=True created (Django's names; the same on both databases) and PostgreSQL's twins.
OLD = [("customers_customer", "mobile_hash", "customers_customer_mobile_hash_9c8271a0"),
       ("customers_customer", "id_number_hash", "customers_customer_id_number_hash_a2e6d584"),
       ("customers_contact", "mobile_hash", "customers_contact_mobile_hash_100413b7"),
       ("customers_customer", "merged_into_id", "customers_customer_merged_into_id_2994ddb6"),
       ("customers_consent", "customer_id", "customers_consent_customer_id_e5c9af2d")]
DROP = [f"DROP INDEX IF EXISTS {name}_like" for _t, c, name in OLD if c.endswith("_hash")] + [
    f"DROP INDEX IF EXISTS {name}" for _t, _c, name in OLD]
RECREATE = [f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})" for table, column, name in OLD]


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0003_login_throttle_token_expiry_session_epoch'),
        ('customers', '0011_customer_status_pending'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='consent',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='consents', to='customers.customer', verbose_name='customer'),
                ),
                migrations.AlterField(
                    model_name='contact',
                    name='mobile_hash',
                    field=models.CharField(blank=True, default='', max_length=64),
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='id_number_hash',
                    field=models.CharField(blank=True, default='', max_length=64),
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='merged_into',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='merged_from', to='customers.customer', verbose_name='merged into'),
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='mobile_hash',
                    field=models.CharField(blank=True, default='', max_length=64),
                ),
            ],
            database_operations=[migrations.RunSQL(DROP, reverse_sql=RECREATE)],
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['mobile_hash'], name='contact_mobile_hash'),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['mobile_hash'], name='cust_mobile_hash'),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['id_number_hash'], name='cust_id_number_hash'),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(condition=models.Q(('merged_into__isnull', False)), fields=['merged_into'], name='cust_merged_into'),
        ),
    ]
