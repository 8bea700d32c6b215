from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    """PasswordHistory moves from security to accounts; its table stays where it is."""

    dependencies = [
        ("accounts", "0005_trigram_search"),
        ("security", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PasswordHistory",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("password", models.CharField(max_length=255)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="password_history", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name_plural": "password history",
                        "ordering": ["-created_at", "-pk"],
                        "db_table": "security_passwordhistory",
                    },
                ),
            ],
        ),
    ]
