from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from .billing import format_eur
from .models import (
    CreditEntry,
    Domain,
    Invitation,
    Membership,
    Organization,
    Plan,
    SubscriptionType,
)
from .org_forms import CreditEntryAdminForm


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "max_domains",
        "max_accounts",
        "max_free_accounts",
        "default_daily_send_limit",
        "max_daily_send_limit",
    )
    search_fields = ("name",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "plan",
        "credit_balance",
        "domains_count",
        "accounts_count",
        "created_at",
    )
    list_select_related = ("plan",)
    list_filter = ("plan",)
    search_fields = ("name",)
    readonly_fields = ("credit_balance",)
    inlines = [MembershipInline]

    @admin.display(ordering="credit", description="credit")
    def credit_balance(self, obj):
        """The balance, and a link to top up or adjust it (the ledger's add form)."""
        if obj.pk is None:
            return format_eur(obj.credit)
        url = reverse("admin:domains_creditentry_add") + f"?organization={obj.pk}"
        return format_html('{} · <a href="{}">top up / adjust</a>', format_eur(obj.credit), url)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_domains=Count("domains", distinct=True),
                n_accounts=Count("accounts", distinct=True),
            )
        )

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
class DomainAdmin(admin.ModelAdmin):
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

    @admin.display(ordering="n_accounts", description="accounts")
    def accounts_count(self, obj):
        return obj.n_accounts

    @admin.display(boolean=True)
    def applied(self, obj):
        return obj.is_applied


@admin.register(SubscriptionType)
class SubscriptionTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "monthly_price", "storage_mb", "max_aliases", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    """The ledger: staff add top-ups and adjustments; nothing is ever edited or deleted."""

    form = CreditEntryAdminForm
    list_display = (
        "created_at",
        "organization",
        "kind",
        "amount",
        "balance_after",
        "description",
        "account_address",
        "actor_email",
    )
    list_select_related = ("organization",)
    list_filter = ("kind", "organization")
    search_fields = ("organization__name", "description", "account_address", "reference")
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "kind", "amount", "description"]
        return [
            "created_at",
            "organization",
            "kind",
            "amount",
            "balance_after",
            "description",
            "account_address",
            "actor_email",
            "reference",
        ]

    def save_model(self, request, obj, form, change):
        """The entry is written by the ledger's service (organization locked, balance kept)."""
        try:
            entry = form.write()
        except ValidationError as error:  # the balance changed since the form was checked
            messages.error(request, " ".join(error.messages))
            raise
        obj.__dict__.update({k: v for k, v in entry.__dict__.items() if not k.startswith("_")})
        obj._state = entry._state


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "created_at", "accepted_at", "revoked_at")
    list_select_related = ("organization",)
    list_filter = ("role",)
    search_fields = ("email", "organization__name")
    readonly_fields = [f.name for f in Invitation._meta.fields]

    def has_add_permission(self, request):
        return False
