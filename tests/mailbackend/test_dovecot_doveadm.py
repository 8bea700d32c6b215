"""The Dovecot adapter's doveadm calls, usage read-back and write lock, on a real SQLite mail
directory without servers or root: doveadm is a stand-in script (tests/mailbackend/conftest.py)
that prints what a test tells it to and fails when told to."""

import threading
from datetime import UTC, datetime

import pytest

from tempusmail.mailbackend import BackendError
from tempusmail.mailbackend.dovecot import DovecotBackend
from tempusmail.mailbackend.dovecot import directory as directory_module
from tests.conftest import wait_until
from tests.mailbackend.test_dovecot_backend import ADDRESS, NEWER, OLDER, expected, held

# What `doveadm -f tab quota get -F FILE` prints: a header, then one line per user and limit
# type; STORAGE values are in kilobytes.
QUOTA_TABLE = (
    "username\tquota name\ttype\tvalue\tlimit\t%\n"
    "ann@a.example\tUser quota\tSTORAGE\t1500\t1048576\t0\n"
    "ann@a.example\tUser quota\tMESSAGE\t42\t-\t0\n"
    "bob@a.example\tUser quota\tSTORAGE\t0\t1048576\t0\n"
    "cy@a.example\tUser quota\tSTORAGE\tbroken\t1048576\t0\n"
)


@pytest.fixture
def backend(directory) -> DovecotBackend:
    return DovecotBackend()


def tell_doveadm(directory, *, out: str = "", err: str = "", code: int = 0) -> None:
    """The stand-in doveadm prints `out` on stdout, `err` on stderr and exits with `code`."""
    (directory.root.parent / "doveadm.out").write_text(out)
    script = directory.root.parent / "doveadm"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {directory.doveadm_log}\n'
        f"cat {directory.root.parent / 'doveadm.out'}\n"
        f"printf '%s' '{err}' >&2\n"
        f"exit {code}\n"
    )


def test_doveadm_runs_with_the_configured_file_and_returns_its_output(backend, directory):
    tell_doveadm(directory, out="answer\n")
    assert backend.doveadm("who", ADDRESS) == "answer\n"
    log = directory.doveadm_log.read_text().split()
    assert log == ["-c", str(directory.root.parent / "dovecot.conf"), "who", ADDRESS]


def test_a_failing_doveadm_is_an_error_unless_the_caller_does_not_check(backend, directory):
    tell_doveadm(directory, out="partial\n", err="Fatal: user unknown", code=67)
    with pytest.raises(BackendError, match="doveadm kick ann@a.example failed: Fatal: user"):
        backend.doveadm("kick", ADDRESS)
    assert backend.doveadm("kick", ADDRESS, check=False) == "partial\n"


@pytest.mark.parametrize(
    "err",
    [
        "Error: socket /run/dovecot/doveadm-server: No such file or directory",
        "connect(anvil) failed: Connection refused",
    ],
)
def test_a_dovecot_that_is_not_running_is_not_an_error(backend, directory, err):
    """Not running: no session to kick, no quota to read; the push itself stands."""
    tell_doveadm(directory, out="ignored\n", err=err, code=75)
    assert backend.doveadm("kick", ADDRESS) == ""


def test_a_missing_dovecot_config_skips_doveadm(backend, directory, settings):
    settings.DOVECOT_CONFIG = str(directory.root.parent / "absent.conf")
    assert backend.doveadm("kick", ADDRESS) == ""
    assert directory.doveadm_calls() == []


def test_no_dovecot_config_runs_doveadm_with_its_default(backend, directory, settings):
    settings.DOVECOT_CONFIG = ""
    tell_doveadm(directory, out="ok\n")
    assert backend.doveadm("who") == "ok\n"
    assert directory.doveadm_log.read_text() == "who\n"


def test_a_doveadm_that_cannot_run_is_an_error(backend, directory, settings):
    settings.DOVEADM = str(directory.root.parent / "no-such-doveadm")
    with pytest.raises(BackendError, match="doveadm failed"):
        backend.doveadm("kick", ADDRESS)


