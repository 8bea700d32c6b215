"""The portal's Security page links to the security app's pages within the admin's policy."""

from django.urls import reverse


def test_links_to_existing_security_pages(portal, alice):
    password, two_factor = reverse("security:password"), reverse("security:2fa")
    body = portal.get(reverse("portal:security")).content.decode()
    assert f'href="{password}"' in body and f'href="{two_factor}"' in body


def test_password_link_hidden_when_change_disabled(portal, alice):
    alice.disable_password_change = True
    alice.save(update_fields=["disable_password_change"])
    body = portal.get(reverse("portal:security")).content.decode()
    assert f'href="{reverse("security:password")}"' not in body
    assert "Your administrator manages your password." in body


def test_token_link_only_with_api_access(portal, alice):
    tokens = reverse("security:tokens")
    assert f'href="{tokens}"' not in portal.get(reverse("portal:security")).content.decode()
    alice.api_access = True
    alice.save(update_fields=["api_access"])
    assert f'href="{tokens}"' in portal.get(reverse("portal:security")).content.decode()
