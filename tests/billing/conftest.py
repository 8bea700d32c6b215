"""Billing fixtures: three subscription types (prices chosen so that a 31-day month gives
round daily values: 3.10 € is 0.10 € a day), a staff client, and money helpers."""

from decimal import Decimal

import pytest

from domains import billing
from domains.models import CreditEntry, Organization, SubscriptionType


@pytest.fixture
def basic(db):
    return SubscriptionType.objects.create(
        name="Basic",
        monthly_price=Decimal("0.00"),
        storage_mb=1024,
        max_aliases=1,
        services=["imap", "smtp", "webmail"],
    )


@pytest.fixture
def pro(db):
    return SubscriptionType.objects.create(
        name="Pro",
        monthly_price=Decimal("3.10"),
        storage_mb=5120,
        max_aliases=3,
        services=["pop", "imap", "smtp", "webmail", "dav"],
    )


@pytest.fixture
def business(db):
    return SubscriptionType.objects.create(
        name="Business",
        monthly_price=Decimal("6.50"),
        storage_mb=10240,
        max_aliases=10,
        services=["pop", "imap", "smtp", "webmail", "activesync", "dav", "xmpp"],
    )


@pytest.fixture
def subscriptions(basic, pro, business):
    return {"basic": basic, "pro": pro, "business": business}


@pytest.fixture
def rome(org_a):
    """Organization A bills in Rome's time zone (UTC+1 in March until the 29th, then +2)."""
    org_a.time_zone = "Europe/Rome"
    org_a.save(update_fields=["time_zone"])
    return org_a


def fund(org, amount: str) -> None:
    billing.top_up(organization=org, amount=Decimal(amount), description="test top-up")


def balance(org) -> Decimal:
    return Organization.objects.get(pk=org.pk).credit


def entries(org) -> list[tuple[str, Decimal, Decimal]]:
    """(kind, amount, balance after), in the order they were written."""
    return list(
        CreditEntry.objects.filter(organization=org)
        .order_by("pk")
        .values_list("kind", "amount", "balance_after")
    )
