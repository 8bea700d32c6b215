from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .billing import format_eur
from .models import (
    CreditEntry,
    DkimKey,
    Domain,
    Invitation,
    Membership,
    Organization,
    Plan,
    Role,
    SubscriptionType,
)
from .org_forms import CreditEntryAdminForm


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
class OrganizationAdmin(ServiceDeleteMixin, admin.ModelAdmin):
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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:  # owners may have changed: postmaster@ and support@ follow them
            services.organization_domains_repush(organization_id=form.instance.pk)

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

    def save_model(self, request, obj, form, change):
        before = Membership.objects.filter(pk=obj.pk).values_list("organization_id", flat=True)
        super().save_model(request, obj, form, change)
        for org_id in {*before, obj.organization_id}:
            services.organization_domains_repush(organization_id=org_id)

    def delete_model(self, request, obj):
        org_id, was_owner = obj.organization_id, obj.role == Role.OWNER
        super().delete_model(request, obj)
        if was_owner:
            services.organization_domains_repush(organization_id=org_id)


class DkimKeyInline(admin.TabularInline):
    """Selectors and public keys only: the private key is never shown."""

    model = DkimKey
    extra = 0
    fields = ("selector", "active", "created_at", "public_key")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Domain)
class DomainAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "organization",
        "verification",
        "accounts_count",
        "applied",
        "last_error",
        "created_at",
    )
    list_select_related = ("organization",)
    list_filter = ("verification", "organization")
    search_fields = ("name", "organization__name")
    readonly_fields = (
        "name",
        "organization",
        "verification",
        "verified_at",
        "verification_token",
        "verification_checked_at",
        "verification_result",
        "verification_answer",
        "desired_version",
        "applied_version",
        "changed_at",
        "last_error",
        "last_error_at",
    )
    inlines = [DkimKeyInline]
    actions = ["mark_verified"]

    def has_add_permission(self, request):
        return False  # domains are added through the panel (plan limits, claimable names)

    def delete_one(self, obj) -> None:
        services.domain_delete(domain=obj)

    @admin.display(boolean=True)
    def applied(self, obj):
        return obj.is_applied

    @admin.action(description="Mark verified (staff vouch for the ownership)")
    def mark_verified(self, request, queryset):
        """Audited as the staff member; other organizations' pending claims are removed."""
        done = 0
        for domain in queryset.order_by("pk"):
            if domain.is_verified:
                continue
            try:
                services.domain_mark_verified(domain=domain, by_staff=True)
                done += 1
            except ValidationError as error:
                self.message_user(request, f"{domain.name}: {error.messages[0]}", messages.WARNING)
        self.message_user(request, f"{done} domain(s) marked verified.")


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
