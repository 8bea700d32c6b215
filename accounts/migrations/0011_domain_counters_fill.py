"""Fill Domain.accounts_count and storage_used_bytes (domains 0005) from the accounts that
exist: from here on accounts.services and accounts.sync.collect_usage keep them."""

from django.db import migrations
from django.db.models import Count, Sum


def fill(apps, schema_editor):
    Domain = apps.get_model("domains", "Domain")
    EmailAccount = apps.get_model("accounts", "EmailAccount")
    totals = (
        EmailAccount.objects.filter(deleting=False)
        .order_by()
        .values("domain_id")
        .annotate(n=Count("pk"), used=Sum("storage_used_bytes", default=0))
    )
    for row in totals:
        Domain.objects.filter(pk=row["domain_id"]).update(
            accounts_count=row["n"], storage_used_bytes=row["used"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_bulk_jobs"),
        ("domains", "0005_domain_counters"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
