"""What the administrator's catalog changes do to connections that exist (seed 004): an edit
reaches them without reconnecting; a hidden service and manual entry turned off stop only new
connections; a deleted service stops its users' syncs with a notice, the imported mail stays."""

import pytest

from tests.conftest import PASSWORD, wait_until
from tests.imports.conftest import count_messages, fill_many, wait_state
from webmail_settings import importer, services
from webmail_settings.models import ExternalMailbox, SyncState
from webmail_settings.remote import Server

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]

EXT_PASSWORD = "Ext-Secret-pw-3"


@pytest.fixture
def service(org_a, external):
    return services.email_service_save(
        organization=org_a,
        name="External Provider",
        imap=Server(external.ip, 993),
        imap_security="tls",
        smtp=Server(external.ip, 465),
        smtp_tls=True,
    )


def post_connect(client, account, data):
    client.force_login(account.user)
    return client.post(
        "/portal/mailboxes/connect/", {"password": EXT_PASSWORD, "action": "connect", **data}
    )


def sync_and_wait(client, connection, states=(SyncState.IDLE,)):
    before = connection.last_sync_at
    before_error = connection.last_error_at
    response = client.post(f"/portal/mailboxes/{connection.pk}/sync/")
    assert response.status_code == 302

    def finished():
        connection.refresh_from_db()
        return connection.lease_until is None and (
            connection.last_sync_at != before or connection.last_error_at != before_error
        )

    wait_until(finished, timeout=60, what="a sync")
    assert connection.state in states, (connection.state, connection.last_error_params)
    return connection


def test_edit_hide_and_manual_entry(
    client, stack, external, import_worker, alice, service, owner, org_a
):
    user = external.add_user("edit@external.test", EXT_PASSWORD)
    fill_many(external, user, "INBOX", 20)
    assert post_connect(client, alice, {"service": service.pk, "login": user}).status_code == 302
    connection = wait_state(ExternalMailbox.objects.get(login=user), {SyncState.IDLE})

    # The gear: a broken port reaches the connection at its next sync (it reads the service)...
    admin = client
    admin.force_login(owner)
    data = {
        "name": "External Provider",
        "smtp_server": f"{external.ip}:465",
        "smtp_tls": "on",
        "imap_server": f"{external.ip}:1993",
        "imap_security": "tls",
    }
    assert admin.post(f"/email-services/{service.pk}/", data).status_code == 302
    client.force_login(alice.user)
    sync_and_wait(client, connection, states=(SyncState.FAILED,))
    assert connection.last_error_code == "refused"
    assert (
        f"{external.ip}:1993 refused the connection"
        in client.get(f"/portal/mailboxes/{connection.pk}/").content.decode()
    )
    # ...and so does the right one (STARTTLS on 143), without reconnecting.
    admin.force_login(owner)
    data.update(imap_server=f"{external.ip}:143", imap_security="starttls")
    assert admin.post(f"/email-services/{service.pk}/", data).status_code == 302
    fill_many(external, user, "Archive", 5)
    client.force_login(alice.user)
    sync_and_wait(client, connection)
    assert connection.messages_imported == 25 and not connection.last_error_code
    assert count_messages(stack, alice.address, "Archive", PASSWORD) == 5

    # The eye: hidden, the service takes no new connection (refused by POST), the old syncs.
    admin.force_login(owner)
    admin.post(f"/email-services/{service.pk}/visibility/", {"hidden": "1"})
    second = external.add_user("second@external.test", EXT_PASSWORD)
    response = post_connect(client, alice, {"service": service.pk, "login": second})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    fill_many(external, user, "Archive2", 3)
    sync_and_wait(client, connection)
    assert connection.messages_imported == 28

    # Manual entry off: Other is refused by POST; a manual connection made before still syncs.
    admin.force_login(owner)
    admin.post(f"/email-services/{service.pk}/visibility/", {"hidden": "0"})
    manual = {
        "service": "other",
        "login": second,
        "imap_server": f"{external.ip}:993",
        "imap_security": "tls",
        "smtp_server": f"{external.ip}:587",
        "smtp_tls": "on",
    }
    r = post_connect(client, alice, manual)
    if r.status_code != 302:
        import time

        print(
            "USERS",
            (external.dir / "users").read_text(),
            (external.dir / "users").stat().st_mtime,
            time.time(),
        )
        print(external.log()[-3000:])
    assert r.status_code == 302
    other = wait_state(ExternalMailbox.objects.get(login=second), {SyncState.IDLE})
    assert other.manual and other.service is None
    admin.force_login(owner)
    admin.post(f"/email-services/?org={org_a.pk}", {"org": org_a.pk})  # box cleared
    assert not services.manual_allowed(alice)
    third = external.add_user("third@external.test", EXT_PASSWORD)
    response = post_connect(client, alice, {**manual, "login": third})
    assert response.status_code == 200
    assert not ExternalMailbox.objects.filter(login=third).exists()
    fill_many(external, second, "INBOX", 4)
    sync_and_wait(client, other)
    assert other.messages_imported == 4


def test_a_deleted_service_stops_its_users_syncs_and_the_mail_stays(
    client, stack, external, import_worker, alice, service, owner
):
    user = external.add_user("deleted@external.test", EXT_PASSWORD)
    fill_many(external, user, "INBOX", 30)
    assert post_connect(client, alice, {"service": service.pk, "login": user}).status_code == 302
    connection = wait_state(ExternalMailbox.objects.get(login=user), {SyncState.IDLE})
    assert count_messages(stack, alice.address, "INBOX", PASSWORD) == 30

    client.force_login(owner)
    confirm = client.get(f"/email-services/{service.pk}/delete/").content.decode()
    assert alice.address in confirm and "will stop working" in confirm
    assert client.post(f"/email-services/{service.pk}/delete/").status_code == 302

    connection.refresh_from_db()
    assert connection.state == SyncState.STOPPED and connection.service is None
    client.force_login(alice.user)
    notice = "Your administrator removed the email service External Provider"
    assert notice in client.get(f"/portal/mailboxes/{connection.pk}/").content.decode()
    assert notice in client.get("/portal/mailboxes/").content.decode()

    # New mail at the provider no longer comes: no sync is due, a forced one is refused.
    fill_many(external, user, "INBOX", 5)
    assert connection.pk not in importer.due_connections()
    response = client.post(f"/portal/mailboxes/{connection.pk}/sync/", follow=True)
    assert notice in response.content.decode()
    assert importer.sync(mailbox_id=connection.pk) == "busy"
    assert count_messages(stack, alice.address, "INBOX", PASSWORD) == 30
