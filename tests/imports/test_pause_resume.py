"""Pause, resume and disconnect while an import runs (the worker copies at most 500 messages
a second, so the test can act mid-way): nothing is copied twice, nothing imported is lost."""

import pytest

from tests.conftest import PASSWORD, wait_until
from tests.imports.conftest import count_messages, fill_many, wait_state
from webmail_settings import services
from webmail_settings.models import ExternalMailbox, SyncState
from webmail_settings.remote import Server

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]

EXT_PASSWORD = "Ext-Secret-pw-4"
TOTAL = 1500


@pytest.fixture
def running(client, stack, external, import_worker, alice, org_a):
    """A connection whose import of 1,500 messages has begun."""
    service = services.email_service_save(
        organization=org_a,
        name="External Provider",
        imap=Server(external.ip, 993),
        imap_security="tls",
        smtp=Server(external.ip, 465),
        smtp_tls=True,
    )
    user = external.add_user(f"pause-{alice.local_part}@external.test", EXT_PASSWORD)
    fill_many(external, user, "INBOX", TOTAL)
    client.force_login(alice.user)
    response = client.post(
        "/portal/mailboxes/connect/",
        {"service": service.pk, "login": user, "password": EXT_PASSWORD, "action": "connect"},
    )
    assert response.status_code == 302
    connection = ExternalMailbox.objects.get(login=user)
    wait_until(
        lambda: ExternalMailbox.objects.get(pk=connection.pk).messages_done > 0,
        timeout=60,
        what="the import to start",
    )
    return connection


def test_pause_then_resume_copies_each_message_once(client, stack, alice, running):
    assert client.post(f"/portal/mailboxes/{running.pk}/pause/").status_code == 302
    connection = wait_state(running, {SyncState.PAUSED})
    paused_at = connection.messages_imported
    assert 0 < paused_at < TOTAL
    assert count_messages(stack, alice.address, "INBOX", PASSWORD) == paused_at
    page = client.get(f"/portal/mailboxes/{running.pk}/").content.decode()
    assert "Paused" in page and "Resume" in page
    # A paused connection is not due, and a queued job for it does nothing.
    from webmail_settings import importer

    assert running.pk not in importer.due_connections()
    assert importer.sync(mailbox_id=running.pk) == "busy"

    assert client.post(f"/portal/mailboxes/{running.pk}/resume/").status_code == 302
    connection = wait_state(running, {SyncState.IDLE}, timeout=60)
    assert connection.messages_imported == TOTAL
    assert count_messages(stack, alice.address, "INBOX", PASSWORD) == TOTAL


def test_disconnect_stops_the_import_and_keeps_the_mail(client, stack, alice, running):
    assert client.post(f"/portal/mailboxes/{running.pk}/disconnect/").status_code == 302
    assert not ExternalMailbox.objects.filter(pk=running.pk).exists()
    copied = count_messages(stack, alice.address, "INBOX", PASSWORD)
    assert 0 < copied < TOTAL
    # The job stops at its next batch: the count settles below the total.
    wait_until(
        lambda: (
            count_messages(stack, alice.address, "INBOX", PASSWORD)
            == count_messages(stack, alice.address, "INBOX", PASSWORD)
        ),
        timeout=10,
        what="the count to settle",
    )
    assert copied <= count_messages(stack, alice.address, "INBOX", PASSWORD) < TOTAL


def test_deleting_the_service_stops_a_running_import(client, stack, alice, running, owner):
    client.force_login(owner)
    assert client.post(f"/email-services/{running.service_id}/delete/").status_code == 302
    connection = wait_state(running, {SyncState.STOPPED})
    assert connection.last_error_code == "service_removed"
    kept = count_messages(stack, alice.address, "INBOX", PASSWORD)
    assert 0 < kept < TOTAL
    assert kept == connection.messages_imported
