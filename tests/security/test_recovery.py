"""Password recovery: the link goes to the external address, never reveals whether an address
exists, is refused when the account disables recovery, and the new password obeys the policy."""

import re

import pytest
from django.core import mail

from accounts import services as account_services
from tests.security.helpers import clear_cache

NEW = "Recovered-Pass-Word-5"


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


def ask(client, email):
    return client.post("/security/recover/", {"email": email})


def test_link_goes_to_the_external_address_and_sets_a_password(client, account_a):
    account_services.account_update(account=account_a, values={"external_email": "me@home.test"})
    response = ask(client, account_a.address)
    assert response["Location"] == "/security/recover/sent/"
    assert [m.to for m in mail.outbox] == [["me@home.test"]]
    link = re.search(r"https?://[^/]+(/security/recover/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert response["Location"] == "/security/recover/done/"
    account_a.user.refresh_from_db()
    assert account_a.user.check_password(NEW)
    account_a.refresh_from_db()
    assert account_a.desired_version > account_a.applied_version  # pushed to the mail system
    # the link works once
    assert "not valid" in client.get(link, follow=True).content.decode()


def test_unknown_and_unrecoverable_addresses_get_the_same_answer(
    client, account_a, domain_a, make_account
):
    locked = make_account(domain_a, "locked", disable_password_recovery=True)
    account_services.account_update(account=locked, values={"external_email": "l@home.test"})
    for email in ("nobody@a.example", locked.address, account_a.address):  # a: no external
        response = ask(client, email)
        assert response["Location"] == "/security/recover/sent/"
    assert mail.outbox == []


def test_recovery_obeys_the_reuse_policy(client, domain_a, make_account):
    from tests.conftest import PASSWORD

    account = make_account(domain_a, "reuse", block_password_reuse=True)
    account_services.account_update(account=account, values={"external_email": "r@home.test"})
    ask(client, account.address)
    link = re.search(r"https?://[^/]+(/security/recover/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 200 and "not used before" in response.content.decode()


def test_recovery_requests_are_rate_limited(client, account_a):
    for _ in range(5):
        ask(client, "someone@a.example")
    response = ask(client, "someone@a.example")
    assert response.status_code == 200 and "Too many requests" in response.content.decode()


def test_login_page_links_to_recovery(client):
    assert "/security/recover/" in client.get("/login/").content.decode()
