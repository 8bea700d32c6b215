"""Password policy and history: strength, reuse, expiry and "disable password change".
Every password change goes through here, whoever makes it (admin, user, recovery, API)."""

import calendar
from datetime import datetime

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import PasswordHistory

HISTORY_SIZE = 5


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def password_expired(user) -> bool:
    account = getattr(user, "mailbox", None)
    if account is None or not account.password_expiry_months:
        return False
    changed = user.password_changed_at or user.date_joined
    return add_months(changed, account.password_expiry_months) <= timezone.now()


def password_change_required(user) -> bool:
    """Forced by an admin (or at creation), or expired: the next login must change it."""
    account = getattr(user, "mailbox", None)
    return bool(account and account.force_password_change) or password_expired(user)


def password_reused(user, password: str) -> bool:
    """The current password and the previous ones, HISTORY_SIZE in all."""
    hashes = [user.password] + list(
        PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[
            : HISTORY_SIZE - 1
        ]
    )
    return any(h and check_password(password, h) for h in hashes)


def check_password_policy(*, user, password: str, by_admin: bool) -> None:
    """Strength for everybody; for the user themselves also "disable password change" and
    "block reuse". An admin may always set a password (Google Workspace does the same)."""
    account = getattr(user, "mailbox", None)
    if (
        not by_admin
        and account is not None
        and account.disable_password_change
        and not password_change_required(user)
    ):
        raise ValidationError(_("Your administrator does not allow changing this password."))
    if len(password) > 128:
        raise ValidationError(_("Use at most 128 characters."))
    validate_password(password, user)
    if account is not None and account.block_password_reuse and password_reused(user, password):
        raise ValidationError(
            _("Choose a password you have not used before (the last %(n)d are refused).")
            % {"n": HISTORY_SIZE}
        )
    if not by_admin and user.password and check_password(password, user.password):
        # A forced or expired change that keeps the password changes nothing.
        raise ValidationError(_("Choose a password different from your current one."))


def remember_password(*, user) -> None:
    """Keep the hash being replaced, and only the last few."""
    if not user.password:
        return
    PasswordHistory.objects.create(user=user, password=user.password)
    stale = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[HISTORY_SIZE:]
    PasswordHistory.objects.filter(pk__in=list(stale)).delete()
