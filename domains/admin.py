from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count

from . import services
from .models import Domain, Membership, Organization, Plan


class ServiceDeleteMixin:
    """Deletion (one object or the bulk action) goes through the app's service, which removes
    the mail system's side after commit; a refusal is shown, never a half-done delete."""

    def delete_one(self, obj) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        try:
            self.delete_one(obj)
        except ValidationError as error:
            self.message_user(request, f"{obj}: {error.messages[0]}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "max_domains",
        "max_accounts",
        "default_daily_send_limit",
        "max_daily_send_limit",
    )
    search_fields = ("name",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "plan", "domains_count", "accounts_count", "created_at")
    list_select_related = ("plan",)
    list_filter = ("plan",)
    search_fields = ("name",)
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_domains=Count("domains", distinct=True),
                n_accounts=Count("accounts", distinct=True),
            )
        )

    def delete_one(self, obj) -> None:
        services.organization_delete(organization=obj)

    @admin.display(ordering="n_domains", description="domains")
    def domains_count(self, obj):
        return obj.n_domains

    @admin.display(ordering="n_accounts", description="accounts")
    def accounts_count(self, obj):
        return obj.n_accounts


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    list_select_related = ("user", "organization")
    list_filter = ("role", "organization")
    search_fields = ("user__email", "organization__name")
    autocomplete_fields = ("user", "organization")


@admin.register(Domain)
class DomainAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "organization", "accounts_count", "applied", "last_error", "created_at")
    list_select_related = ("organization",)
    list_filter = ("organization",)
    search_fields = ("name", "organization__name")
    readonly_fields = (
        "desired_version",
        "applied_version",
        "changed_at",
        "last_error",
        "last_error_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_accounts=Count("accounts"))

    def delete_one(self, obj) -> None:
        services.domain_delete(domain=obj)

    @admin.display(ordering="n_accounts", description="accounts")
    def accounts_count(self, obj):
        return obj.n_accounts

    @admin.display(boolean=True)
    def applied(self, obj):
        return obj.is_applied
