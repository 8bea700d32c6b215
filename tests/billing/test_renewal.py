"""Renewal at the end of each period, in the organization's time zone: paid from the credit, or
"Payment due" with an email to the owners, and after the grace period (BILLING_GRACE_DAYS,
default 7) deactivated — never deleted. Reactivating pays a new period.

Organization A bills in Europe/Rome. Pro (3.10 €) bought on 1 March 2026 at 10:00 Rome:
the period ends at midnight of 1 April in Rome, which is 31 March 22:00 UTC (summer time
started on 29 March)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts import renewals
from accounts import services as account_services
from accounts.models import EmailAccount
from tempusmail.celery import app

from .conftest import balance, entries, fund

BOUGHT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LAST_SECOND = datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC)  # 23:59:59 in Rome
MIDNIGHT = datetime(2026, 3, 31, 22, 0, 0, tzinfo=UTC)  # 00:00:00 on 1 April in Rome


@pytest.fixture
def buy(rome, domain_a, pro, password_hash):
    def buy(local="carol", credit="3.10"):
        fund(rome, credit)
        with time_machine.travel(BOUGHT, tick=False):
            return account_services.account_create(
                domain=domain_a,
                local_part=local,
                first_name=local,
                last_name="",
                password_hash=password_hash,
                options={},
                subscription=pro,
            )

    return buy


def renew(at: datetime) -> dict:
    with time_machine.travel(at, tick=False):
        return renewals.renew_subscriptions()


def test_the_period_renews_at_local_midnight_not_a_second_before(buy, rome):
    account = buy(credit="10.00")
    assert account.renews_at == MIDNIGHT
    assert renew(LAST_SECOND)["renewed"] == 0
    assert balance(rome) == Decimal("6.90")
    assert renew(MIDNIGHT)["renewed"] == 1
    account.refresh_from_db()
    assert (account.period_start, account.period_end) == (date(2026, 4, 1), date(2026, 5, 1))
    # 10.00 − 3.10 − 3.10 = 3.80
    assert entries(rome)[-1] == ("renewal", Decimal("-3.10"), Decimal("3.80"))
    assert account.renews_at == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)


def test_two_runs_at_once_charge_a_period_once(buy, rome):
    buy(credit="10.00")
    renew(MIDNIGHT)
    assert renew(MIDNIGHT + timedelta(minutes=1))["renewed"] == 0
    assert [e[0] for e in entries(rome)].count("renewal") == 1


def test_short_credit_marks_payment_due_then_deactivates_after_the_grace_period(
    buy, rome, owner, client_for, settings, django_capture_on_commit_callbacks
):
    settings.BILLING_GRACE_DAYS = 7
    account = buy()  # 3.10 − 3.10: nothing left for April
    with django_capture_on_commit_callbacks(execute=True):  # the emails go after commit
        assert renew(MIDNIGHT)["due"] == 1
    account.refresh_from_db()
    assert account.payment_due_since == MIDNIGHT and account.is_active
    assert [m.to for m in mail.outbox] == [["owner@a.test"]]
    assert mail.outbox[0].subject == "Payment due: carol@a.example"
    assert "3.10 €" in mail.outbox[0].body
    with time_machine.travel(MIDNIGHT + timedelta(hours=1), tick=False):
        listing = client_for(owner).get(reverse("accounts:list", args=[account.domain_id]))
    assert "Payment due" in listing.content.decode()

    # still within the grace period: tried again, no second email, still active
    with django_capture_on_commit_callbacks(execute=True):
        assert renew(MIDNIGHT + timedelta(days=6, hours=23))["due"] == 1
    assert len(mail.outbox) == 1
    assert EmailAccount.objects.get(pk=account.pk).is_active

    # seven days after it was due: deactivated, never deleted
    with django_capture_on_commit_callbacks(execute=True):
        assert renew(MIDNIGHT + timedelta(days=7))["suspended"] == 1
    account.refresh_from_db()
    assert not account.is_active and account.suspended_for_payment and not account.deleting
    assert account.desired_version == 2  # the mail system learns it
    assert mail.outbox[1].subject == "Account deactivated for non-payment: carol@a.example"
    assert balance(rome) == Decimal("0.00")
    # and later runs leave it alone
    assert renew(MIDNIGHT + timedelta(days=30)) == {
        "renewed": 0,
        "due": 0,
        "suspended": 0,
        "unchanged": 0,
    }
    assert EmailAccount.objects.filter(pk=account.pk).exists()


def test_the_grace_period_is_a_setting(buy, settings):
    settings.BILLING_GRACE_DAYS = 2
    account = buy()
    renew(MIDNIGHT)
    assert renew(MIDNIGHT + timedelta(days=1, hours=23))["due"] == 1
    assert renew(MIDNIGHT + timedelta(days=2))["suspended"] == 1
    assert not EmailAccount.objects.get(pk=account.pk).is_active


def test_a_top_up_within_the_grace_period_renews_without_a_gap(buy, rome):
    account = buy()
    renew(MIDNIGHT)
    fund(rome, "5.00")
    assert renew(MIDNIGHT + timedelta(days=3))["renewed"] == 1
    account.refresh_from_db()
    assert account.payment_due_since is None
    # the days it was due are paid: the period still starts on 1 April
    assert (account.period_start, account.period_end) == (date(2026, 4, 1), date(2026, 5, 1))
    assert balance(rome) == Decimal("1.90")


def test_reactivating_a_suspended_account_pays_a_new_period(buy, rome, owner, client_for):
    account = buy()
    renew(MIDNIGHT)
    renew(MIDNIGHT + timedelta(days=7))
    later = datetime(2026, 4, 20, 8, 0, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        client = client_for(owner)
        url = reverse("accounts:reactivate", args=[account.pk])
        body = client.post(url, follow=True).content.decode()
        assert "Top up 3.10 € to reactivate this account." in body
        assert not EmailAccount.objects.get(pk=account.pk).is_active
        fund(rome, "3.10")
        client.post(url)
    account.refresh_from_db()
    assert account.is_active and not account.suspended_for_payment
    assert account.payment_due_since is None
    assert (account.period_start, account.period_end) == (date(2026, 4, 20), date(2026, 5, 20))
    assert balance(rome) == Decimal("0.00")


def test_an_account_deactivated_by_its_owner_still_renews(buy, rome):
    account = buy(credit="6.20")
    account_services.account_deactivate(account=account)
    assert renew(MIDNIGHT)["renewed"] == 1
    assert balance(rome) == Decimal("0.00")


def test_free_subscriptions_renew_without_a_ledger_line(rome, domain_a, basic, password_hash):
    with time_machine.travel(BOUGHT, tick=False):
        account = account_services.account_create(
            domain=domain_a,
            local_part="free",
            first_name="Free",
            last_name="",
            password_hash=password_hash,
            options={},
            subscription=basic,
        )
    assert renew(MIDNIGHT)["renewed"] == 1
    account.refresh_from_db()
    assert account.period_end == date(2026, 5, 1)
    assert entries(rome) == []


def test_the_beat_schedule_runs_the_renewal_task(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["renew-subscriptions"]
    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks
