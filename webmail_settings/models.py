"""Webmail preferences: per-domain defaults and policy, display names per identity,
signatures. The per-account localization lives on EmailAccount (webmail_* fields)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import DATE_FORMATS, LANGUAGES, TIME_FORMATS, EmailAccount
from domains.models import Domain, Organization


class SignaturePolicy(models.TextChoices):
    NONE = "none", _("No corporate signature")
    DEFAULT = "default", _("Default (the user may override it)")
    MANDATORY = "mandatory", _("Mandatory (the user cannot change it)")


class DomainWebmail(models.Model):
    """What the admin sets for every account of a domain: localization defaults copied into new
    accounts, the self-service policy and the corporate signature template."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="webmail")
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    date_format = models.CharField(
        _("date format"), max_length=16, choices=DATE_FORMATS, default="d/m/Y"
    )
    time_format = models.CharField(
        _("time format"), max_length=16, choices=TIME_FORMATS, default="H:i"
    )
    allow_user_forwarding = models.BooleanField(
        _("users may set their own forwarding"), default=False
    )
    signature_policy = models.CharField(
        _("corporate signature"),
        max_length=16,
        choices=SignaturePolicy.choices,
        default=SignaturePolicy.NONE,
    )
    signature_html = models.TextField(_("corporate signature (HTML)"), blank=True)
    signature_text = models.TextField(_("corporate signature (plain text)"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webmail settings of {self.domain}"

    def new_account_defaults(self) -> dict:
        """The localization a new account of the domain starts with (account_create reads it
        through the domain's `webmail` relation)."""
        return {
            "webmail_language": self.language,
            "webmail_time_zone": self.time_zone,
            "date_format": self.date_format,
            "time_format": self.time_format,
            "language": self.language,
            "time_zone": self.time_zone,
        }


class IdentityName(models.Model):
    """The display name the account uses when sending from one of its addresses."""

    account = models.ForeignKey(
        EmailAccount, on_delete=models.CASCADE, related_name="identity_names"
    )
    address = models.CharField(max_length=320)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "address"], name="one_name_per_identity")
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.address}>"


class Signature(models.Model):
    """A user's signature for one identity. html is stored already sanitized."""

    account = models.ForeignKey(EmailAccount, on_delete=models.CASCADE, related_name="signatures")
    identity = models.CharField(_("identity"), max_length=320)
    name = models.CharField(_("name"), max_length=100)
    html = models.TextField(_("HTML body"), blank=True)
    text = models.TextField(_("plain-text body"), blank=True)
    is_default = models.BooleanField(_("set as default"), default=False)
    bcc_sender = models.BooleanField(_("add sender in BCC"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identity", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "identity"],
                condition=Q(is_default=True),
                name="one_default_signature_per_identity",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.identity})"


# --- the email service catalog (seed 004) and external mailboxes ---------------------------


class ImapSecurity(models.TextChoices):
    NONE = "none", _("No")
    STARTTLS = "starttls", _("STARTTLS")
    TLS = "tls", _("TLS")


SMTP_PORTS = (25, 465, 587)


class ServerFields(models.Model):
    """IMAP and SMTP servers as the seed describes them: host, port, protection."""

    smtp_host = models.CharField(_("SMTP server"), max_length=253)
    smtp_port = models.PositiveIntegerField(_("SMTP port"))
    smtp_tls = models.BooleanField(_("use TLS"), default=True)
    imap_host = models.CharField(_("IMAP server"), max_length=253)
    imap_port = models.PositiveIntegerField(_("IMAP port"))
    imap_security = models.CharField(
        _("connection protection"),
        max_length=8,
        choices=ImapSecurity.choices,
        default=ImapSecurity.TLS,
    )

    class Meta:
        abstract = True

    @property
    def imap_server(self) -> str:
        return _server_text(self.imap_host, self.imap_port)

    @property
    def smtp_server(self) -> str:
        return _server_text(self.smtp_host, self.smtp_port)


