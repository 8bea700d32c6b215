"""The Dovecot adapter's group rows, on a SQLite mail directory (no servers needed): the
expansion is replaced whole, a stale push is ignored, removal leaves mailboxes alone."""

import pytest

from tempusmail.mailbackend import BackendError, GroupState
from tempusmail.mailbackend.dovecot import DovecotBackend
from tests.states import account_state


@pytest.fixture
def backend(settings, tmp_path):
    settings.MAIL_ROOT = tmp_path
    settings.MAIL_DIRECTORY_URL = f"sqlite:///{tmp_path}/directory.db"
    settings.DOVECOT_CONFIG = str(tmp_path / "missing.conf")  # doveadm skipped
    settings.POLICY_REDIS_URL = ""  # no sending-limit counters
    backend = DovecotBackend()
    backend.init_directory()
    return backend


def rows(backend, address):
    with backend.connect() as db:
        found = db.execute("SELECT target FROM forward WHERE address = ?", (address,))
        return sorted(r[0] for r in found.fetchall())


def test_the_expansion_is_replaced_whole_and_stale_pushes_are_ignored(backend):
    backend.apply_group(GroupState("team@a.example", ("a@a.example", "b@a.example"), 2))
    assert rows(backend, "team@a.example") == ["a@a.example", "b@a.example"]
    backend.apply_group(GroupState("team@a.example", ("a@a.example", "c@a.example"), 1))
    assert rows(backend, "team@a.example") == ["a@a.example", "b@a.example"]
    backend.apply_group(GroupState("team@a.example", ("c@a.example",), 3))
    assert rows(backend, "team@a.example") == ["c@a.example"]
    backend.remove_group("team@a.example")
    assert rows(backend, "team@a.example") == []


def test_a_group_never_overwrites_a_mailbox(backend):
    backend.apply_account(
        account_state("box@a.example", forward_to=("else@b.example",), forward_keep_copy=False)
    )
    with pytest.raises(BackendError, match=r"^box@a\.example is a mailbox, not a group$"):
        backend.apply_group(GroupState("box@a.example", ("a@a.example",), 1))
    backend.remove_group("box@a.example")
    assert rows(backend, "box@a.example") == ["else@b.example"]


def test_the_same_group_version_is_applied_again_and_a_stale_one_is_logged(backend, caplog):
    """A retried push repairs its rows; a stale one says so in the worker's log."""
    backend.apply_group(GroupState("team@a.example", ("a@a.example",), 2))
    with backend.connect() as db, db.transaction():
        db.execute("DELETE FROM forward WHERE address = 'team@a.example'")
    backend.apply_group(GroupState("team@a.example", ("a@a.example",), 2))
    assert rows(backend, "team@a.example") == ["a@a.example"]
    with caplog.at_level("INFO", logger="tempusmail.mailbackend.dovecot.backend"):
        backend.apply_group(GroupState("team@a.example", ("b@a.example",), 1))
    assert caplog.messages == ["ignored stale push of group team@a.example v1"]
    assert rows(backend, "team@a.example") == ["a@a.example"]


def test_removing_a_group_leaves_other_groups(backend):
    backend.apply_group(GroupState("team@a.example", ("a@a.example",), 1))
    backend.apply_group(GroupState("desk@a.example", ("b@a.example",), 1))
    backend.remove_group("team@a.example")
    assert rows(backend, "team@a.example") == []
    assert rows(backend, "desk@a.example") == ["b@a.example"]
    with backend.connect() as db:
        held = db.execute("SELECT address, version FROM mailgroup").fetchall()
    assert [tuple(r) for r in held] == [("desk@a.example", 1)]
