"""The login User, the mailbox (EmailAccount) and its aliases."""

import unicodedata
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from domains.models import Domain, Organization, SubscriptionType, Verification
from tempusmail.mailbackend.base import SERVICES
from tempusmail.models import Provisioned, Status

LANGUAGES = [("en", _("English")), ("it", _("Italian"))]
DATE_FORMATS = [
    ("d/m/Y", "31/12/2026"),
    ("m/d/Y", "12/31/2026"),
    ("Y-m-d", "2026-12-31"),
    ("d.m.Y", "31.12.2026"),
]
TIME_FORMATS = [("H:i", "23:59"), ("h:i A", "11:59 PM")]
EXPIRY_CHOICES = [
    (0, _("Never")),
    (3, _("Every 3 months")),
    (6, _("Every 6 months")),
    (12, _("Every 12 months")),
]
MAX_FORWARDS = 20
MAX_NETWORKS = 5
# The reject-all reply is one SMTP reply line (Postfix cuts replies at 510 bytes).
REJECT_MESSAGE_MAX = 300


def normalize_login(value: str) -> str:
    """The identity a typed sign-in name stands for: NFKC (as Django's login form does, so
    a fullwidth "ｂob" is "bob"), trimmed, lowercased (logins are stored lowercased). The
    authentication backend looks users up by it and sign-in throttling counts it, so no
    spelling of an address escapes the per-account limit."""
    return unicodedata.normalize("NFKC", str(value or "")).strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(**{self.model.USERNAME_FIELD: normalize_login(username)})

    def create_user(self, email: str, password: str | None = None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """One login for everybody: tenant admins, mailbox owners, support staff."""

    email = models.EmailField(_("email address"), unique=True)
    first_name = models.CharField(_("name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    # Personal data (Mailfence): the external address receives password-recovery links.
    external_email = models.EmailField(_("external email address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    postal_address = models.TextField(_("postal address"), max_length=500, blank=True)
    birthdate = models.DateField(_("birthdate"), null=True, blank=True)
    # Set while the user has a photo (UserPhoto): lists know without reading the image.
    photo_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # API access turned off or the account deactivated: every token made before stays dead,
    # whatever is turned on again later.
    tokens_revoked_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"

    EMAIL_FIELD = "email"
    objects = UserManager()

    class Meta:
        # address_taken() compares case-insensitively: without this it scans every user.
        indexes = [models.Index(Upper("email"), name="user_email_upper_idx")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


class EmailAccount(Provisioned):
    """A mailbox. Its owner's User password is the mailbox password."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="accounts"
    )
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="accounts")
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="mailbox")
    local_part = models.CharField(max_length=64)
    address = models.CharField(max_length=320, unique=True)
    first_name = models.CharField(_("name / description"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)

    # Lifecycle
    is_active = models.BooleanField(default=True)
    deleting = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # General
    quota_mb = models.PositiveIntegerField(_("storage capacity (MB)"))
    daily_send_limit = models.PositiveIntegerField(_("daily sending limit"))
    services = models.JSONField(default=list)

    # Security
    force_password_change = models.BooleanField(
        _("force password change on next login"), default=False
    )
    password_expiry_months = models.PositiveSmallIntegerField(
        _("password expiry"), choices=EXPIRY_CHOICES, default=0
    )
    block_password_reuse = models.BooleanField(_("block reuse of old passwords"), default=False)
    disable_password_change = models.BooleanField(_("disable password change"), default=False)
    disable_password_recovery = models.BooleanField(_("disable password recovery"), default=False)
    force_2fa = models.BooleanField(_("force two-factor authentication"), default=False)
    # A keyed digest of the plain password a CSV import last set, bound to the account and
    # to the hash it made (csvio.password_mark): a re-import of the same file sees the row
    # unchanged without checking the password itself, which would let whoever may upload
    # test guesses at a mailbox's current password. Any other password change unbinds it.
    imported_password_mark = models.CharField(max_length=64, blank=True, editable=False)
    allowed_networks = models.JSONField(_("IP restrictions"), default=list, blank=True)
    api_access = models.BooleanField(_("API access"), default=False)

    # Forward and other options
    forward_to = models.JSONField(default=list, blank=True)
    forward_keep_copy = models.BooleanField(_("keep a copy"), default=True)
    spam_to_inbox = models.BooleanField(_("deliver spam to Inbox"), default=False)
    reject_all = models.BooleanField(_("reject all incoming messages"), default=False)
    reject_message = models.TextField(_("automatic reply message"), blank=True)

    # Autoresponder
    autoreply_enabled = models.BooleanField(_("autoresponder on"), default=False)
    autoreply_subject = models.CharField(_("subject"), max_length=200, blank=True)
    autoreply_body = models.TextField(_("message"), blank=True)
    autoreply_start = models.DateTimeField(_("start"), null=True, blank=True)
    autoreply_end = models.DateTimeField(_("end"), null=True, blank=True)

    # Webmail
    webmail_language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    webmail_time_zone = models.CharField(max_length=64, default="UTC")
    date_format = models.CharField(max_length=16, choices=DATE_FORMATS, default="d/m/Y")
    time_format = models.CharField(max_length=16, choices=TIME_FORMATS, default="H:i")
    in_address_book = models.BooleanField(_("visible in the company address book"), default=True)

    # Usage, collected from the mail system by a periodic task
    storage_used_bytes = models.PositiveBigIntegerField(default=0)
    last_login_at = models.DateTimeField(null=True, blank=True)
    sent_24h = models.PositiveIntegerField(default=0)
    # The last collection could not read storage or sent counts: the values are the last known.
    usage_stale = models.BooleanField(default=False)

    # Subscription (docs/billing.md): the current period in the organization's calendar, the
    # monthly price paid for it (refunds and changes prorate that), when it renews.
    subscription = models.ForeignKey(
        SubscriptionType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("subscription"),
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    period_price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    billing_day = models.PositiveSmallIntegerField(default=1)
    renews_at = models.DateTimeField(null=True, blank=True, db_index=True)
    payment_due_since = models.DateTimeField(null=True, blank=True)
    suspended_for_payment = models.BooleanField(default=False)

    class Meta:
        ordering = ["address"]
        indexes = [
            # The list's and the API's order within a domain. By local part, not by address:
            # the unique index on address also gives that order, and when one domain holds
            # most of the table the planner walks it, filtering out the other domains' rows
            # (11 ms instead of 0.1 for page 1 beside 20,000 accounts of two other domains).
            models.Index(fields=["domain", "local_part"], name="account_domain_local_part_idx"),
            models.Index(fields=["organization", "is_active"]),
            # The account list sorts by each column within one domain (docs/benchmarks.md).
            models.Index(
                fields=["domain", "storage_used_bytes"], name="account_domain_storage_idx"
            ),
            models.Index(fields=["domain", "last_login_at"], name="account_domain_last_login_idx"),
            models.Index(fields=["domain", "sent_24h"], name="account_domain_sent_idx"),
            models.Index(fields=["domain", "is_active"], name="account_domain_active_idx"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def status(self) -> str:
        """Uses the domain: list pages give every row the one domain they show. The same rules
        as SQL conditions: `status_conditions`."""
        return account_status(
            deleting=self.deleting,
            verified=self.domain.is_verified,
            applied=self.is_applied,
            active=self.is_active,
        )

    @property
    def status_label(self) -> str:
        return Status(self.status).label

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_address(self) -> str:
        return f"{self.local_part}@{self.domain.display_name}"

    @property
    def quota_bytes(self) -> int:
        return self.quota_mb * 1024 * 1024

    @property
    def usage_percent(self) -> int:
        return usage_percent(self.storage_used_bytes, self.quota_mb)

    def offered_services(self) -> list[str]:
        return [s for s in SERVICES if s in self.services]

    @property
    def payment_due(self) -> bool:
        return self.payment_due_since is not None


class Alias(models.Model):
    """An extra address delivering into an account, on any domain of the same tenant."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="aliases")
    account = models.ForeignKey(EmailAccount, on_delete=models.CASCADE, related_name="aliases")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="aliases")
    local_part = models.CharField(max_length=64)
    address = models.CharField(max_length=320, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "aliases"

    def __str__(self) -> str:
        return self.address


class UserPhoto(models.Model):
    """A user's photo, re-encoded as JPEG (accounts/photos.py), in its own table so loading a
    User never reads image bytes; served only to people of the same organization."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="photo")
    data = models.BinaryField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"photo of {self.user_id}"


class Group(Provisioned):
    """A group address on one of the organization's domains: mail to it reaches every active
    member (Postfix expands it; deactivated members are left out of the expansion)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="groups")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="groups")
    name = models.CharField(_("name"), max_length=150)
    local_part = models.CharField(max_length=64)
    address = models.CharField(max_length=320, unique=True)
    members = models.ManyToManyField(EmailAccount, related_name="groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address

    @property
    def display_address(self) -> str:
        return f"{self.local_part}@{self.domain.display_name}"


class PasswordHistory(models.Model):
    """Hashes a user had before, so a reuse policy can refuse them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "password history"
        db_table = "security_passwordhistory"  # kept when the model moved here from security

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


class BulkJob(models.Model):
    """A change to many accounts of one domain (bulk action or CSV import), run by a worker.
    Its state lives here and in its items, so a worker that dies mid-way loses nothing: the
    next run (the task redelivered, or the reconciler's resume) carries on with the items
    still pending (accounts/bulk.py)."""

    class Kind(models.TextChoices):
        DEACTIVATE = "deactivate", _("Deactivate")
        REACTIVATE = "reactivate", _("Reactivate")
        STORAGE = "storage", _("Change storage")
        SERVICES = "services", _("Change services")
        SEND_LIMIT = "send_limit", _("Change daily sending limit")
        RESYNC = "resync", _("Resync")
        IMPORT = "import", _("CSV import")

    class State(models.TextChoices):
        PREVIEW = "preview", _("Preview")  # an uploaded CSV file, checked, not imported
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="bulk_jobs")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    file_name = models.CharField(max_length=255, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def processed(self) -> int:
        return self.done + self.failed

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(100, 100 * self.processed // self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.state == self.State.DONE


class BulkJobItem(models.Model):
    """One account (bulk action) or one CSV row (import) of a job, and what became of it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        UNCHANGED = "unchanged", _("Unchanged")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    line = models.PositiveIntegerField(default=0)  # the CSV line of an import row
    account = models.ForeignKey(
        EmailAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    address = models.CharField(max_length=320, blank=True)
    data = models.JSONField(default=dict, blank=True)  # an import row; its password encrypted
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # [{"column": ..., "message": ...}], the dry run's and the run's refusals
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["job", "state", "id"], name="bulk_item_job_state_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.line or self.address}"


def account_status(*, deleting: bool, verified: bool, applied: bool, active: bool) -> Status:
    """The badge an account shows (`EmailAccount.status`; the list's rows read the same facts
    from plain values)."""
    if deleting:
        return Status.UPDATING
    if not verified:
        return Status.WAITING
    if not applied:
        return Status.UPDATING
    return Status.ONLINE if active else Status.OFFLINE


def usage_percent(used_bytes: int, quota_mb: int) -> int:
    """How full a mailbox is, 0–100 (no quota: 0)."""
    return min(100, round(100 * used_bytes / (quota_mb * 1024 * 1024))) if quota_mb else 0


def status_conditions() -> dict[str, Q]:
    """`EmailAccount.status` as query conditions (the admin's filter, the overview's counts):
    every account matches exactly one of them."""
    verified = Q(domain__verification=Verification.VERIFIED)
    applied = Q(applied_version__gte=F("desired_version"))
    live = Q(deleting=False) & verified & applied
    return {
        Status.WAITING: Q(deleting=False) & ~verified,
        Status.UPDATING: Q(deleting=True) | (verified & ~applied),
        Status.ONLINE: live & Q(is_active=True),
        Status.OFFLINE: live & Q(is_active=False),
    }
