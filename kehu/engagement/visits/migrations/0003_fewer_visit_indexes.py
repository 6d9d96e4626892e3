"""Fewer index writes per scheduled visit: a company's plans write millions of rows at once, and each index is
one more entry per row. Before: pk, plan, customer, authorised_by, interaction (the OneToOneField's unique
index: on PostgreSQL every NULL is an entry) and three composites — eight entries a visit. After: pk, the three
composites, (plan, planned_on) instead of plan alone — five; the authoriser is indexed only where set and the
interaction's uniqueness is a partial unique index of the linked visits only (a real unique constraint still,
``schedvisit_interaction_once``). Every query of kehu/engagement/visits and kehu/engagement was checked with
EXPLAIN on PostgreSQL (bench/README.md, "Issue 12, session 4").

The database side is done by hand. Django's AlterField would, on PostgreSQL, drop and re-add each of the four
foreign keys (re-adding one validates the whole table) just to drop an index; on SQLite it would copy the table
four times. Here PostgreSQL only drops and creates indexes; SQLite copies the table once — the OneToOneField's
UNIQUE is part of the column's definition there, which only a new table can drop."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "visits_scheduledvisit"
# Django's names of the single-column indexes (the same on both databases) and PostgreSQL's name of the
# OneToOneField's UNIQUE constraint.
OLD_INDEXES = [("plan_id", "visits_scheduledvisit_plan_id_50330298"),
               ("customer_id", "visits_scheduledvisit_customer_id_821fccca"),
               ("authorised_by_id", "visits_scheduledvisit_authorised_by_id_dfc0d92b")]
OLD_UNIQUE = "visits_scheduledvisit_interaction_id_key"
NEW_INDEXES = ["schedvisit_plan_day", "schedvisit_authorised_by", "schedvisit_interaction_once"]


class FewerIndexes(migrations.operations.base.Operation):
    """The state changes of ``state_operations``; on the database only the indexes move (see the module doc)."""

    reversible = True

    def __init__(self, state_operations):
        self.state_operations = state_operations

    def deconstruct(self):
        return self.__class__.__name__, [], {"state_operations": self.state_operations}

    def state_forwards(self, app_label, state):
        for operation in self.state_operations:
            operation.state_forwards(app_label, state)

    def describe(self):
        return "Fewer indexes on scheduled visits"

    def _swap(self, schema_editor, model, *, forwards: bool):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor._remake_table(model)  # one copy, with ``model``'s columns, indexes and constraints
            return
        if forwards:
            for index in model._meta.indexes:
                if index.name in NEW_INDEXES:
                    schema_editor.add_index(model, index)
            for constraint in model._meta.constraints:
                if constraint.name in NEW_INDEXES:
                    schema_editor.add_constraint(model, constraint)
            for _column, name in OLD_INDEXES:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {OLD_UNIQUE}")
        else:
            for column, name in OLD_INDEXES:
                schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} ({column})")
            schema_editor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {OLD_UNIQUE} UNIQUE (interaction_id)")
            for name in NEW_INDEXES:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, "scheduledvisit")
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self._swap(schema_editor, model, forwards=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, "scheduledvisit")
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self._swap(schema_editor, model, forwards=False)


class Migration(migrations.Migration):

    dependencies = [
        ('engagement', '0002_followups'),
        ('visits', '0002_report_scales'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        FewerIndexes(state_operations=[
            migrations.AlterField(
                model_name='scheduledvisit',
                name='authorised_by',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='authorised by'),
            ),
            migrations.AlterField(
                model_name='scheduledvisit',
                name='customer',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer', verbose_name='customer'),
            ),
            migrations.AlterField(
                model_name='scheduledvisit',
                name='interaction',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='scheduled_visits', to='engagement.interaction', verbose_name='follow-up'),
            ),
            migrations.AlterField(
                model_name='scheduledvisit',
                name='plan',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='visits', to='visits.visitplan', verbose_name='plan'),
            ),
            migrations.AddIndex(
                model_name='scheduledvisit',
                index=models.Index(fields=['plan', 'planned_on'], name='schedvisit_plan_day'),
            ),
            migrations.AddIndex(
                model_name='scheduledvisit',
                index=models.Index(condition=models.Q(('authorised_by__isnull', False)), fields=['authorised_by'], name='schedvisit_authorised_by'),
            ),
            migrations.AddConstraint(
                model_name='scheduledvisit',
                constraint=models.UniqueConstraint(condition=models.Q(('interaction__isnull', False)), fields=('interaction',), name='schedvisit_interaction_once'),
            ),
        ]),
    ]
