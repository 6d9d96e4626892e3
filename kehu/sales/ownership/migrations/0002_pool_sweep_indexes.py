"""Indexes for the pool sweep (公海) on the customers table: the idle selection reads the customers of the idle
stages created before the cutoff and not deleted — without this index both databases scan every customer.
(stage, created_at) whatever stages KEHU_POOL_IDLE_STAGES names; partial on deleted_at IS NULL, which the
sweep's query states literally. Created here, with the code that needs it (same SQL on SQLite and PostgreSQL)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0011_customer_status_pending"),
        ("ownership", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS ownership_cust_idle ON customers_customer (stage, created_at)"
            " WHERE deleted_at IS NULL",
            "DROP INDEX IF EXISTS ownership_cust_idle",
        ),
    ]
