import contextlib

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice

from . import services
from .models import ApiToken, AuditEvent, DomainSecurityPolicy

# Backup codes are security.BackupCodes (keyed hashes); django-otp's static device, which
# shows its codes in plain text, is not used and not offered.
with contextlib.suppress(admin.sites.NotRegistered):
    admin.site.unregister(StaticDevice)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail cannot be edited or deleted from the admin."""

    list_display = ("at", "organization", "actor_email", "ip", "via", "action", "object_repr")
    list_filter = ("action", "via")
    search_fields = ("actor_email", "object_repr", "ip")
    date_hierarchy = "at"
    list_select_related = ("organization",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "kind", "user", "organization", "created_at", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("name", "prefix", "user__email")
    readonly_fields = (
        "kind",
        "user",
        "organization",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke (for good)")
    def revoke(self, request, queryset):
        for token in queryset.select_related("user"):
            services.token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


@admin.register(DomainSecurityPolicy)
class DomainSecurityPolicyAdmin(admin.ModelAdmin):
    list_display = ("domain", "require_2fa")
    raw_id_fields = ("domain",)
