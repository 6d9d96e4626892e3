"""Search storage: one document per customer, indexed by the database's own engine (SQLite FTS5,
PostgreSQL GIN over a tsvector), instead of ~25 SearchToken rows per customer. See search_index.py."""

import django.db.models.deletion
from django.db import migrations, models

# Frozen copies of search_index's DDL (a migration must not change when the module does).
FTS = "customers_searchfts"
DOC = "customers_searchdocument"
SQLITE_SQL = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(terms, content='{DOC}', content_rowid='customer_id', "
    "tokenize=\"ascii tokenchars ':$'\", detail=none, columnsize=0)",
    f"CREATE TRIGGER customers_searchdoc_ai AFTER INSERT ON {DOC} BEGIN "
    f"INSERT INTO {FTS}(rowid, terms) VALUES (new.customer_id, new.terms); END",
    f"CREATE TRIGGER customers_searchdoc_ad AFTER DELETE ON {DOC} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, terms) VALUES ('delete', old.customer_id, old.terms); END",
    f"CREATE TRIGGER customers_searchdoc_au AFTER UPDATE ON {DOC} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, terms) VALUES ('delete', old.customer_id, old.terms); "
    f"INSERT INTO {FTS}(rowid, terms) VALUES (new.customer_id, new.terms); END",
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS customers_searchdoc_{t}" for t in ("ai", "ad", "au")] + [
    f"DROP TABLE IF EXISTS {FTS}"]
POSTGRES_SQL = [f"ALTER TABLE {DOC} ADD COLUMN terms_vector tsvector "
                "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED",
                f"CREATE INDEX customers_searchdoc_terms ON {DOC} USING gin (terms_vector) WITH (fastupdate = on)"]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS customers_searchdoc_terms",
                    f"ALTER TABLE {DOC} DROP COLUMN IF EXISTS terms_vector"]


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql)
    return run


create_index = _run({"sqlite": SQLITE_SQL, "postgresql": POSTGRES_SQL})
drop_index = _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE})


def fill(apps, schema_editor):
    """A document for every existing customer, from its name (1,000 rows per statement)."""
    from kehu.customers import search

    Customer = apps.get_model("customers", "Customer")
    SearchDocument = apps.get_model("customers", "SearchDocument")
    batch = []
    for pk, name in Customer.objects.order_by("pk").values_list("pk", "name").iterator(chunk_size=2000):
        batch.append(SearchDocument(customer_id=pk, terms=search.document(search.name_keys(name).tokens)))
        if len(batch) >= 1000:
            SearchDocument.objects.bulk_create(batch)
            batch = []
    SearchDocument.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0008_region_codes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                ("customer", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                                  related_name="+", serialize=False, to="customers.customer")),
                ("terms", models.TextField()),
            ],
        ),
        migrations.RunPython(create_index, drop_index),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.DeleteModel(name="SearchToken"),
    ]
