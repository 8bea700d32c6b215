"""Trigram indexes for the account list's icontains search (PostgreSQL only; a no-op elsewhere).

Measured in docs/benchmarks.md: an address search at 100,000 mailboxes goes from 252 ms to a
few ms.
"""

from django.db import migrations

COLUMNS = ("address", "first_name", "last_name")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS account_{column}_trgm_idx ON accounts_emailaccount "
            f"USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS account_{column}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_list_sort_indexes")]
    operations = [migrations.RunPython(create, drop)]
