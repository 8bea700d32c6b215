"""Spam delivery to Inbox, through the provisioning pipeline."""

import re

from django.urls import reverse


def test_spam_to_inbox(portal, alice, reload):
    version = alice.desired_version
    response = portal.post(reverse("portal:spam"), {"spam_to_inbox": "on"})
    assert response.status_code == 302
    alice = reload(alice)
    assert alice.spam_to_inbox and alice.desired_version == version + 1
    body = portal.get(reverse("portal:spam")).content.decode()
    assert re.search(r'<input[^>]*name="spam_to_inbox"[^>]*checked', body)
    portal.post(reverse("portal:spam"), {})
    assert not reload(alice).spam_to_inbox
