"""Forwarding: only when the admin allows it, at most 20 addresses."""

import pytest
from django.urls import reverse

from webmail_settings.models import DomainWebmail


@pytest.fixture
def allowed(domain_a):
    return DomainWebmail.objects.create(domain=domain_a, allow_user_forwarding=True)


def test_refused_when_admin_does_not_allow(portal, alice, reload):
    body = portal.get(reverse("portal:forwarding")).content.decode()
    assert "does not allow you to set forwarding" in body
    assert 'name="forward_to"' not in body
    version = alice.desired_version
    response = portal.post(reverse("portal:forwarding"), {"forward_to": "me@elsewhere.example"})
    assert response.status_code == 403
    alice = reload(alice)
    assert alice.forward_to == [] and alice.desired_version == version


def test_forwarding_when_allowed(portal, alice, allowed, reload):
    version = alice.desired_version
    response = portal.post(
        reverse("portal:forwarding"),
        {"forward_to": "me@elsewhere.example\nboss@a.example", "forward_keep_copy": "on"},
    )
    assert response.status_code == 302
    alice = reload(alice)
    assert alice.forward_to == ["me@elsewhere.example", "boss@a.example"]
    assert alice.forward_keep_copy and alice.desired_version == version + 1


def test_at_most_twenty(portal, alice, allowed, reload):
    many = "\n".join(f"user{i}@elsewhere.example" for i in range(21))
    response = portal.post(reverse("portal:forwarding"), {"forward_to": many})
    assert response.status_code == 200
    assert reload(alice).forward_to == []
    twenty = "\n".join(f"user{i}@elsewhere.example" for i in range(20))
    assert portal.post(reverse("portal:forwarding"), {"forward_to": twenty}).status_code == 302
    assert len(reload(alice).forward_to) == 20


def test_invalid_and_own_address_refused(portal, alice, allowed, reload):
    for value in ("not-an-address", alice.address):
        response = portal.post(reverse("portal:forwarding"), {"forward_to": value})
        assert response.status_code == 200, value
    assert reload(alice).forward_to == []
