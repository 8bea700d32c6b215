"""Autoresponder self-service goes through the provisioning pipeline."""

from django.test import Client
from django.urls import reverse

ON = {
    "autoreply_enabled": "on",
    "autoreply_subject": "Out of office",
    "autoreply_body": "Back on Monday.",
    "autoreply_start": "2026-08-01T09:00",
    "autoreply_end": "2026-08-15T18:00",
}


def test_turn_on_autoresponder_shows_updating_to_admins(portal, alice, operator, reload):
    version = alice.desired_version
    alice.applied_version = version
    alice.save(update_fields=["applied_version"])
    response = portal.post(reverse("portal:autoresponder"), ON)
    assert response.status_code == 302
    alice = reload(alice)
    assert alice.autoreply_enabled and alice.autoreply_subject == "Out of office"
    assert alice.desired_version == version + 1
    admin = Client()
    admin.force_login(operator)
    body = admin.get(reverse("accounts:list", args=[alice.domain_id])).content.decode()
    assert "badge-updating" in body


def test_push_carries_the_autoresponder(portal, alice, memory_backend, reload):
    from accounts.sync import account_push

    portal.post(reverse("portal:autoresponder"), ON)
    account_push(account_id=alice.pk)
    state = memory_backend.accounts[alice.address]
    assert state.autoresponder.subject == "Out of office"
    assert reload(alice).status == "online"


def test_end_before_start_refused(portal, alice, reload):
    response = portal.post(
        reverse("portal:autoresponder"), {**ON, "autoreply_end": "2026-07-01T09:00"}
    )
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
    assert not reload(alice).autoreply_enabled


def test_message_required_when_on(portal, alice, reload):
    response = portal.post(reverse("portal:autoresponder"), {**ON, "autoreply_body": ""})
    assert response.status_code == 200
    assert not reload(alice).autoreply_enabled


def test_turn_off(portal, alice, reload):
    portal.post(reverse("portal:autoresponder"), ON)
    portal.post(reverse("portal:autoresponder"), {**ON, "autoreply_enabled": ""})
    assert not reload(alice).autoreply_enabled


def test_the_form_says_how_long_the_message_may_be(portal, alice, reload):
    page = portal.get(reverse("portal:autoresponder")).content.decode()
    assert 'maxlength="5000"' in page and "At most 5,000 characters." in page
    response = portal.post(reverse("portal:autoresponder"), {**ON, "autoreply_body": "x" * 5001})
    assert response.status_code == 200 and "at most 5000 characters" in response.content.decode()
    assert not reload(alice).autoreply_enabled
