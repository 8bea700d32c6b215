"""Password recovery's rules beyond the happy path: refused (with the answer an unknown address
gets) when the account disables password change; limited to 5 requests an hour per client
address, whichever addresses are asked for, and only for that client address."""

import pytest
from django.core import mail

from accounts import services as account_services
from security.services import recovery_address
from tests.security.helpers import clear_cache

SENT = "/security/recover/sent/"
TOO_MANY = "Too many requests. Wait a while and try again."


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


def ask(client, email, **extra):
    return client.post("/security/recover/", {"email": email}, **extra)


def test_disabled_password_change_refuses_recovery_too(client, domain_a, make_account):
    fixed = make_account(domain_a, "fixed", disable_password_change=True)
    account_services.account_update(account=fixed, values={"external_email": "f@home.test"})
    assert ask(client, fixed.address)["Location"] == SENT
    assert mail.outbox == []
    account_services.account_update(account=fixed, values={"disable_password_change": False})
    assert ask(client, fixed.address)["Location"] == SENT
    assert [m.to for m in mail.outbox] == [["f@home.test"]]


def test_where_a_link_may_go(domain_a, make_account, owner):
    account = make_account(domain_a, "where")
    assert recovery_address(account.user) is None  # no external address: nowhere
    account_services.account_update(account=account, values={"external_email": "w@home.test"})
    account.user.refresh_from_db()
    assert recovery_address(account.user) == "w@home.test"  # never the locked mailbox itself
    assert recovery_address(owner) == owner.email  # an admin: their login address
    account_services.account_deactivate(account=account)
    account.user.refresh_from_db()
    assert recovery_address(account.user) is None
    owner.set_unusable_password()
    assert recovery_address(owner) is None


def test_five_requests_per_client_address_an_hour_whatever_is_asked(client, account_a):
    for n in range(5):
        response = ask(client, f"someone{n}@a.example")  # different addresses, one client
        assert response["Location"] == SENT, n
    refused = ask(client, "someone-else@a.example")
    assert refused.status_code == 200 and TOO_MANY in refused.content.decode()
    elsewhere = ask(client, "someone-else@a.example", REMOTE_ADDR="198.51.100.20")
    assert elsewhere["Location"] == SENT  # another client address has its own count


def test_behind_a_proxy_each_client_has_its_own_count(client, settings, account_a):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    for _ in range(5):
        ask(client, "x@a.example", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert TOO_MANY in ask(client, "x@a.example", HTTP_X_FORWARDED_FOR="192.0.2.1").content.decode()
    assert ask(client, "x@a.example", HTTP_X_FORWARDED_FOR="192.0.2.2")["Location"] == SENT
