"""Changing an account's subscription (owners only): it takes effect at once, the rest of the
current period prorated per day — an upgrade charges the difference, a downgrade refunds it —
or it is refused naming the sum missing. Two changes at once cannot overspend the credit.

The worked example of every test below (organization A bills in Europe/Rome):
  Pro 3.10 € a month, bought on 1 March 2026 → period 1 March – 1 April, 31 days.
  On 10 March, 21 days are left (11 March … 31 March; the 10th counts as used).
  Upgrade to Business 6.50 €: (6.50 − 3.10) × 21 / 31 = 2.303… → 2.30 € charged.
  On 20 March, 11 days are left: Business → Basic (free): 6.50 × 11 / 31 = 2.306… → 2.31 €
  refunded."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from accounts import services as account_services
from accounts.models import EmailAccount
from domains.billing import InsufficientCredit, adjust

from .conftest import balance, entries, fund

BOUGHT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # 10:00 in Rome
TENTH = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TWENTIETH = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def pro_account(rome, domain_a, pro, password_hash):
    fund(rome, "20.00")
    with time_machine.travel(BOUGHT, tick=False):
        return account_services.account_create(
            domain=domain_a,
            local_part="carol",
            first_name="Carol",
            last_name="",
            password_hash=password_hash,
            options={},
            subscription=pro,
        )


def change(client, account, subscription):
    return client.post(
        reverse("accounts:subscription", args=[account.pk]),
        {"subscription": subscription.pk},
        follow=True,
    )


def test_upgrade_then_downgrade_to_the_cent(client_for, owner, rome, pro_account, business, basic):
    with time_machine.travel(TENTH, tick=False):
        client = client_for(owner)  # signed in then (sessions end after 30 idle minutes)
        page = client.get(reverse("accounts:settings", args=[pro_account.pk, "subscription"]))
        assert "2.30 € charged" in page.content.decode()  # shown before choosing
        body = change(client, pro_account, business).content.decode()
    assert "Subscription changed to Business: 2.30 € charged." in body
    account = EmailAccount.objects.get(pk=pro_account.pk)
    assert account.subscription == business and account.period_price == Decimal("6.50")
    assert account.quota_mb == 10240
    assert "xmpp" in account.services  # newly included services are switched on
    with time_machine.travel(TWENTIETH, tick=False):
        body = change(client_for(owner), account, basic).content.decode()
    assert "Subscription changed to Basic: 2.31 € refunded." in body
    account.refresh_from_db()
    assert account.quota_mb == 1024 and set(account.services) <= {"imap", "smtp", "webmail"}
    # 20.00 − 3.10 = 16.90; − 2.30 = 14.60; + 2.31 = 16.91
    assert entries(rome) == [
        ("topup", Decimal("20.00"), Decimal("20.00")),
        ("charge", Decimal("-3.10"), Decimal("16.90")),
        ("charge", Decimal("-2.30"), Decimal("14.60")),
        ("refund", Decimal("2.31"), Decimal("16.91")),
    ]
    # the period itself does not move: it still renews on 1 April
    assert (account.period_start.isoformat(), account.period_end.isoformat()) == (
        "2026-03-01",
        "2026-04-01",
    )


def test_a_change_the_credit_cannot_pay_is_refused_naming_the_amount(
    client_for, owner, rome, pro_account, business
):
    # leave 1.00 €: the upgrade needs 2.30 €, 1.30 € are missing
    adjust(organization=rome, amount=Decimal("-15.90"), description="test")
    with time_machine.travel(TENTH, tick=False):
        body = change(client_for(owner), pro_account, business).content.decode()
    assert "Top up 1.30 € to change to this subscription." in body
    account = EmailAccount.objects.get(pk=pro_account.pk)
    assert account.subscription.name == "Pro" and account.quota_mb == 5120
    assert balance(rome) == Decimal("1.00")


def test_the_same_subscription_changes_nothing(client_for, owner, rome, pro_account, pro):
    before = entries(rome)
    body = change(client_for(owner), pro_account, pro).content.decode()
    assert "The account already has the subscription Pro." in body
    assert entries(rome) == before
    assert EmailAccount.objects.get(pk=pro_account.pk).desired_version == 1


def test_a_downgrade_below_the_aliases_in_use_is_refused(
    client_for, owner, rome, pro_account, basic
):
    for name in ("one", "two"):
        account_services.alias_add(account=pro_account, address=f"{name}@a.example")
    body = change(client_for(owner), pro_account, basic).content.decode()
    assert "The subscription Basic allows at most 1 aliases." in body
    assert EmailAccount.objects.get(pk=pro_account.pk).subscription.name == "Pro"


def test_a_downgrade_beyond_the_free_account_limit_is_refused(
    client_for, owner, rome, plan, pro_account, basic
):
    plan.max_free_accounts = 0
    plan.save()
    body = change(client_for(owner), pro_account, basic).content.decode()
    assert "Your plan allows at most 0 free accounts." in body
    assert EmailAccount.objects.get(pk=pro_account.pk).subscription.name == "Pro"


@pytest.mark.parametrize("who", ["operator", "viewer", "admin_b", "enduser"])
def test_only_owners_change_a_subscription(client_for, request, who, pro_account, business):
    user = pro_account.user if who == "enduser" else request.getfixturevalue(who)
    response = client_for(user).post(
        reverse("accounts:subscription", args=[pro_account.pk]), {"subscription": business.pk}
    )
    assert response.status_code == (403 if who in ("operator", "viewer") else 404)
    assert EmailAccount.objects.get(pk=pro_account.pk).subscription.name == "Pro"


def test_operators_see_the_subscription_without_the_form(client_for, operator, pro_account):
    page = client_for(operator).get(
        reverse("accounts:settings", args=[pro_account.pk, "subscription"])
    )
    body = page.content.decode()
    assert 'id="current-subscription">Pro<' in body
    assert "Only owners can change the subscription." in body
    assert "Change subscription</button>" not in body


def run_together(*calls):
    """Start the calls at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_upgrades_at_once_cannot_overspend(rome, domain_a, pro, business, password_hash):
    fund(rome, "6.20")
    with time_machine.travel(BOUGHT, tick=False):
        accounts = [
            account_services.account_create(
                domain=domain_a,
                local_part=name,
                first_name=name,
                last_name="",
                password_hash=password_hash,
                options={},
                subscription=pro,
            )
            for name in ("first", "second")
        ]
    fund(rome, "2.30")  # enough for exactly one upgrade on the 10th
    with time_machine.travel(TENTH, tick=False):
        results = run_together(
            *(
                lambda a=a: account_services.account_change_subscription(
                    account=a, subscription=business
                )
                for a in accounts
            )
        )
    assert sorted(type(r).__name__ for r in results) == ["Change", "InsufficientCredit"]
    refused = next(r for r in results if isinstance(r, InsufficientCredit))
    assert refused.messages == ["Top up 2.30 € to change to this subscription."]
    assert balance(rome) == Decimal("0.00")
    assert EmailAccount.objects.filter(subscription=business).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_paid_creations_at_once_cannot_overspend(org_a, domain_a, pro, password_hash):
    fund(org_a, "3.10")
    results = run_together(
        *(
            lambda name=name: account_services.account_create(
                domain=domain_a,
                local_part=name,
                first_name=name,
                last_name="",
                password_hash=password_hash,
                options={},
                subscription=pro,
            )
            for name in ("first", "second")
        )
    )
    assert sorted(type(r).__name__ for r in results) == ["EmailAccount", "InsufficientCredit"]
    assert balance(org_a) == Decimal("0.00")
    assert EmailAccount.objects.count() == 1
