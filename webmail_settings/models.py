"""Webmail preferences: per-domain defaults and policy, display names per identity,
signatures. The per-account localization lives on EmailAccount (webmail_* fields)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import DATE_FORMATS, LANGUAGES, TIME_FORMATS, EmailAccount
from domains.models import Domain


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
