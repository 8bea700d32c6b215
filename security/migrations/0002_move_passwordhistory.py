from django.db import migrations


class Migration(migrations.Migration):
    """PasswordHistory now belongs to accounts (same table)."""

    dependencies = [
        ("security", "0001_initial"),
        ("accounts", "0006_passwordhistory"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PasswordHistory")],
        ),
    ]
