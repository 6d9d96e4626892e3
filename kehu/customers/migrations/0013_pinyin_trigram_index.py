"""PostgreSQL: a pg_trgm GIN index on the name's pinyin, so the full-pinyin search (huaxing) is answered
from an index. Its probe asks the search documents for the syllable-start term (f:huax) and then tests
`name_pinyin LIKE '%huaxing%'`; PostgreSQL trusted the LIKE more than the GIN selectivity and read the
whole customer table for it (95 ms at 100,000 customers). SQLite keeps its plan (the FTS5 postings, then
the substring test on the rows read in order); the results are the same (test_search_corpus.py)."""

from django.db import migrations

INDEX = "customers_customer_pinyin_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer "
                          "USING gin (name_pinyin gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0012_lean_write_indexes")]

    operations = [migrations.RunPython(create, drop)]
