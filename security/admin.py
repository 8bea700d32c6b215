from django.contrib import admin

from .models import ApiToken, AuditEvent, DomainSecurityPolicy


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
    readonly_fields = ("kind", "user", "organization", "prefix", "created_at", "last_used_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request):
        return False


@admin.register(DomainSecurityPolicy)
class DomainSecurityPolicyAdmin(admin.ModelAdmin):
    list_display = ("domain", "require_2fa")
    raw_id_fields = ("domain",)
