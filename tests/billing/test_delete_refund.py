"""Deleting an account (only once deactivated) gives back the unused, prorated value of its
subscription, exactly once (seed 003: "the remaining value … will be added to your credit").

Pro 3.10 € bought on 1 March 2026 (Rome): period 1 March – 1 April, 31 days, 0.10 € a day.
Deleted at 23:59:59 on 20 March (Rome): 11 days left (21 … 31 March) → 1.10 € back.
Deleted at 00:00:00 on 21 March (Rome): 10 days left → 1.00 € back.
In UTC those two instants are 22:59:59 and 23:00:00 on 20 March."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts import services as account_services
from accounts.models import EmailAccount
from domains.models import CreditEntry

from .conftest import balance, entries, fund
from .test_change_subscription import run_together

BOUGHT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def buy(rome, domain_a, pro, password_hash):
    def buy(local):
        fund(rome, "3.10")
        with time_machine.travel(BOUGHT, tick=False):
            account = account_services.account_create(
                domain=domain_a,
                local_part=local,
                first_name=local,
                last_name="",
                password_hash=password_hash,
                options={},
                subscription=pro,
            )
            account_services.account_deactivate(account=account)
        return account

    return buy


def delete(client, account):
    return client.post(reverse("accounts:delete", args=[account.pk]), follow=True)


@pytest.mark.parametrize(
    ("at", "refund"),
    [
        (datetime(2026, 3, 20, 22, 59, 59, tzinfo=UTC), "1.10"),  # 23:59:59 in Rome
        (datetime(2026, 3, 20, 23, 0, 0, tzinfo=UTC), "1.00"),  # 00:00:00 on the 21st in Rome
    ],
)
def test_refund_at_the_day_boundary_in_the_organizations_time_zone(
    buy, rome, owner, client_for, at, refund
):
    account = buy("carol")
    with time_machine.travel(at, tick=False):
        body = delete(client_for(owner), account).content.decode()
    assert "carol@a.example is being deleted." in body
    assert entries(rome)[-1] == ("refund", Decimal(refund), Decimal(refund))
    entry = CreditEntry.objects.get(kind="refund")
    assert entry.account_address == "carol@a.example"
    assert EmailAccount.objects.get(pk=account.pk).deleting


def test_a_second_delete_refunds_nothing(buy, rome, owner, client_for):
    account = buy("carol")
    with time_machine.travel(datetime(2026, 3, 20, 12, 0, tzinfo=UTC), tick=False):
        client = client_for(owner)
        delete(client, account)
        delete(client, account)
        account_services.account_delete(account=EmailAccount.objects.get(pk=account.pk))
    assert CreditEntry.objects.filter(kind="refund").count() == 1
    assert balance(rome) == Decimal("1.10")


@pytest.mark.django_db(transaction=True)
def test_two_deletes_at_once_refund_once(buy, rome):
    account = buy("carol")
    copies = [EmailAccount.objects.get(pk=account.pk) for _ in range(2)]
    with time_machine.travel(datetime(2026, 3, 20, 12, 0, tzinfo=UTC), tick=False):
        run_together(*(lambda a=a: account_services.account_delete(account=a) for a in copies))
    assert CreditEntry.objects.filter(kind="refund").count() == 1
    assert balance(rome) == Decimal("1.10")


def test_an_active_account_cannot_be_deleted_and_nothing_is_refunded(
    rome, domain_a, pro, password_hash, owner, client_for
):
    fund(rome, "3.10")
    account = account_services.account_create(
        domain=domain_a,
        local_part="carol",
        first_name="Carol",
        last_name="",
        password_hash=password_hash,
        options={},
        subscription=pro,
    )
    body = delete(client_for(owner), account).content.decode()
    assert "Deactivate the account before deleting it." in body
    assert not CreditEntry.objects.filter(kind="refund").exists()


@pytest.mark.parametrize("who", ["operator", "viewer", "admin_b"])
def test_only_owners_delete(buy, request, who, client_for, rome):
    account = buy("carol")
    response = client_for(request.getfixturevalue(who)).post(
        reverse("accounts:delete", args=[account.pk])
    )
    assert response.status_code == (404 if who == "admin_b" else 403)
    assert not CreditEntry.objects.filter(kind="refund").exists()
    assert balance(rome) == Decimal("0.00")


def test_an_unpaid_period_refunds_nothing(buy, rome):
    """A period that ended without renewal (Payment due) has no unused value left."""
    account = buy("carol")
    with time_machine.travel(datetime(2026, 4, 3, 12, 0, tzinfo=UTC), tick=False):
        account_services.account_delete(account=EmailAccount.objects.get(pk=account.pk))
    assert not CreditEntry.objects.filter(kind="refund").exists()
