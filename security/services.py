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
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.access import check_credentials_change
from accounts.models import User, normalize_login
from accounts.passwords import password_change_required
from domains.models import Membership
from tempusmail.audit import audit
from tempusmail.net import client_key

from .models import ApiToken, BackupCode, BackupCodes, DomainSecurityPolicy, backup_code_digest

BACKUP_CODES = 10
SIGN_IN_ACTIONS = (
    "login.success",
    "login.failure",
    "login.throttled",
    "otp.failure",
    "ip.refused",
    "reauth.failure",
)
CODE_TRIES_PER_SIGN_IN = 5
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
STEP_VERIFY, STEP_ENROLL, STEP_PASSWORD = "verify", "enroll", "password"


# --- passwords ------------------------------------------------------------------------------


def change_own_password(*, user, old_password: str, new_password: str) -> None:
    """The signed-in person changes their password (mailbox owners: the mailbox password)."""
    if not user.check_password(old_password):
        raise ValidationError(_("Your current password is not correct."))
    account_services.user_set_password(user=user, password=new_password)
    user.refresh_from_db(fields=["password", "password_changed_at"])


# --- sign-in: throttling and audit -----------------------------------------------------------


PROFILE_FIELDS = ("first_name", "last_name", "language", "time_zone")


def profile_update(*, user, values: dict) -> bool:
    """The signed-in person's name, language and time zone; audited. False if unchanged.
    A mailbox's login changes them through its account (account_update): the mailbox's name
    is the login's, and the address book shows the mailbox's."""
    account = getattr(user, "mailbox", None)
    if account is not None:
        wanted = {f: values[f] for f in PROFILE_FIELDS if f in values}
        return bool(account_services.account_update(account=account, values=wanted))
    changed = [f for f in PROFILE_FIELDS if f in values and getattr(user, f) != values[f]]
    if not changed:
        return False
    for name in changed:
        setattr(user, name, values[name])
    user.save(update_fields=changed)
    audit(action="profile.update", obj=user, organization_id=_org_id(user), fields=changed)
    return True


def _throttle_keys(ip: str, identity: str) -> list[tuple[str, int]]:
    digest = hashlib.sha256(normalize_login(identity).encode()).hexdigest()
    return [
        (f"login-fail:ip:{client_key(ip)}", settings.LOGIN_FAILURES_PER_IP),
        (f"login-fail:acct:{digest}", settings.LOGIN_FAILURES_PER_ACCOUNT),
    ]


def login_throttled(*, ip: str, email: str) -> bool:
    """Too many failures from this client or for this login (existing or not). The login is
    counted as the authentication backend will look it up (accounts.models.normalize_login)."""
    return any((cache.get(key) or 0) >= limit for key, limit in _throttle_keys(ip, email))


def _count(key: str) -> None:
    if not cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, settings.LOGIN_FAILURE_WINDOW)


def client_throttled(*, ip: str) -> bool:
    key, limit = _throttle_keys(ip, "")[0]
    return (cache.get(key) or 0) >= limit


def login_failed(*, ip: str, email: str) -> None:
    for key, _limit in _throttle_keys(ip, email):
        _count(key)


def login_succeeded(*, email: str) -> None:
    cache.delete(_throttle_keys("", email)[1][0])


def audit_sign_in(action: str, *, email: str, user=None) -> None:
    """One sign-in event (login.success, login.failure, login.throttled, otp.failure,
    ip.refused): who (the person, or the name typed for an unknown one), address, when."""
    if user is None:
        user = User.objects.filter(email=normalize_login(email)).select_related("mailbox").first()
    audit(
        action=action,
        obj=user,
        user=user,
        organization_id=_org_id(user) if user is not None else None,
        actor_email=normalize_login(email)[:254],
    )


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


def _backup_code() -> str:
    """50 random bits, written as two groups of five: xxxxx-xxxxx."""
    chars = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


@transaction.atomic
def regenerate_backup_codes(*, user) -> list[str]:
    """Ten single-use codes, shown once and kept only as keyed hashes; the old ones stop
    working."""
    BackupCodes.objects.filter(user=user).delete()
    device = BackupCodes.objects.create(user=user, name="Backup codes")
    codes = [_backup_code() for _ in range(BACKUP_CODES)]
    BackupCode.objects.bulk_create(
        [BackupCode(device=device, code_hash=backup_code_digest(c)) for c in codes]
    )
    return codes


def verify_otp(*, user, token: str):
    """The device that accepts this code (TOTP: no reuse; backup: single use), or None. No
    device is throttled: a guesser's wrong codes would lock the owner out (otp_failed)."""
    token = (token or "").strip().replace(" ", "")[:16]
    if not token:
        return None
    for model in (TOTPDevice, BackupCodes):
        for device in model.objects.filter(user=user, confirmed=True):
            if device.verify_token(token):
                return device
    return None


def otp_failed(*, user, ip: str, tries: int) -> bool:
    """A wrong code at sign-in: audited, and counted against the client address like a wrong
    password. Returns whether this sign-in has used up its tries (then the password must be
    typed again). Never counted against the owner: their next sign-in is not delayed."""
    audit_sign_in("otp.failure", email=user.email, user=user)
    _count(_throttle_keys(ip, "")[0][0])  # the client's counter only
    return tries >= CODE_TRIES_PER_SIGN_IN


def check_password_again(*, user, password: str, ip: str) -> None:
    """Before 2FA is switched off, its device replaced or new backup codes made: a live
    session alone is not enough. Wrong answers count like failed sign-ins."""
    if login_throttled(ip=ip, email=user.email):
        raise ValidationError(_("Too many failed attempts. Wait a few minutes and try again."))
    if not user.check_password(password or ""):
        login_failed(ip=ip, email=user.email)
        audit_sign_in("reauth.failure", email=user.email, user=user)
        raise ValidationError(_("Your password is not correct."))


@transaction.atomic
def disable_2fa(*, user, by_admin: bool = False) -> None:
    """Remove every device. A user who must have 2FA cannot switch it off; an admin can reset."""
    if not by_admin and requires_2fa(user):
        raise ValidationError(_("Two-factor authentication is required for your account."))
    account = getattr(user, "mailbox", None)
    if by_admin and account is not None:
        check_credentials_change(account)
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodes.objects.filter(user=user).delete()
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
MAX_TOKENS = 10


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
    live = ApiToken.objects.filter(user=user, organization=organization, revoked_at__isnull=True)
    if user.tokens_revoked_at is not None:
        live = live.filter(created_at__gt=user.tokens_revoked_at)
    if live.count() >= MAX_TOKENS:  # per person, and per organization for organization tokens
        raise ValidationError(
            _("You can have at most %(max)d tokens: revoke one first.") % {"max": MAX_TOKENS}
        )
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


def tokens_revoke_membership(*, user_id: int, organization_id: int) -> int:
    """A member who leaves an organization loses its tokens for it for good: invited back
    later, they start without them (the removal revokes, it does not only suspend)."""
    return ApiToken.objects.filter(
        user_id=user_id, organization_id=organization_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


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
    if not user.is_active or token.revoked_by_cutoff():
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
