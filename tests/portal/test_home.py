"""The portal shows only the signed-in user's own mailbox."""

from django.urls import reverse

from tests.conftest import PASSWORD


def test_home_shows_own_account(portal, alice, account_b):
    response = portal.get(reverse("portal:home"))
    assert response.status_code == 200
    assert alice.address in response.content.decode()
    assert account_b.address not in response.content.decode()


def test_mailbox_owner_lands_in_portal_after_login(client, alice):
    client.force_login(alice.user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_user_without_mailbox_gets_404_everywhere(client_for, owner):
    client = client_for(owner)
    for name in ("home", "preferences", "signatures", "address_book", "autoresponder", "spam"):
        assert client.get(reverse(f"portal:{name}")).status_code == 404, name


def test_deactivated_account_cannot_sign_in(client, alice):
    from accounts import services

    services.account_deactivate(account=alice)
    client.post(reverse("login"), {"username": alice.address, "password": PASSWORD})
    assert client.get(reverse("portal:home")).status_code == 302  # still signed out


def test_active_account_signs_in_with_password(client, alice):
    client.post(reverse("login"), {"username": alice.address, "password": PASSWORD})
    assert client.get(reverse("portal:home")).status_code == 200


def test_portal_has_no_admin_navigation(portal):
    body = portal.get(reverse("portal:home")).content.decode()
    assert reverse("domains:list") not in body
    assert reverse("portal:signatures") in body


def test_deactivation_ends_an_open_session(portal, alice):
    from accounts import services

    assert portal.get(reverse("portal:home")).status_code == 200
    services.account_deactivate(account=alice)
    response = portal.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_account_being_deleted_has_no_portal(portal, alice):
    from accounts import services

    services.account_deactivate(account=alice)
    services.account_delete(account=alice)
    alice.user.is_active = True  # even if its login still worked
    alice.user.save(update_fields=["is_active"])
    assert portal.get(reverse("portal:home")).status_code == 404
