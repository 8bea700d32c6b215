"""The import job's parts that need no server: folder names and their mapping, what a LIST
answer may hold, flags that could not be smuggled into our APPEND, and which syncs are due."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webmail_settings import crypto, importer
from webmail_settings.importer import Destination, Folder, Message, decode_mutf7, encode_mutf7
from webmail_settings.models import ExternalMailbox, SyncState


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("Città", "Citt&AOA-"),
        ("Posta inviata", "Posta inviata"),
        ("A&B", "A&-B"),
        ("日本語", "&ZeVnLIqe-"),
        ("Entwürfe", "Entw&APw-rfe"),
    ],
)
def test_modified_utf7(text, encoded):
    assert encode_mutf7(text) == encoded
    assert decode_mutf7(encoded) == text


def test_list_answers_are_parsed_including_literals_and_odd_names():
    data = [
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        b'(\\HasChildren \\Noselect) "/" "[Gmail]"',
        b'(\\All \\HasNoChildren) "/" "[Gmail]/All Mail"',
        b'(\\HasNoChildren) "/" INBOX',
        (b'(\\HasNoChildren) "/" {10}', b'Quoted "x"'),
        b"(\\HasNoChildren) NIL Flat",
        b'(\\HasNoChildren) "/" "Bad\\\\Name"',
        b'(\\HasNoChildren) "/" "Bad\rName"',
    ]
    folders = importer.parse_list(data)
    names = [f.name for f in folders]
    assert names[:4] == ["Sent Items", "[Gmail]", "[Gmail]/All Mail", "INBOX"]
    assert 'Quoted "x"' in names and "Flat" in names and "Bad\\Name" in names
    assert "Bad\rName" not in names  # no control characters in a name we will send back
    selectable = [f.name for f in folders if f.selectable]
    assert "[Gmail]" not in selectable and "[Gmail]/All Mail" not in selectable
    assert importer.quote('Quoted "x"') == '"Quoted \\"x\\""'


@pytest.mark.parametrize(
    ("name", "attrs", "expected"),
    [
        ("INBOX", set(), "INBOX"),
        ("Sent Items", set(), "Sent"),
        ("Elementi inviati", set(), "Sent"),
        ("Whatever", {"\\sent"}, "Sent"),
        ("[Gmail]/Sent Mail", {"\\sent"}, "Sent"),
        ("[Gmail]/Spam", {"\\junk"}, "Junk"),
        ("Spam", set(), "Junk"),
        ("Deleted Items", set(), "Trash"),
        ("Cestino", set(), "Trash"),
        ("Bozze", set(), "Drafts"),
        ("Archive", {"\\archive"}, "Archive"),
        ("Projects/Spam", set(), "Projects.Spam"),  # only top-level names are guessed
        ("Projects/v1.2", set(), "Projects.v1_2"),  # our delimiter inside a name
        ("INBOX/Receipts", set(), "Receipts"),  # Courier-style personal prefix dropped
        ("[Gmail]/Labels/Work", set(), "Labels.Work"),
    ],
)
def test_folder_names_are_mapped(name, attrs, expected):
    destination = Destination(
        delimiter=".", special={"sent": "Sent", "junk": "Junk"}, existing=set()
    )
    prefix = "INBOX/" if name.startswith("INBOX/") else ""
    assert destination.target(Folder(name, "/", attrs), prefix) == expected


def test_flags_that_are_not_atoms_are_dropped():
    message = Message(uid=0)
    importer._meta(b'1 (UID 7 FLAGS (\\Seen $Label1 {5+} "x" \\Recent) RFC822.SIZE 10)', message)
    assert message.uid == 7 and message.size == 10
    assert importer.append_flags(message) == "\\Seen $Label1"


def test_uid_sets_and_batches():
    assert importer.uid_set([5, 1, 2, 3, 9, 10]) == "1:3,5,9:10"
    messages = [Message(uid=i, size=3 * 1024 * 1024) for i in range(7)]
    assert [len(b) for b in importer.batches(messages)] == [2, 2, 2, 1]  # 8 MB per batch


def test_which_syncs_are_due(account_a):
    now = timezone.now()

    def make(**fields):
        return ExternalMailbox.objects.create(
            organization_id=account_a.organization_id,
            account=account_a,
            manual=True,
            login=f"x{ExternalMailbox.objects.count()}",
            password_encrypted=crypto.encrypt("x"),
            **fields,
        ).pk

    due = make(state=SyncState.IDLE, next_sync_at=now - timedelta(minutes=1))
    failed = make(state=SyncState.FAILED, next_sync_at=now - timedelta(minutes=1))
    make(state=SyncState.IDLE, next_sync_at=now + timedelta(minutes=5))  # not yet
    make(state=SyncState.PAUSED, paused=True, next_sync_at=now - timedelta(minutes=1))
    make(state=SyncState.STOPPED, next_sync_at=now - timedelta(minutes=1))
    make(state=SyncState.RUNNING, next_sync_at=now, lease_until=now + timedelta(minutes=5))
    stale = make(state=SyncState.RUNNING, next_sync_at=now, lease_until=now - timedelta(minutes=1))
    assert sorted(importer.due_connections()) == sorted([due, failed, stale])
    assert importer.claim(due) and not importer.claim(due)  # one job at a time