def _server_text(host: str, port: int | None) -> str:
    if not host:
        return ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class EmailServiceSettings(models.Model):
    """An organization's catalog policy (Administration › Email service settings)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="email_service_settings"
    )
    allow_manual = models.BooleanField(
        _("allow entering details of the mailing server manually"), default=True
    )
    presets_loaded = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"email service settings of {self.organization}"


class EmailService(ServerFields):
    """One entry of an organization's catalog: a preset copy or the organization's own server.
    Connections reference it, so an edit reaches them without reconnecting."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="email_services"
    )
    name = models.CharField(_("name"), max_length=100)
    preset = models.CharField(max_length=32, blank=True)
    hidden = models.BooleanField(_("hidden"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="one_service_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SyncState(models.TextChoices):
    QUEUED = "queued", _("Waiting to sync")
    RUNNING = "running", _("Syncing")
    IDLE = "idle", _("Up to date")
    PAUSED = "paused", _("Paused")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped")


class ExternalMailbox(ServerFields):
    """A user's mailbox at another provider, imported into their own and kept in sync.

    Its servers come from the catalog service (read at each sync) or, for "Other", from its own
    fields. The password is a Fernet token (webmail_settings.crypto), never shown again."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="external_mailboxes"
    )
    account = models.ForeignKey(
        EmailAccount, on_delete=models.CASCADE, related_name="external_mailboxes"
    )
    service = models.ForeignKey(
        EmailService,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="connections",
    )
    manual = models.BooleanField(default=False)
    # "Other": the servers the user entered (empty when a catalog service is used).
    smtp_host = models.CharField(_("SMTP server"), max_length=253, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=0)
    imap_host = models.CharField(_("IMAP server"), max_length=253, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=0)
    service_name = models.CharField(max_length=100, blank=True)  # kept for the removal notice
    login = models.CharField(_("login"), max_length=320)
    password_encrypted = models.TextField()

    state = models.CharField(max_length=8, choices=SyncState.choices, default=SyncState.QUEUED)
    paused = models.BooleanField(default=False)
    # Progress of the running (or last) sync.
    folders_total = models.PositiveIntegerField(default=0)
    folders_done = models.PositiveIntegerField(default=0)
    messages_total = models.PositiveIntegerField(default=0)
    messages_done = models.PositiveIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    run_started_at = models.DateTimeField(null=True, blank=True)
    messages_imported = models.PositiveIntegerField(default=0)  # over all syncs
    messages_skipped = models.PositiveIntegerField(default=0)  # refused by the user's mailbox
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=32, blank=True)
    last_error_params = models.JSONField(default=dict, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True)
    # One job at a time: a job holds the lease while it runs and renews it after each batch.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["state", "next_sync_at"], name="external_due_idx")]

    def __str__(self) -> str:
        return f"{self.login} → {self.account_id}"

    @property
    def service_removed(self) -> bool:
        return not self.manual and self.service_id is None

    @property
    def servers(self) -> ServerFields | None:
        """Where the servers are read: the catalog service (edits reach the connection at
        once), the connection itself for "Other", None once the service was deleted."""
        return self if self.manual else self.service

    @property
    def percent(self) -> int:
        if self.state == SyncState.IDLE and self.messages_done >= self.messages_total:
            return 100
        if not self.messages_total:
            return 0
        return min(100, (100 * self.messages_done) // self.messages_total)


class ExternalFolder(models.Model):
    """Where the import of one folder stands: the external UIDVALIDITY and the highest UID
    copied. `pending_uid` marks a batch being appended, so a job that died mid-batch checks
    those messages against the user's mailbox before copying them again."""

    mailbox = models.ForeignKey(ExternalMailbox, on_delete=models.CASCADE, related_name="folders")
    source = models.CharField(max_length=1000)  # the external name, as the server sends it
    target = models.CharField(max_length=1000)  # the name in the user's mailbox
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    pending_uid = models.BigIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "source"], name="one_state_per_folder")
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"
