"""Issue 9, finding 1: an operator must not become an owner. A mailbox whose login is a member
of an organization (here: the owner of A who also owns B) is privileged: only that person, an
owner of every organization the login belongs to, or staff may change its password, recovery
address, 2FA, API access, IP restrictions or status (accounts.access, DESIGN.md)."""

import json
import re

import pytest
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import EmailAccount
from domains.models import Membership, Role
from security import services as security_services
from tests.conftest import PASSWORD

from .helpers import clear_cache, sign_in

TAKEN_OVER = "Operator-Chose-This-1"


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def boss(domain_a, make_account, org_a, org_b):
    """A mailbox of A whose login owns A and B (the panel supports a member with a mailbox)."""
    account = make_account(domain_a, "boss")
    Membership.objects.create(user=account.user, organization=org_a, role=Role.OWNER)
    Membership.objects.create(user=account.user, organization=org_b, role=Role.OWNER)
    return account


def api(client, method, url, key, data=None):
    return client.generic(
        method,
        url,
        json.dumps(data or {}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_operator_cannot_set_the_owners_password_and_take_over_both_tenants(
    client, operator, boss, account_b
):
    """As reported: the operator sets the owner's mailbox password, signs in as the owner and
    deactivates an account of the other organization."""
    client.force_login(operator)
    response = client.post(f"/accounts/{boss.pk}/password/", {"password": TAKEN_OVER})
    assert response.status_code == 403
    boss.user.refresh_from_db()
    assert not boss.user.check_password(TAKEN_OVER)
    client.logout()
    assert sign_in(client, boss.address, TAKEN_OVER).status_code == 200  # not signed in
    assert "_auth_user_id" not in client.session
    client.post(f"/accounts/{account_b.pk}/deactivate/")
    account_b.refresh_from_db()
    assert account_b.is_active


def test_operator_cannot_generate_a_password_for_the_owner(client, operator, boss):
    client.force_login(operator)
    before = boss.user.password
    assert client.post(f"/accounts/{boss.pk}/password/", {"generate": "on"}).status_code == 403
    boss.user.refresh_from_db()
    assert boss.user.password == before


def test_operator_cannot_set_the_recovery_address_and_recover(client, operator, boss):
    """The second route of the report: the external address, then password recovery."""
    client.force_login(operator)
    page = client.get(f"/accounts/{boss.pk}/master/").content.decode()
    assert re.search(r'name="external_email"[^>]*disabled', page)
    response = client.post(
        f"/accounts/{boss.pk}/master/",
        {
            "first_name": "Boss",
            "last_name": "Test",
            "external_email": "attacker@evil.test",
            "language": "en",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 302  # the other fields save; the guarded one is kept
    boss.user.refresh_from_db()
    assert boss.user.external_email == ""
    client.logout()
    client.post("/security/recover/", {"email": boss.address})
    assert mail.outbox == []


def test_operator_token_cannot_change_the_owners_credentials_through_the_api(
    client, operator, org_a, boss
):
    _token, key = security_services.token_create(user=operator, name="op", organization=org_a)
    url = f"/api/v1/accounts/{boss.pk}/"
    assert api(client, "POST", url + "password/", key, {"password": TAKEN_OVER}).status_code == 403
    for values in (
        {"external_email": "attacker@evil.test"},
        {"api_access": True},
        {"allowed_networks": ["203.0.113.0/24"]},
    ):
        assert api(client, "PATCH", url, key, values).status_code == 403, values
    # what is not a credential still works for an operator
    ok = api(client, "PATCH", url, key, {"autoreply_subject": "Away"})
    assert ok.status_code == 200, ok.content
    boss.refresh_from_db()
    boss.user.refresh_from_db()
    assert not boss.user.check_password(TAKEN_OVER)
    assert (boss.user.external_email, boss.api_access, boss.allowed_networks) == ("", False, [])


def test_owner_of_only_one_of_the_logins_organizations_is_refused_too(
    client, owner, boss, account_b
):
    """Owning A is not enough: the login also owns B, whose owner A's owner is not."""
    client.force_login(owner)
    assert (
        client.post(f"/accounts/{boss.pk}/password/", {"password": TAKEN_OVER}).status_code == 403
    )
    assert client.post(f"/accounts/{boss.pk}/deactivate/").status_code == 403
    TOTPDevice.objects.create(user=boss.user, name="phone", confirmed=True)
    assert client.post(f"/security/accounts/{boss.pk}/reset-2fa/").status_code == 403
    assert TOTPDevice.objects.filter(user=boss.user).exists()
    boss.refresh_from_db()
    assert boss.is_active


def test_owner_of_every_organization_staff_and_the_person_may(
    client, owner, boss, org_b, admin_user
):
    Membership.objects.create(user=owner, organization=org_b, role=Role.OWNER)
    client.force_login(owner)
    response = client.post(f"/accounts/{boss.pk}/password/", {"password": "Owner-Of-Both-22"})
    assert response.status_code == 302
    boss.user.refresh_from_db()
    assert boss.user.check_password("Owner-Of-Both-22")
    # the person themselves, through their own password page
    client.force_login(boss.user)
    response = client.post(
        "/security/password/",
        {
            "old_password": "Owner-Of-Both-22",
            "new_password": "Mine-Again-Pass-3",
            "new_password2": "Mine-Again-Pass-3",
        },
    )
    assert response.status_code == 302
    # staff (the Django admin's people)
    from accounts.access import may_change_credentials

    assert may_change_credentials(admin_user, boss)


def test_ordinary_mailboxes_keep_the_usual_role_rules(client, operator, account_a):
    """A mailbox whose login is no member: an operator sets its password as before."""
    client.force_login(operator)
    response = client.post(f"/accounts/{account_a.pk}/password/", {"password": "Fresh-Pass-Word-8"})
    assert response.status_code == 302
    account_a.user.refresh_from_db()
    assert account_a.user.check_password("Fresh-Pass-Word-8")


def test_the_owner_signs_in_with_their_own_password_after_all_refusals(client, operator, boss):
    client.force_login(operator)
    client.post(f"/accounts/{boss.pk}/password/", {"password": TAKEN_OVER})
    client.logout()
    assert sign_in(client, boss.address, PASSWORD).status_code == 302
    assert EmailAccount.objects.get(pk=boss.pk).is_active
