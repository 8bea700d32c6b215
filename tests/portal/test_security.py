"""The portal's Security page links to the security app's pages within the admin's policy."""

from django.urls import NoReverseMatch, reverse

from tests.conftest import need


def _url(name):
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def test_links_to_existing_security_pages(portal, alice):
    password, two_factor = _url("security:password"), _url("security:2fa")
    need(password is not None and two_factor is not None, "the security app's pages")
    body = portal.get(reverse("portal:security")).content.decode()
    assert f'href="{password}"' in body and f'href="{two_factor}"' in body


def test_password_link_hidden_when_change_disabled(portal, alice):
    alice.disable_password_change = True
    alice.save(update_fields=["disable_password_change"])
    body = portal.get(reverse("portal:security")).content.decode()
    password = _url("security:password")
    if password:
        assert f'href="{password}"' not in body
    assert "Your administrator manages your password." in body


def test_token_link_only_with_api_access(portal, alice):
    tokens = _url("security:tokens")
    need(tokens is not None, "the security app's token page")
    assert f'href="{tokens}"' not in portal.get(reverse("portal:security")).content.decode()
    alice.api_access = True
    alice.save(update_fields=["api_access"])
    assert f'href="{tokens}"' in portal.get(reverse("portal:security")).content.decode()
