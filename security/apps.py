from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from domains.models import Membership

        from . import checks  # noqa: F401  (registers the deployment checks)
        from .services import tokens_revoke_membership

        def membership_gone(sender, instance, **kwargs):
            # Panel, Django admin or a cascade: the member's organization tokens go with it.
            tokens_revoke_membership(
                user_id=instance.user_id, organization_id=instance.organization_id
            )

        post_delete.connect(membership_gone, sender=Membership, weak=False)
