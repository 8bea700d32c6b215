"""Tenants (Organization), their members and plan, and the mail domains they own."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from tempusmail.mailbackend.base import SERVICES
from tempusmail.models import Provisioned

SERVICE_LABELS = {
    "pop": _("POP access"),
    "imap": _("IMAP access"),
    "smtp": _("SMTP access"),
    "webmail": _("Webmail access"),
    "activesync": _("Microsoft Exchange ActiveSync"),
    "dav": _("DAV access"),
    "xmpp": _("XMPP access"),
}
SERVICE_CHOICES = [(code, SERVICE_LABELS[code]) for code in SERVICES]
# What the switches do (docs/services.md); ActiveSync is only stored: nothing in Debian serves it.
SERVICES_HELP = _(
    "Webmail, DAV (calendars and contacts) and XMPP (chat) sign in with the mailbox address and "
    "password. No ActiveSync server is included: that setting is only stored, for an ActiveSync "
    "gateway your provider may run."
)


def validate_services(value) -> None:
    if not isinstance(value, list) or any(v not in SERVICES for v in value):
        raise ValidationError(_("Unknown service."))


def validate_storage_options(value) -> None:
    if not isinstance(value, list) or any(
        not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in value
    ):
        raise ValidationError(_("Storage capacities must be positive numbers of MB."))


class Plan(models.Model):
    """What an organization bought: the limits every write is checked against."""

    name = models.CharField(max_length=100, unique=True)
    max_domains = models.PositiveIntegerField(default=5)
    max_accounts = models.PositiveIntegerField(default=50)
    storage_options_mb = models.JSONField(
        default=list,
        validators=[validate_storage_options],
        help_text=_("Storage capacities offered, in MB, e.g. [1024, 5120, 10240]."),
    )
    services = models.JSONField(default=list, validators=[validate_services])
    default_daily_send_limit = models.PositiveIntegerField(default=500)
    max_daily_send_limit = models.PositiveIntegerField(default=2000)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.default_daily_send_limit > self.max_daily_send_limit:
            raise ValidationError(_("The default sending limit exceeds the maximum."))


class Organization(models.Model):
    """The tenant: everything a customer owns hangs off one row of this table."""

    name = models.CharField(max_length=200)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organizations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner / admin")
    OPERATOR = "operator", _("Operator")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OWNER, Role.OPERATOR)

    @property
    def can_manage(self) -> bool:
        """Deactivate, reactivate, delete: "you must be authorized to perform the operation"."""
        return self.role == Role.OWNER


class Domain(Provisioned):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="domains")
    name = models.CharField(max_length=253, unique=True, help_text=_("ASCII (punycode) form"))
    services = models.JSONField(default=list, validators=[validate_services])
    storage_options_mb = models.JSONField(default=list, validators=[validate_storage_options])
    default_daily_send_limit = models.PositiveIntegerField(default=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @cached_property
    def display_name(self) -> str:
        """The name in Unicode, as people write it (decoded once: list rows reuse it)."""
        try:
            return self.name.encode("ascii").decode("idna")
        except UnicodeError:
            return self.name

    def offered_services(self) -> list[str]:
        """Services in the canonical order, limited to what the domain offers."""
        return [s for s in SERVICES if s in self.services]
