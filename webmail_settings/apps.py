from django.apps import AppConfig


class WebmailSettingsConfig(AppConfig):
    name = "webmail_settings"
    default_auto_field = "django.db.models.BigAutoField"
