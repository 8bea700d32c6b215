"""The endpoint Roundcube's plugin and Radicale read a user's settings from, with the
provider's services key (docs/services.md)."""

import pytest
from django.urls import reverse

from accounts import services as account_services

KEY = "a-long-random-services-key"


@pytest.fixture
def key(settings):
    settings.SERVICES_API_KEY = KEY


def get(client, address, service="webmail", key=KEY):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    return client.get(
        reverse("portal:service_settings"), {"address": address, "service": service}, **headers
    )


def test_the_key_reads_a_users_effective_settings(client, key, account_a, domain_a, make_account):
    make_account(domain_a, "carol")
    response = get(client, "Alice@A.example")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["account"]["address"] == "alice@a.example"
    assert [e["email"] for e in data["address_book"]] == ["alice@a.example", "carol@a.example"]
    assert get(client, "alice@a.example", service="dav").status_code == 200


def test_wrong_missing_or_unset_key_is_401(client, settings, account_a):
    settings.SERVICES_API_KEY = KEY
    assert get(client, account_a.address, key="wrong").status_code == 401
    assert get(client, account_a.address, key=None).status_code == 401
    settings.SERVICES_API_KEY = ""
    assert get(client, account_a.address, key="").status_code == 401
    # A user's session is not the services key.
    client.force_login(account_a.user)
    assert get(client, account_a.address, key=None).status_code == 401


def test_only_active_mailboxes_with_the_service_on(client, key, account_a):
    assert get(client, "nobody@a.example").status_code == 404
    assert get(client, account_a.address, service="imap").status_code == 400
    without = [s for s in account_a.services if s != "webmail"]
    account_services.account_update(account=account_a, values={"services": without})
    assert get(client, account_a.address).status_code == 404
    assert get(client, account_a.address, service="dav").status_code == 200
    account_services.account_deactivate(account=account_a)
    assert get(client, account_a.address, service="dav").status_code == 404
