"""The import job end to end: a real Celery worker copies a mailbox of 1,000 messages in five
folders from the provider (a second Dovecot, TLS) into the user's own mailbox on our stack;
every message and flag is checked over IMAP; a re-sync brings exactly what is new."""

import time

import pytest

from tests.conftest import PASSWORD, wait_until
from tests.imports.conftest import own_folder, wait_state
from webmail_settings import services
from webmail_settings.models import ExternalFolder, ExternalMailbox, SyncState
from webmail_settings.remote import Server

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]

EXT_PASSWORD = "Ext-Secret-pw-2"
# external folder → (folder in the user's mailbox, messages)
FOLDERS = {
    "INBOX": ("INBOX", 400),
    "Sent Items": ("Sent", 200),  # \Sent special use
    "Spam": ("Junk", 100),  # known name
    "Deleted Items": ("Trash", 100),  # \Trash special use
    "Projects/Citt&AOA- 2024": ("Projects.Citt&AOA- 2024", 200),  # nested, non-ASCII
}
KEYWORD = "$Forwarded"


def flags_for(i: int) -> set[str]:
    flags = set()
    if i % 2 == 0:
        flags.add("\\Seen")
    if i % 5 == 0:
        flags.add("\\Answered")
    if i % 7 == 0:
        flags.add("\\Flagged")
    if i % 11 == 0:
        flags.add(KEYWORD)
    if i % 13 == 0:
        flags.add("\\Draft")
    return flags


def message(subject: str, size: int = 20_000) -> bytes:
    head = (
        f"From: Someone <someone@external.test>\r\nTo: user@external.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject}@external.test>\r\n"
        "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n\r\n"
    )
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    return (head + line * (size // len(line))).encode()


def fill(provider, user, folder: str, start: int, count: int) -> dict[str, set[str]]:
    expected = {}
    batch = []
    for i in range(start, start + count):
        subject = f"{folder.split('/')[0].replace(' ', '')}-{i:04d}"
        flags = flags_for(i)
        expected[subject] = flags
        batch.append((" ".join(sorted(flags)), message(subject)))
    provider.fill(user, folder, batch)
    return expected


@pytest.fixture
def catalog_service(org_a, external):
    services.catalog_settings(org_a)
    return services.email_service_save(
        organization=org_a,
        name="External Provider",
        imap=Server(external.ip, 993),
        imap_security="tls",
        smtp=Server(external.ip, 465),
        smtp_tls=True,
    )


def connect(client, account, service, login) -> ExternalMailbox:
    client.force_login(account.user)
    response = client.post(
        "/portal/mailboxes/connect/",
        {"service": str(service.pk), "login": login, "password": EXT_PASSWORD, "action": "connect"},
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    return ExternalMailbox.objects.get(account=account, login=login)


def test_import_1000_messages_then_resync_exactly_the_new_ones(
    client, stack, external, import_worker, alice, catalog_service
):
    user = external.add_user("bulk@external.test", EXT_PASSWORD)
    expected = {}
    for folder, (_target, count) in FOLDERS.items():
        expected[folder] = fill(external, user, folder, 0, count)

    started = time.monotonic()
    connection = connect(client, alice, catalog_service, user)
    wait_state(connection, {SyncState.IDLE, SyncState.FAILED}, timeout=120)
    elapsed = time.monotonic() - started
    assert connection.state == SyncState.IDLE, connection.last_error_params
    assert (connection.messages_done, connection.messages_total) == (1000, 1000)
    assert (connection.folders_done, connection.folders_total) == (5, 5)
    assert connection.messages_imported == 1000 and connection.last_sync_at is not None
    assert connection.percent == 100
    print(f"imported 1000 messages in {elapsed:.1f}s")

    for folder, (target, count) in FOLDERS.items():
        found = own_folder(stack, alice.address, target, PASSWORD)
        assert len(found) == count, (folder, target, len(found))
        assert found == expected[folder], f"{folder}: subjects or flags differ"

    # Ten new messages at the provider: six in INBOX, four in the nested folder.
    new_inbox = fill(external, user, "INBOX", 400, 6)
    new_projects = fill(external, user, "Projects/Citt&AOA- 2024", 200, 4)
    response = client.post(f"/portal/mailboxes/{connection.pk}/sync/")
    assert response.status_code == 302
    wait_until(
        lambda: (
            ExternalMailbox.objects.get(pk=connection.pk).last_sync_at > connection.last_sync_at
        ),
        timeout=60,
        what="the second sync",
    )
    wait_state(connection, {SyncState.IDLE})
    assert (connection.messages_done, connection.messages_total) == (10, 10)
    assert connection.messages_imported == 1010
    inbox = own_folder(stack, alice.address, "INBOX", PASSWORD)
    assert inbox == {**expected["INBOX"], **new_inbox}
    projects = own_folder(stack, alice.address, "Projects.Citt&AOA- 2024", PASSWORD)
    assert projects == {**expected["Projects/Citt&AOA- 2024"], **new_projects}
    for folder in ("Sent Items", "Spam", "Deleted Items"):
        target = FOLDERS[folder][0]
        assert len(own_folder(stack, alice.address, target, PASSWORD)) == FOLDERS[folder][1]

    # Nothing new: a third sync copies nothing.
    last = connection.last_sync_at
    client.post(f"/portal/mailboxes/{connection.pk}/sync/")
    wait_until(
        lambda: ExternalMailbox.objects.get(pk=connection.pk).last_sync_at > last,
        timeout=60,
        what="the third sync",
    )
    wait_state(connection, {SyncState.IDLE})
    assert (connection.messages_total, connection.messages_imported) == (0, 1010)
    assert sum(f.messages for f in ExternalFolder.objects.filter(mailbox=connection)) == 1010
