"""The wizard's first step chooses a subscription: a paid one charges its first month, or is
refused naming the sum to top up; storage, services and aliases follow the subscription; the
plan limits accounts, free accounts and domains."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Alias, EmailAccount, User
from domains.models import CreditEntry
from security import services as security_services
from tests.accounts.test_account_create import STEP1, STEP2, STEP4, Wizard

from .conftest import balance, entries, fund


def walk(wizard, subscription, **changes):
    step1 = {**STEP1, "subscription": str(subscription.pk), **changes.pop("step1", {})}
    step2 = {**STEP2, "quota_mb": str(subscription.storage_mb), **changes.pop("step2", {})}
    return wizard.walk(step1=step1, step2=step2, **changes)


@pytest.fixture
def wizard(client_for, owner, domain_a):
    return Wizard(client_for(owner), domain_a)


def test_step_one_offers_the_subscriptions_with_their_price(wizard, subscriptions):
    page = wizard.start().content.decode()
    assert "Basic — free · 1 GB · 1 aliases" in page
    assert "Pro — 3.10 € a month · 5 GB · 3 aliases" in page
    assert "Business — 6.50 € a month · 10 GB · 10 aliases" in page


def test_a_paid_account_with_too_little_credit_is_refused_naming_the_amount(wizard, org_a, pro):
    fund(org_a, "0.70")
    response = walk(wizard, pro)
    assert response.status_code == 200
    # 3.10 € − 0.70 € = 2.40 €
    assert "Top up 2.40 € to create this account." in response.content.decode()
    assert (
        not EmailAccount.objects.exists()
        and not User.objects.filter(email="carol@a.example").exists()
    )
    assert balance(org_a) == Decimal("0.70")
    assert entries(org_a) == [("topup", Decimal("0.70"), Decimal("0.70"))]


@time_machine.travel(datetime(2026, 3, 10, 9, 30, tzinfo=UTC), tick=False)
def test_a_paid_account_charges_its_first_month(wizard, rome, pro):
    fund(rome, "5.00")
    response = walk(wizard, pro)
    assert response.status_code == 302
    account = EmailAccount.objects.get(address="carol@a.example")
    assert account.subscription == pro
    assert (account.period_start, account.period_end) == (date(2026, 3, 10), date(2026, 4, 10))
    assert account.period_price == Decimal("3.10")
    # renews at midnight, Rome time (UTC+2 from March 29)
    assert account.renews_at == datetime(2026, 4, 9, 22, 0, tzinfo=UTC)
    # storage and services follow the subscription
    assert account.quota_mb == 5120
    assert set(account.services) <= set(pro.services)
    # 5.00 € − 3.10 € = 1.90 €
    assert entries(rome)[-1] == ("charge", Decimal("-3.10"), Decimal("1.90"))
    entry = CreditEntry.objects.get(kind="charge")
    assert entry.account_address == "carol@a.example"
    assert entry.actor_email == "owner@a.test"


def test_refused_then_topped_up_then_created_from_the_same_wizard(wizard, org_a, pro):
    assert "Top up 3.10 € to create this account." in walk(wizard, pro).content.decode()
    fund(org_a, "3.10")
    response = wizard.post(4, STEP4, action="create")
    assert response.status_code == 302
    assert EmailAccount.objects.filter(address="carol@a.example", subscription=pro).exists()
    assert balance(org_a) == Decimal("0.00")


def test_a_free_account_needs_no_credit(wizard, org_a, basic):
    response = walk(wizard, basic, step2={"services": ["imap", "webmail"]})
    assert response.status_code == 302
    account = EmailAccount.objects.get(address="carol@a.example")
    assert account.subscription == basic and account.quota_mb == 1024
    assert account.services == ["imap", "webmail"]
    assert entries(org_a) == []


def test_storage_and_services_outside_the_subscription_are_refused(wizard, org_a, basic):
    walk(wizard, basic, upto=1)
    page = wizard.get(2).content.decode()
    assert 'value="1024"' in page and 'value="5120"' not in page
    assert 'value="imap"' in page and 'value="pop"' not in page
    for bad in (
        {"quota_mb": "5120", "services": ["imap"]},
        {"quota_mb": "1024", "services": ["pop"]},
    ):
        response = wizard.post(2, bad)
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()


def test_the_service_checks_the_subscription_too(domain_a, basic, password_hash):
    with pytest.raises(Exception, match="includes 1024 MB"):
        account_services.account_create(
            domain=domain_a,
            local_part="x",
            first_name="X",
            last_name="",
            password_hash=password_hash,
            options={"quota_mb": 10240},
            subscription=basic,
        )
    assert not EmailAccount.objects.exists()


def test_a_subscription_must_be_chosen_when_some_are_offered(domain_a, basic, password_hash):
    with pytest.raises(Exception, match="Choose a subscription"):
        account_services.account_create(
            domain=domain_a,
            local_part="x",
            first_name="X",
            last_name="",
            password_hash=password_hash,
            options={},
        )


def test_the_free_account_limit(wizard, org_a, plan, basic, pro, make_account):
    plan.max_free_accounts = 1
    plan.save()
    assert walk(wizard, basic).status_code == 302
    response = walk(wizard, basic, step1={"local_part": "dave"})
    assert "Your plan allows at most 1 free accounts." in response.content.decode()
    assert not EmailAccount.objects.filter(address="dave@a.example").exists()
    fund(org_a, "3.10")
    assert walk(wizard, pro, step1={"local_part": "dave"}).status_code == 302


def test_the_account_limit_counts_paid_and_free(wizard, org_a, plan, basic, pro):
    plan.max_accounts = 1
    plan.save()
    fund(org_a, "10.00")
    assert walk(wizard, pro).status_code == 302
    response = walk(wizard, basic, step1={"local_part": "dave"})
    assert "Your plan allows at most 1 email accounts." in response.content.decode()
    assert balance(org_a) == Decimal("6.90")


def test_the_wizard_adds_aliases_within_the_subscription(wizard, org_a, pro):
    fund(org_a, "3.10")
    step4 = {**STEP4, "aliases": "sales@a.example\ninfo@a.example"}
    response = walk(wizard, pro, step4=step4)
    assert response.status_code == 302
    account = EmailAccount.objects.get(address="carol@a.example")
    assert sorted(account.aliases.values_list("address", flat=True)) == [
        "info@a.example",
        "sales@a.example",
    ]


def test_aliases_beyond_the_subscription_are_refused_naming_the_limit(wizard, org_a, basic):
    step4 = {**STEP4, "aliases": "sales@a.example\ninfo@a.example"}
    response = walk(wizard, basic, step4=step4)
    assert "The subscription Basic allows at most 1 aliases." in response.content.decode()
    assert not EmailAccount.objects.exists() and not Alias.objects.exists()


def test_an_alias_on_another_organizations_domain_is_refused(wizard, org_a, pro, domain_b):
    fund(org_a, "3.10")
    response = walk(wizard, pro, step4={**STEP4, "aliases": "x@b.example"})
    assert "b.example is not one of your domains." in response.content.decode()
    assert not EmailAccount.objects.exists() and balance(org_a) == Decimal("3.10")


def test_adding_aliases_later_stops_at_the_limit(client_for, owner, domain_a, basic, password_hash):
    account = account_services.account_create(
        domain=domain_a,
        local_part="erin",
        first_name="Erin",
        last_name="",
        password_hash=password_hash,
        options={},
        subscription=basic,
    )
    client = client_for(owner)
    url = reverse("accounts:alias_add", args=[account.pk])
    assert client.post(url, {"address": "one@a.example"}).status_code == 302
    response = client.post(url, {"address": "two@a.example"})
    assert "The subscription Basic allows at most 1 aliases." in response.content.decode()
    assert list(account.aliases.values_list("address", flat=True)) == ["one@a.example"]


def test_an_operator_may_create_a_paid_account(client_for, operator, domain_a, org_a, pro):
    fund(org_a, "3.10")
    assert walk(Wizard(client_for(operator), domain_a), pro).status_code == 302
    assert balance(org_a) == Decimal("0.00")


def test_a_viewer_and_another_organization_cannot(client_for, viewer, admin_b, domain_a, pro):
    assert Wizard(client_for(viewer), domain_a).start().status_code == 403
    assert Wizard(client_for(admin_b), domain_a).start().status_code == 404


def test_the_api_creates_a_paid_account(client, owner, org_a, domain_a, pro):
    _token, key = security_services.token_create(user=owner, name="t", organization=org_a)
    url = f"/api/v1/domains/{domain_a.pk}/accounts/"
    body = {"local_part": "api", "first_name": "Api", "password": "Long-Enough-Pass-1"}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    response = client.post(url, {**body, "subscription": pro.pk}, "application/json", **auth)
    assert response.status_code == 400
    assert "Top up 3.10 € to create this account." in response.json()["error"]
    fund(org_a, "3.10")
    response = client.post(url, {**body, "subscription": pro.pk}, "application/json", **auth)
    assert response.status_code == 201
    assert response.json()["subscription"] == pro.pk and response.json()["quota_mb"] == 5120
    assert balance(org_a) == Decimal("0.00")
