"""The password policy (accounts/passwords.py) for every way a password changes: how many old
passwords "block reuse" remembers, what "disable password change" refuses and to whom, the
length limit, and when a password has expired."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import PasswordHistory
from accounts.passwords import (
    HISTORY_SIZE,
    add_months,
    check_password_policy,
    password_change_required,
    password_expired,
)
from tests.conftest import PASSWORD

P = [PASSWORD] + [f"Distinct-Pass-Phrase-{n}" for n in range(1, 7)]


def change(account, password):
    services.user_set_password(user=account.user, password=password)
    account.user.refresh_from_db()


def test_reuse_blocks_the_current_and_the_four_previous_passwords(domain_a, make_account):
    """Documented (docs/security.md): the current hash and the 4 before it, 5 in all."""
    assert HISTORY_SIZE == 5
    account = make_account(domain_a, "hist", block_password_reuse=True)
    for password in P[1:6]:
        change(account, password)  # P0 → P5: current P5, previous P4 … P1
    for password in P[1:6]:
        with pytest.raises(ValidationError, match="not used before"):
            check_password_policy(user=account.user, password=password, by_admin=False)
    check_password_policy(user=account.user, password=P[0], by_admin=False)  # 5 back: allowed
    change(account, P[0])
    assert account.user.check_password(P[0])


def test_the_history_does_not_grow_without_bound(domain_a, make_account):
    account = make_account(domain_a, "bound", block_password_reuse=True)
    for password in P[1:]:
        change(account, password)
    assert PasswordHistory.objects.filter(user=account.user).count() == HISTORY_SIZE


def test_reuse_is_allowed_when_the_account_does_not_block_it(domain_a, make_account):
    account = make_account(domain_a, "free")
    change(account, P[1])
    change(account, P[2])
    check_password_policy(user=account.user, password=P[1], by_admin=False)
    check_password_policy(user=account.user, password=P[0], by_admin=False)


def test_an_admin_is_held_to_strength_and_reuse_but_not_to_disable_change(domain_a, make_account):
    account = make_account(
        domain_a, "locked", disable_password_change=True, block_password_reuse=True
    )
    with pytest.raises(ValidationError, match="does not allow changing"):
        check_password_policy(user=account.user, password=P[1], by_admin=False)
    check_password_policy(user=account.user, password=P[1], by_admin=True)
    with pytest.raises(ValidationError, match="too short"):
        check_password_policy(user=account.user, password="short", by_admin=True)
    with pytest.raises(ValidationError, match="not used before"):
        check_password_policy(user=account.user, password=PASSWORD, by_admin=True)


def test_a_required_change_is_allowed_even_when_changes_are_disabled(domain_a, make_account):
    account = make_account(
        domain_a, "must", disable_password_change=True, force_password_change=True
    )
    check_password_policy(user=account.user, password=P[1], by_admin=False)


def test_at_most_128_characters(domain_a, make_account, owner):
    account = make_account(domain_a, "long")
    for user in (account.user, owner):
        check_password_policy(user=user, password="Aa1-" + "x" * 124, by_admin=False)
        with pytest.raises(ValidationError, match="at most 128"):
            check_password_policy(user=user, password="Aa1-" + "x" * 125, by_admin=False)


def test_a_login_without_a_mailbox_follows_strength_only(owner):
    check_password_policy(user=owner, password=P[1], by_admin=False)
    with pytest.raises(ValidationError):
        check_password_policy(user=owner, password="1234567890", by_admin=False)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC), 1, dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC)),
        (dt.datetime(2028, 1, 31, tzinfo=dt.UTC), 1, dt.datetime(2028, 2, 29, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 15, tzinfo=dt.UTC), 3, dt.datetime(2027, 2, 15, tzinfo=dt.UTC)),
        (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), 12, dt.datetime(2027, 12, 1, tzinfo=dt.UTC)),
        (dt.datetime(2026, 6, 30, tzinfo=dt.UTC), 6, dt.datetime(2026, 12, 30, tzinfo=dt.UTC)),
    ],
)
def test_add_months_stays_in_the_shorter_month(start, months, end):
    assert add_months(start, months) == end


def test_expiry_counts_from_the_last_change_and_only_with_a_policy(domain_a, make_account, owner):
    with time_machine.travel(dt.datetime(2026, 1, 10, tzinfo=dt.UTC), tick=False) as clock:
        account = make_account(domain_a, "exp", password_expiry_months=3)
        never = make_account(domain_a, "never")
        clock.move_to(dt.datetime(2026, 4, 9, 23, tzinfo=dt.UTC))
        assert not password_expired(account.user) and not password_change_required(account.user)
        clock.move_to(dt.datetime(2026, 4, 10, tzinfo=dt.UTC))
        assert password_expired(account.user) and password_change_required(account.user)
        change(account, P[1])  # a change restarts the clock
        assert not password_expired(account.user)
        clock.move_to(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        assert not password_expired(never.user) and not password_expired(owner)
        assert not password_change_required(owner)


def test_expiry_without_a_recorded_change_counts_from_creation(domain_a, make_account):
    account = make_account(domain_a, "old", password_expiry_months=6)
    account.user.password_changed_at = None
    account.user.date_joined = timezone.now() - dt.timedelta(days=200)
    assert password_expired(account.user)
    account.user.date_joined = timezone.now() - dt.timedelta(days=150)
    assert not password_expired(account.user)


def test_a_forced_change_is_required_until_done(domain_a, make_account):
    account = make_account(domain_a, "forced", force_password_change=True)
    assert password_change_required(account.user)
    change(account, P[1])
    account.refresh_from_db()
    assert not account.force_password_change
    assert not password_change_required(account.user)


def refusal(user, password, *, by_admin=False) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        check_password_policy(user=user, password=password, by_admin=by_admin)
    return refused.value.messages


def test_each_refusal_says_exactly_why(domain_a, make_account):
    """The words the person reads under the password field."""
    locked = make_account(domain_a, "locked", disable_password_change=True)
    assert refusal(locked.user, P[1]) == [
        "Your administrator does not allow changing this password."
    ]
    free = make_account(domain_a, "free")
    assert refusal(free.user, "x" * 129) == ["Use at most 128 characters."]
    guarded = make_account(domain_a, "guarded", block_password_reuse=True)
    assert refusal(guarded.user, PASSWORD) == [
        "Choose a password you have not used before (the last 5 are refused)."
    ]


def test_the_current_password_is_refused_to_the_user_but_not_to_an_admin(domain_a, make_account):
    """Without "block reuse" the history says nothing; keeping the current password would
    still change nothing for a forced or expired change."""
    account = make_account(domain_a, "free")
    assert refusal(account.user, PASSWORD) == ["Choose a password different from your current one."]
    check_password_policy(user=account.user, password=PASSWORD, by_admin=True)
    check_password_policy(user=account.user, password=P[1], by_admin=False)