def test_usage_reads_storage_from_the_quota_table_and_logins_from_the_dict(backend, directory):
    tell_doveadm(directory, out=QUOTA_TABLE)
    state = directory.root / "state"
    state.mkdir()
    (state / "last-login.dict").write_text(
        "shared/last-login/ann@a.example\n1767225600\n"
        "shared/last-login/bob@a.example\nnot-a-time\n"
        "shared/last-login/zed@elsewhere.test\n1767225600\n"
    )
    wanted = ["ann@a.example", "bob@a.example", "cy@a.example", "dee@a.example"]

    usage = backend.usage(wanted)

    assert set(usage) == set(wanted)
    assert usage["ann@a.example"].storage_bytes == 1500 * 1024  # STORAGE only, in bytes
    assert usage["ann@a.example"].last_login == datetime(2026, 1, 1, tzinfo=UTC)
    assert usage["bob@a.example"].storage_bytes == 0  # an empty mailbox is 0, not unknown
    assert usage["bob@a.example"].last_login is None
    # doveadm gave no number / no line: unknown (None), never 0, so the panel keeps the last
    assert usage["cy@a.example"].storage_bytes is None
    assert usage["dee@a.example"].storage_bytes is None
    assert all(u.sent_24h == 0 for u in usage.values())  # no policy Redis configured
    # one doveadm run for the whole batch, naming the users in a file
    (call,) = directory.doveadm_calls()
    assert call.startswith("-f tab quota get -F ")


def test_usage_without_a_running_dovecot_is_unknown_not_empty(backend, directory):
    tell_doveadm(directory, err="No such file or directory", code=75)
    usage = backend.usage([ADDRESS])
    assert usage[ADDRESS].storage_bytes is None and usage[ADDRESS].last_login is None


def test_usage_of_no_mailbox_asks_nothing(backend, directory):
    assert backend.usage([]) == {}
    assert directory.doveadm_calls() == []


def test_unreadable_sending_counters_are_unknown(backend, directory, monkeypatch):
    class BrokenStore:
        def sent_24h(self, addresses):
            raise ConnectionError("Redis is away")

    monkeypatch.setattr(DovecotBackend, "policy_store", lambda self: BrokenStore())
    tell_doveadm(directory, out=QUOTA_TABLE)
    assert backend.usage([ADDRESS])[ADDRESS].sent_24h is None


def test_sending_counters_are_read_for_the_batch(backend, directory, monkeypatch):
    class Store:
        def sent_24h(self, addresses):
            return {ADDRESS: 7}

    monkeypatch.setattr(DovecotBackend, "policy_store", lambda self: Store())
    tell_doveadm(directory, out=QUOTA_TABLE)
    usage = backend.usage([ADDRESS, "bob@a.example"])
    assert usage[ADDRESS].sent_24h == 7
    assert usage["bob@a.example"].sent_24h == 0  # no counter: nothing sent


def test_a_push_waits_for_the_one_holding_the_directory_and_then_sees_its_version(
    backend, directory, monkeypatch, race
):
    """Two pushes of one mailbox at once (two workers): the older one, started while the
    newer one holds the directory's write lock, waits for it and then finds the newer
    version, so it changes nothing. Without the lock (or with the version read outside the
    transaction) the older one would have read no row and written its own state."""
    statements: list[str] = []
    opened = directory_module.Directory._open

    def traced_open(self, mode):
        conn = opened(self, mode)
        if threading.current_thread().name == "older":
            conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(directory_module.Directory, "_open", traced_open)
    newer = race.thread("newer", [NEWER])
    older = race.thread("older", [OLDER])
    newer.start()
    assert race.inside.wait(30), "the newer push never reached its transaction"
    older.start()
    # The older push has asked for the write lock (SQLite traces a statement as it starts).
    wait_until(
        lambda: any(s.startswith("BEGIN") for s in statements), timeout=30, what="the older push"
    )
    assert older.is_alive()
    race.release.set()
    newer.join(30)
    older.join(30)

    assert race.errors == []
    assert held(directory) == expected(NEWER)
    # the older push read the version only after taking the lock
    assert statements.index("BEGIN IMMEDIATE") < next(
        i for i, s in enumerate(statements) if s.startswith("SELECT version")
    )


# --- files ---------------------------------------------------------------------------------


def test_the_mailbox_home_is_under_the_domain(backend, directory):
    assert backend.home("ann@a.example") == directory.root / "mail" / "a.example" / "ann"
