from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "domains"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import ownership, tasks

        ownership.on_domain_verified(tasks.after_verification)
