from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.defaultfilters import filesizeformat

from domains import services as domain_services
from domains.models import SERVICE_CHOICES, Role
from tempusmail.models import Status

from . import services, subscriptions
from .forms import LinesField, LongSelect, time_zone_choices
from .models import MAX_FORWARDS, MAX_NETWORKS, Alias, EmailAccount, Group, User, status_conditions


def form_error(error: ValidationError | PermissionDenied) -> ValidationError:
    """A service's refusal as the form's error (shown on the page, never a server error)."""
    return ValidationError(getattr(error, "messages", None) or str(error))


class MailboxPasswordForm(AdminPasswordChangeForm):
    """A mailbox login's password is the mailbox's: set through account_set_password (the
    account's policy and history, and pushed to Dovecot, or IMAP and SMTP would keep taking
    the old one). It cannot be made unusable here: deactivate the account instead."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.account = getattr(user, "mailbox", None)
        if self.account is not None:
            self.fields.pop("usable_password", None)
            self.fields["password1"].required = self.fields["password2"].required = True

    def clean(self):
        data = super().clean()
        if self.account is not None and not self.errors:
            try:
                services.check_password_change(account=self.account, password=data.get("password1"))
            except (ValidationError, PermissionDenied) as error:
                raise form_error(error) from None
        return data

    def save(self, commit=True):
        if self.account is None:
            return super().save(commit=commit)
        services.account_set_password(account=self.account, password=self.cleaned_data["password1"])
        return self.account.user


class UserForm(UserChangeForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices, widget=LongSelect)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Staff edit panel logins here; a mailbox's login follows its account (address, status
    and password go through the account's services)."""

    form = UserForm
    change_password_form = MailboxPasswordForm
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal", {"fields": ("first_name", "last_name", "language", "time_zone")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "password_changed_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if getattr(obj, "mailbox", None) is not None:
            # The address is the mailbox's; deactivating goes through the account.
            fields = (*fields, "email", "is_active")
        return fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data:
            # An owner's address is where their domains' postmaster@ and support@ go.
            for org_id in obj.memberships.filter(role=Role.OWNER).values_list(
                "organization_id", flat=True
            ):
                domain_services.organization_domains_repush(organization_id=org_id)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*((status.value, status.label) for status in Status), ("error", "Push failing")]

    def queryset(self, request, queryset):
        if self.value() == "error":
            return queryset.exclude(last_error="")
        condition = status_conditions().get(self.value())
        return queryset if condition is None else queryset.filter(condition)


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 0
    fields = ("address",)
    readonly_fields = ("address",)
    can_delete = False


class EmailAccountAdminForm(forms.ModelForm):
    """Staff edits obey the panel's rules: refused on the form, never a server error. The
    list fields are edited as the panel shows them (boxes, one value per line), not as JSON."""

    services = forms.MultipleChoiceField(
        choices=SERVICE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    forward_to = LinesField(max_items=MAX_FORWARDS, label="Forward to (one address per line)")
    allowed_networks = LinesField(
        max_items=MAX_NETWORKS, label="IP restrictions (one address or network per line)"
    )

    webmail_time_zone = forms.ChoiceField(choices=time_zone_choices, widget=LongSelect)

    def clean(self):
        data = super().clean()
        values = {  # a field that failed its own validation (say, not JSON) is not in data
            f: data[f] for f in self.changed_data if f in services.EDITABLE_FIELDS and f in data
        }
        try:
            # The same checks as the save's account_update, on the account as stored.
            services.update_plan(
                account=EmailAccount.objects.select_related(
                    "user", "domain__organization__plan", "subscription"
                ).get(pk=self.instance.pk),
                values=values,
            )
        except (ValidationError, PermissionDenied) as error:
            raise form_error(error) from None
        return data


@admin.register(EmailAccount)
class EmailAccountAdmin(admin.ModelAdmin):
    form = EmailAccountAdminForm
    list_display = (
        "address",
        "status_label",
        "organization",
        "quota_mb",
        "storage_used",
        "last_login_at",
        "sent_24h",
        "last_error",
    )
    list_select_related = ("organization", "domain")
    list_filter = (StatusFilter, "organization")
    search_fields = ("address", "domain__name", "organization__name", "first_name", "last_name")
    readonly_fields = (
        "organization",
        "domain",
        "user",
        "address",
        "local_part",
        "desired_version",
        "applied_version",
        "changed_at",
        "last_error",
        "last_error_at",
        "deleting",
        "is_active",
        "storage_used",
        "last_login_at",
        "sent_24h",
        "usage_stale",
        # Changed by the billing services (renewals, payments), never by an edit here.
        *subscriptions.PERIOD_FIELDS,
    )
    exclude = ("storage_used_bytes",)
    inlines = [AliasInline]
    actions = ["resync", "deactivate", "reactivate"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # accounts are created through the services (plan limits, user, push)

    def has_delete_permission(self, request, obj=None):
        return False  # deletion goes through deactivate → delete in the panel

    def save_model(self, request, obj, form, change):
        """Edits go through the service: validated, and pushed to the mail system."""
        values = {
            f: form.cleaned_data[f] for f in form.changed_data if f in services.EDITABLE_FIELDS
        }
        account = EmailAccount.objects.select_related("user", "domain__organization__plan").get(
            pk=obj.pk
        )
        services.account_update(account=account, values=values)

    @admin.display(description="status")
    def status_label(self, obj):
        return obj.status_label

    @admin.display(description="storage used", ordering="storage_used_bytes")
    def storage_used(self, obj):
        return f"{filesizeformat(obj.storage_used_bytes)} of {filesizeformat(obj.quota_bytes)}"

    @admin.action(description="Resync to backend")
    def resync(self, request, queryset):
        count = services.resync(accounts=queryset)
        self.message_user(request, f"{count} account(s) queued for a push.")

    def _each(self, request, queryset, operation, verb):
        done = 0
        for account in queryset.select_related("user"):
            try:
                operation(account=account)
                done += 1
            except ValidationError as error:
                self.message_user(request, f"{account}: {error.messages[0]}", messages.WARNING)
        self.message_user(request, f"{done} account(s) {verb}.")

    @admin.action(description="Deactivate")
    def deactivate(self, request, queryset):
        self._each(request, queryset, services.account_deactivate, "deactivated")

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset):
        self._each(request, queryset, services.account_reactivate, "reactivated")


@admin.register(Alias)
class AliasAdmin(admin.ModelAdmin):
    list_display = ("address", "account", "organization")
    list_select_related = ("account", "organization")
    list_filter = ("organization",)
    search_fields = ("address", "account__address", "organization__name")
    readonly_fields = ("organization", "account", "domain", "address", "local_part")

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        """Through the service: the mail system stops delivering to the alias too."""
        try:
            services.alias_delete(alias=obj)
        except ValidationError as error:
            self.message_user(request, f"{obj}: {error.messages[0]}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for alias in queryset.select_related("account"):
            self.delete_model(request, alias)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    """Read-only for staff: owners manage their groups in the panel (pushes, audit)."""

    list_display = ("address", "name", "organization", "applied", "last_error")
    list_select_related = ("organization",)
    list_filter = ("organization",)
    search_fields = ("address", "name", "organization__name")
    readonly_fields = (
        "organization",
        "domain",
        "name",
        "local_part",
        "address",
        "members",
        "desired_version",
        "applied_version",
        "last_error",
    )
    exclude = ("changed_at", "last_error_at")

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True)
    def applied(self, obj):
        return obj.is_applied
