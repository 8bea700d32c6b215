"""Tenants (Organization), their members and plan, and the mail domains they own."""

import secrets
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
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
    # Of max_accounts, how many may have a free (zero-price) subscription (seed 003).
    max_free_accounts = models.PositiveIntegerField(default=50)
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
    # Billing (docs/billing.md): the balance is the last ledger entry's balance_after, kept
    # here so one locked row serializes every spend; periods start at midnight in time_zone.
    credit = models.DecimalField(
        _("credit (EUR)"), max_digits=12, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    members_require_2fa = models.BooleanField(
        _("members must use two-factor authentication"), default=False
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit__gte=0), name="organization_credit_never_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.time_zone not in zoneinfo.available_timezones():
            raise ValidationError({"time_zone": _("Unknown time zone.")})


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


def new_verification_token() -> str:
    """Per claim: another organization's claim on the same name has its own token."""
    return secrets.token_urlsafe(24)


class Verification(models.TextChoices):
    PENDING = "pending", _("Pending verification")
    VERIFIED = "verified", _("Verified")


class CheckResult(models.TextChoices):
    """What the last ownership check found (the page says it in full)."""

    NOT_CHECKED = "", _("Not checked yet")
    FOUND = "found", _("Record found")
    MISSING = "missing", _("No record found")
    WRONG = "wrong", _("A record with another value")
    UNREACHABLE = "unreachable", _("Could not check: DNS did not answer")


class SubscriptionType(models.Model):
    """What one mailbox costs and includes; defined by the provider's staff (seed 003)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    monthly_price = models.DecimalField(
        _("monthly price (EUR)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Zero for a free subscription."),
    )
    storage_mb = models.PositiveIntegerField(_("storage (MB)"), validators=[MinValueValidator(1)])
    max_aliases = models.PositiveIntegerField(_("maximum aliases"), default=0)
    services = models.JSONField(_("services"), default=list, validators=[validate_services])
    is_active = models.BooleanField(
        _("offered"), default=True, help_text=_("Offered for new accounts and changes.")
    )

    class Meta:
        ordering = ["monthly_price", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_price__gte=0), name="subscription_price_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.monthly_price == 0

    def offered_services(self) -> list[str]:
        return [s for s in SERVICES if s in self.services]


class CreditEntry(models.Model):
    """One line of an organization's statement. Append-only: never updated or deleted (the
    database refuses it, migration 0002), written under a lock on the organization's row in
    the same transaction as the change it pays for."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        CHARGE = "charge", _("Charge")
        RENEWAL = "renewal", _("Renewal")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="credit_entries"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("amount (EUR)"), max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=12, decimal_places=2)
    description = models.CharField(_("description"), max_length=300)
    account_address = models.CharField(_("account"), max_length=320, blank=True)
    actor_email = models.CharField(_("by"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    # What makes an entry happen at most once: a payment id, a period's renewal or refund.
    reference = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "credit entries"
        indexes = [models.Index(fields=["organization", "-created_at", "-id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="credit_entry_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Credit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Credit entries are append-only.")


class Invitation(models.Model):
    """An owner's invitation to become a member: a one-time link (only its hash is kept)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class Domain(Provisioned):
    """A mail domain. Pending until its organization proves ownership by DNS: only verified
    domains reach the mail directory, and a verified name belongs to one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="domains")
    name = models.CharField(max_length=253, help_text=_("ASCII (punycode) form"))
    services = models.JSONField(default=list, validators=[validate_services])
    storage_options_mb = models.JSONField(default=list, validators=[validate_storage_options])
    default_daily_send_limit = models.PositiveIntegerField(default=500)
    created_at = models.DateTimeField(auto_now_add=True)

    # Ownership (docs/dns.md)
    verification = models.CharField(
        max_length=16, choices=Verification.choices, default=Verification.PENDING
    )
    verification_token = models.CharField(max_length=64, default=new_verification_token)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_checked_at = models.DateTimeField(null=True, blank=True)
    verification_result = models.CharField(
        max_length=16, choices=CheckResult.choices, default=CheckResult.NOT_CHECKED, blank=True
    )
    verification_answer = models.TextField(blank=True)  # what DNS answered (shown on "wrong")

    # Counters of its accounts not being deleted, so the domain list reads one row a domain
    # however many mailboxes it holds: kept by accounts.services (create, delete) and
    # accounts.sync.collect_usage, each with an F() update in the transaction of its change.
    accounts_count = models.PositiveIntegerField(default=0, editable=False)
    storage_used_bytes = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            # An unverified claim blocks nobody; a verified name belongs to one organization.
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(verification="verified"),
                name="one_verified_domain_per_name",
            ),
            models.UniqueConstraint(fields=["organization", "name"], name="one_claim_per_org"),
        ]
        indexes = [
            models.Index(fields=["verification", "verification_checked_at"]),
            models.Index(fields=["name"], name="domain_name_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @classmethod
    def add_to_counters(cls, pk: int, *, accounts: int = 0, storage: int = 0) -> None:
        """Move the counters by a change's difference, in the caller's transaction (F(): two
        changes at once both count)."""
        cls.objects.filter(pk=pk).update(
            accounts_count=F("accounts_count") + accounts,
            storage_used_bytes=F("storage_used_bytes") + storage,
        )

    @cached_property
    def display_name(self) -> str:
        """The name in Unicode, as people write it (decoded once: list rows reuse it)."""
        try:
            return self.name.encode("ascii").decode("idna")
        except UnicodeError:
            return self.name

    @property
    def is_verified(self) -> bool:
        return self.verification == Verification.VERIFIED

    @property
    def verification_record_name(self) -> str:
        return f"{settings.DOMAIN_VERIFY_LABEL}.{self.name}"

    @property
    def verification_record_value(self) -> str:
        return f"{settings.DOMAIN_VERIFY_PREFIX}={self.verification_token}"

    def offered_services(self) -> list[str]:
        """Services in the canonical order, limited to what the domain offers."""
        return [s for s in SERVICES if s in self.services]


class DkimKey(models.Model):
    """A domain's DKIM key. The active one signs; after a rotation the old one stays published
    (its DNS record keeps verifying mail already sent) until the owner retires it."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="dkim_keys")
    selector = models.CharField(max_length=63)
    private_key = models.TextField()  # the PEM, encrypted (tempusmail.crypto)
    public_key = models.TextField()  # base64 DER SubjectPublicKeyInfo: the record's p=
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-active", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "selector"], name="one_selector_per_domain"),
            models.UniqueConstraint(
                fields=["domain"], condition=Q(active=True), name="one_active_dkim_key"
            ),
        ]
        verbose_name = "DKIM key"

    def __str__(self) -> str:
        return f"{self.selector}._domainkey.{self.domain.name}"

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain.name}"

    @property
    def record_value(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_key}"


class DnsCheck(models.Model):
    """The last DNS health check of a domain: the tab renders from these stored answers."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="dns_check")
    requested_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"DNS check of {self.domain_id}"

    @property
    def running(self) -> bool:
        return bool(self.requested_at) and (
            self.checked_at is None or self.checked_at < self.requested_at
        )


class ClaimNotice(models.Model):
    """Told on the domain list: another organization verified a name this one had claimed,
    and this organization's pending claim (with what it had prepared) was removed."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="claim_notices"
    )
    name = models.CharField(max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} lost by {self.organization_id}"

    @property
    def display_name(self) -> str:
        try:
            return self.name.encode("ascii").decode("idna")
        except UnicodeError:
            return self.name


class DomainSentDay(models.Model):
    """Messages a domain's mailboxes sent on one (UTC) day, copied from the mail system's
    counters by the usage collection: the dashboard's 30-day chart reads these rows."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="sent_days")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "day"], name="domain_sent_day")]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.day}: {self.count}"
