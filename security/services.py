"""Own password changes and recovery, login throttling, 2FA, API tokens."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.passwords import password_change_required
from domains.models import Membership
from tempusmail.audit import audit

from .models import ApiToken, DomainSecurityPolicy

BACKUP_CODES = 10
STEP_VERIFY, STEP_ENROLL, STEP_PASSWORD = "verify", "enroll", "password"


# --- passwords ------------------------------------------------------------------------------


def change_own_password(*, user, old_password: str, new_password: str) -> None:
    """The signed-in person changes their password (mailbox owners: the mailbox password)."""
    if not user.check_password(old_password):
        raise ValidationError(_("Your current password is not correct."))
    account_services.user_set_password(user=user, password=new_password)
    user.refresh_from_db(fields=["password", "password_changed_at"])


# --- login throttling -----------------------------------------------------------------------


def _throttle_keys(ip: str, email: str) -> list[tuple[str, int]]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return [
        (f"login-fail:ip:{ip}", settings.LOGIN_FAILURES_PER_IP),
        (f"login-fail:acct:{digest}", settings.LOGIN_FAILURES_PER_ACCOUNT),
    ]


def login_throttled(*, ip: str, email: str) -> bool:
    """Too many failures from this address or for this login name (existing or not)."""
    return any((cache.get(key) or 0) >= limit for key, limit in _throttle_keys(ip, email))


def login_failed(*, ip: str, email: str) -> None:
    for key, _limit in _throttle_keys(ip, email):
        if not cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, settings.LOGIN_FAILURE_WINDOW)


def login_succeeded(*, email: str) -> None:
    cache.delete(_throttle_keys("", email)[1][0])


# --- two-factor authentication --------------------------------------------------------------


def has_2fa(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def requires_2fa(user) -> bool:
    """Staff outside development, "force 2FA" accounts, accounts of a domain with the policy,
    members of an organization whose owners require it."""
    if user.is_staff and settings.STAFF_REQUIRE_2FA:
        return True
    if Membership.objects.filter(user=user, organization__members_require_2fa=True).exists():
        return True
    account = getattr(user, "mailbox", None)
    if account is None:
        return False
    return (
        account.force_2fa
        or DomainSecurityPolicy.objects.filter(
            domain_id=account.domain_id, require_2fa=True
        ).exists()
    )


def login_steps(user) -> list[str]:
    """What a person must do after the password before reaching anything else."""
    steps = []
    if has_2fa(user):
        steps.append(STEP_VERIFY)
    elif requires_2fa(user):
        steps.append(STEP_ENROLL)
    if password_change_required(user):
        steps.append(STEP_PASSWORD)
    return steps


def pending_totp_device(*, user) -> TOTPDevice:
    """The device being enrolled: one unconfirmed TOTP device per user, reused until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


@transaction.atomic
def confirm_totp(*, user, device: TOTPDevice, token: str) -> list[str]:
    """Confirm enrollment with a first code; replace older devices; return new backup codes."""
    if not device.verify_token(token):
        raise ValidationError(_("That code is not valid. Check your device's clock and retry."))
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = regenerate_backup_codes(user=user)
    audit(action="2fa.enable", obj=user, organization_id=_org_id(user))
    return codes


def regenerate_backup_codes(*, user) -> list[str]:
    """Ten single-use codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Backup codes")
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def verify_otp(*, user, token: str):
    """The device that accepts this code (TOTP: no reuse, throttled; backup: single use)."""
    token = (token or "").strip().replace(" ", "")[:16]
    if not token:
        return None
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user, confirmed=True):
            if device.verify_token(token):
                return device
    return None


@transaction.atomic
def disable_2fa(*, user, by_admin: bool = False) -> None:
    """Remove every device. A user who must have 2FA cannot switch it off; an admin can reset."""
    if not by_admin and requires_2fa(user):
        raise ValidationError(_("Two-factor authentication is required for your account."))
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit(
        action="2fa.reset" if by_admin else "2fa.disable", obj=user, organization_id=_org_id(user)
    )


def _org_id(user) -> int | None:
    account = getattr(user, "mailbox", None)
    if account is not None:
        return account.organization_id
    membership = user.memberships.first()
    return membership.organization_id if membership else None


def domain_policy_update(*, domain, require_2fa: bool) -> DomainSecurityPolicy:
    policy, _created = DomainSecurityPolicy.objects.get_or_create(domain=domain)
    if policy.require_2fa != require_2fa:
        policy.require_2fa = require_2fa
        policy.save(update_fields=["require_2fa"])
        audit(action="domain.security", obj=domain, fields=["require_2fa"])
    return policy


# --- API tokens -----------------------------------------------------------------------------

TOKEN_PREFIX = "tm_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, name: str, organization=None) -> tuple[ApiToken, str]:
    """Returns the token and its key, which is shown once and stored only as a hash."""
    name = (name or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise ValidationError(_("Give the token a name of at most 100 characters."))
    if organization is None:
        account = getattr(user, "mailbox", None)
        if account is None or not account.api_access or not account.is_active:
            raise ValidationError(_("API access is not enabled for your account."))
        if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= 10:
            raise ValidationError(_("You can have at most 10 tokens: revoke one first."))
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        kind=ApiToken.Kind.ORGANIZATION if organization else ApiToken.Kind.PERSONAL,
        user=user,
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=_digest(secret),
    )
    audit(
        action="token.create",
        obj=token,
        organization_id=organization.pk if organization else _org_id(user),
    )
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(
            action="token.revoke",
            obj=token,
            organization_id=token.organization_id or _org_id(token.user),
        )


def token_lookup(key: str) -> ApiToken | None:
    """The live token for a presented key, or None (unknown, revoked, or its owner lost access)."""
    if not key.startswith(TOKEN_PREFIX) or len(key) > 200:
        return None
    prefix, _sep, secret = key[len(TOKEN_PREFIX) :].partition("_")
    token = (
        ApiToken.objects.select_related("user", "user__mailbox")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, _digest(secret)):
        return None
    user = token.user
    if not user.is_active:
        return None
    if token.kind == ApiToken.Kind.PERSONAL:
        account = getattr(user, "mailbox", None)
        if account is None or not account.api_access or not account.is_active:
            return None
    elif not user.memberships.filter(organization_id=token.organization_id).exists():
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# --- password recovery ----------------------------------------------------------------------


def recovery_address(user) -> str | None:
    """Where a recovery link may go, or None when recovery is not allowed for this login.
    Mailbox owners: their external address (the mailbox is what they are locked out of),
    unless "disable password recovery" or "disable password change" is set."""
    if not user.is_active or not user.has_usable_password():
        return None
    account = getattr(user, "mailbox", None)
    if account is None:
        return user.email
    if account.disable_password_recovery or account.disable_password_change:
        return None
    return user.external_email or None


def recovery_allowed(*, ip: str) -> bool:
    """At most 5 recovery requests per client address an hour (mail bombing, enumeration)."""
    key = f"recover:ip:{ip}"
    if not cache.add(key, 1, 3600):
        try:
            return cache.incr(key) <= 5
        except ValueError:
            cache.set(key, 1, 3600)
    return True


def reset_password(*, user, password: str) -> None:
    """Set a password from a recovery link: the user's own change, so every policy applies."""
    account_services.user_set_password(
        user=user, password=password, action="password.reset", organization_id=_org_id(user)
    )
