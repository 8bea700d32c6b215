"""Domain-wide 2FA policy, backup codes, API tokens and the audit log."""

from django.conf import settings
from django.db import models, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from domains.models import Domain, Organization


class DomainSecurityPolicy(models.Model):
    """Domain-wide rules for every account of the domain."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="security_policy")
    require_2fa = models.BooleanField(_("mandatory OTP for domain accounts"), default=False)

    class Meta:
        verbose_name_plural = "domain security policies"

    def __str__(self) -> str:
        return f"{self.domain}: 2FA {'required' if self.require_2fa else 'optional'}"


class ApiToken(models.Model):
    """A bearer token. Personal: acts as a mailbox owner on their own mailbox. Organization:
    acts as its creator within one organization, with that person's current role."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        ORGANIZATION = "organization", _("Organization")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def revoked_by_cutoff(self) -> bool:
        """Made before its owner's API access was turned off or the account deactivated."""
        cutoff = self.user.tokens_revoked_at
        return cutoff is not None and self.created_at <= cutoff

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.revoked_by_cutoff()


class AuditEvent(models.Model):
    """Who changed what, from where and when. Field names only: never values of secrets."""

    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor_email = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=320, blank=True)
    fields = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action} {self.object_repr}"


def backup_code_digest(code: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY) of a backup code as typed, spaces and hyphens
    ignored: the table alone cannot confirm a guess."""
    plain = "".join(code.split()).replace("-", "").lower()
    return salted_hmac("tempusmail.security.backup-code", plain, algorithm="sha256").hexdigest()


class BackupCodes(Device):
    """A person's single-use backup codes, stored only as keyed hashes (django-otp's static
    device keeps them in plain text). No per-device throttle: wrong codes are counted per
    sign-in and per client address (security.services), never against the owner."""

    class Meta:
        verbose_name_plural = "backup codes"

    def verify_token(self, token) -> bool:
        with transaction.atomic():
            deleted, _rows = self.codes.filter(code_hash=backup_code_digest(str(token))).delete()
        return deleted > 0


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodes, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return f"backup code of {self.device.user_id}"
