from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from domains.ownership import on_domain_verified

        from . import services

        # A domain that becomes verified brings its accounts (and aliases on it) live.
        on_domain_verified(services.domain_verified)
