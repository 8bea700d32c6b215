"""The Dovecot adapter's version guards on a real SQLite mail directory: a stale push never
overwrites a newer one (rows, aliases, forwards, Sieve script), a push of the same version is
applied again (a retry repairs), and removals take everything with them. Dovecot keeps no auth
cache (docs/operations.md): no push flushes one; only a deactivation kicks open sessions."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tempusmail.mailbackend import (
    AccountState,
    Autoresponder,
    BackendError,
    DkimKey,
    DomainState,
    GroupState,
)
from tempusmail.mailbackend.dovecot import DovecotBackend, mailbox_row
from tempusmail.mailbackend.dovecot.directory import Directory
from tests.states import account_state

ADDRESS = "ann@a.example"


def state(**changes) -> AccountState:
    values = {"quota_bytes": 1024**3, "forward_keep_copy": False, "daily_send_limit": 100}
    return account_state(**{"address": ADDRESS, **values, **changes})


NEWER = state(
    version=5,
    quota_bytes=5 * 1024**3,
    aliases=("sales@a.example",),
    forward_to=("boss@elsewhere.test",),
    forward_keep_copy=True,
    autoresponder=Autoresponder(subject="Away", body="Back soon.", start=None, end=None),
    daily_send_limit=250,
)
OLDER = state(
    version=4,
    quota_bytes=1024**2,
    services=frozenset({"imap"}),
    aliases=("old@a.example", "older@a.example"),
    forward_to=("stale@elsewhere.test",),
    spam_to_inbox=True,
    reject_all=True,
    reject_message="Gone.",
)


@pytest.fixture
def backend(directory) -> DovecotBackend:
    return DovecotBackend()


def held(directory, address=ADDRESS) -> dict:
    return {
        # Without the storage host: it is not part of the pushed state (test_doveadm_hosts.py).
        "row": {k: v for k, v in (directory.mailbox(address) or {}).items() if k != "host"},
        "aliases": directory.aliases(address),
        "forwards": directory.forwards(address),
        "sieve": directory.sieve(address),
    }


def expected(pushed: AccountState) -> dict:
    return {
        "row": mailbox_row(pushed),
        "aliases": sorted(pushed.aliases),
        "forwards": sorted({*pushed.forward_to, pushed.address}),
        "sieve": mailbox_row(pushed)["sieve"],
    }


def test_a_stale_account_push_changes_nothing(backend, directory):
    backend.apply_account(NEWER)
    before = held(directory)
    assert before == expected(NEWER)
    directory.forget_calls()

    backend.apply_account(OLDER)

    assert held(directory) == before
    assert directory.doveadm_calls() == []  # nothing changed: nothing to flush or kick


def test_a_newer_push_replaces_every_part_of_the_state(backend, directory):
    backend.apply_account(OLDER)
    backend.apply_account(NEWER)
    assert held(directory) == expected(NEWER)
    assert directory.aliases(ADDRESS) == ["sales@a.example"]  # the old aliases are gone
    assert directory.query("SELECT address FROM alias WHERE mailbox <> ?", (ADDRESS,)) == []


def test_the_same_version_is_applied_again(backend, directory):
    """A retried push finds its own row already written: it writes again, repairing whatever
    is off (nothing to flush: Dovecot reads the directory at every login)."""
    backend.apply_account(NEWER)
    directory.query("UPDATE mailbox SET quota_bytes = 1, active = 0 WHERE address = ?", (ADDRESS,))
    directory.forget_calls()

    backend.apply_account(NEWER)

    assert held(directory) == expected(NEWER)
    assert directory.doveadm_calls() == []


def test_only_an_inactive_state_kicks(backend, directory):
    """Every push of an inactive mailbox kicks (a retry after a failed kick must kick too)."""
    backend.apply_account(state(version=1))
    backend.apply_account(state(version=2, quota_bytes=7))
    assert directory.doveadm_calls() == []

    backend.apply_account(state(version=3, active=False))
    assert directory.doveadm_calls() == [f"kick {ADDRESS}"]
    assert directory.mailbox(ADDRESS)["active"] == 0
    directory.forget_calls()

    backend.apply_account(state(version=4, active=False, quota_bytes=9))  # already out
    assert directory.doveadm_calls() == [f"kick {ADDRESS}"]


def test_remove_account_takes_rows_mail_and_sessions(backend, directory):
    backend.apply_account(NEWER)
    backend.apply_account(state(address="bob@a.example", aliases=("bobby@a.example",)))
    home = backend.home(ADDRESS)
    (home / "cur").mkdir(parents=True)
    (home / "cur" / "1.eml").write_text("Subject: hi\n\nhello\n")
    directory.forget_calls()

    backend.remove_account(ADDRESS)

    assert directory.mailbox(ADDRESS) is None
    assert directory.aliases(ADDRESS) == [] and directory.forwards(ADDRESS) == []
    assert not home.exists() and directory.sieve(ADDRESS) is None
    assert directory.doveadm_calls() == [f"kick {ADDRESS}"]
    # the other mailbox is untouched
    assert directory.aliases("bob@a.example") == ["bobby@a.example"]


def test_a_stale_domain_push_changes_nothing(backend, directory):
    backend.apply_domain(DomainState(name="a.example", active=True, version=3))
    assert directory.domain("a.example") == (1, 3)
    backend.apply_domain(DomainState(name="a.example", active=False, version=2))
    assert directory.domain("a.example") == (1, 3)
    backend.apply_domain(DomainState(name="a.example", active=False, version=4))
    assert directory.domain("a.example") == (0, 4)


def test_the_same_domain_version_is_applied_again(backend, directory):
    backend.apply_domain(DomainState(name="a.example", active=True, version=3))
    directory.query("UPDATE domain SET active = 0 WHERE name = 'a.example'")
    backend.apply_domain(DomainState(name="a.example", active=True, version=3))
    assert directory.domain("a.example") == (1, 3)


def test_an_account_push_creates_its_domain_row_without_taking_its_version(backend, directory):
    backend.apply_account(state(version=9))
    assert directory.domain("a.example") == (1, 0)
    backend.apply_domain(DomainState(name="a.example", active=True, version=1))
    assert directory.domain("a.example") == (1, 1)
    backend.apply_account(state(version=10))
    assert directory.domain("a.example") == (1, 1)  # the domain's own version stays


def test_remove_domain_removes_only_that_domain(backend, directory):
    backend.apply_domain(DomainState(name="a.example", active=True, version=1))
    backend.apply_domain(DomainState(name="b.example", active=True, version=1))
    backend.remove_domain("a.example")
    assert directory.domain("a.example") is None
    assert directory.domain("b.example") == (1, 1)


def test_the_autoresponder_dates_reach_the_sieve_script(backend, directory):
    reply = Autoresponder(
        subject="Away",
        body="Back soon.",
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 1, 31, tzinfo=UTC),
    )
    backend.apply_account(state(autoresponder=reply))
    script = directory.sieve(ADDRESS)
    assert '"ge" "iso8601" "2026-01-01T00:00:00"' in script
    assert '"le" "iso8601" "2026-01-31T00:00:00"' in script


def pem(n: int) -> str:
    return f"-----BEGIN PRIVATE KEY-----\nkey{n}\n-----END PRIVATE KEY-----"


def test_remove_domain_takes_its_dkim_keys_and_map_line(backend, directory):
    keys = (DkimKey("s2", pem(2), True), DkimKey("s1", pem(1), False))
    backend.apply_domain(DomainState(name="a.example", active=True, version=1, dkim_keys=keys))
    other = (DkimKey("t1", pem(3), True),)
    backend.apply_domain(DomainState(name="b.example", active=True, version=1, dkim_keys=other))
    dkim = directory.root / "dkim"
    assert sorted(p.name for p in dkim.glob("*.key")) == [
        "a.example.s1.key",
        "a.example.s2.key",
        "b.example.t1.key",
    ]
    assert (dkim / "a.example.s2.key").read_text() == pem(2) + "\n"
    assert (dkim / "selectors.map").read_text() == "a.example s2\nb.example t1\n"

    backend.remove_domain("a.example")

    assert sorted(p.name for p in dkim.glob("*.key")) == ["b.example.t1.key"]
    assert directory.query("SELECT domain, selector FROM dkim_key") == [("b.example", "t1")]
    assert (dkim / "selectors.map").read_text() == "b.example t1\n"


def test_a_stale_push_is_logged_for_the_operator(backend, directory, caplog):
    backend.apply_account(NEWER)
    backend.apply_domain(DomainState(name="a.example", active=True, version=3))
    with caplog.at_level("INFO", logger="tempusmail.mailbackend.dovecot.backend"):
        backend.apply_account(OLDER)
        backend.apply_domain(DomainState(name="a.example", active=True, version=2))
    assert caplog.messages == [
        f"ignored stale push of {ADDRESS} #0 v4",  # #0: a state without a row identity
        "ignored stale push of domain a.example v2",
    ]


def test_a_stale_domain_push_leaves_its_aliases_and_keys(backend, directory):
    """The domain row's guard alone is not enough: the default aliases and DKIM keys written
    with it must stay those of the newer version too."""
    backend.apply_domain(
        DomainState(
            name="a.example",
            active=True,
            version=3,
            dkim_keys=(DkimKey("new", pem(2), True),),
            default_aliases=(("postmaster@a.example", "boss@a.example"),),
        )
    )
    backend.apply_domain(
        DomainState(
            name="a.example",
            active=True,
            version=2,
            dkim_keys=(DkimKey("old", pem(1), True),),
            default_aliases=(("postmaster@a.example", "former@a.example"),),
        )
    )
    assert directory.query("SELECT address, target FROM domain_alias") == [
        ("postmaster@a.example", "boss@a.example")
    ]
    assert directory.query("SELECT selector FROM dkim_key") == [("new",)]
    assert [p.name for p in (directory.root / "dkim").glob("*.key")] == ["a.example.new.key"]


def test_a_mailbox_is_removed_even_when_its_kick_fails(backend, directory):
    """Dovecot may not know the user any more (or not run): the removal stands."""
    backend.apply_account(NEWER)
    directory.doveadm_fail.touch()
    backend.remove_account(ADDRESS)
    assert directory.mailbox(ADDRESS) is None
    backend.remove_account(ADDRESS)  # again, with no row, home or Sieve file left: fine


def test_a_home_that_cannot_be_purged_is_an_error(backend, directory, monkeypatch):
    backend.apply_account(NEWER)
    home = backend.home(ADDRESS)
    home.mkdir(parents=True)
    monkeypatch.setattr("tempusmail.mailbackend.dovecot.backend.shutil.rmtree", lambda p: None)
    with pytest.raises(BackendError, match=f"^could not purge {home}$"):
        backend.remove_account(ADDRESS)


def test_removing_a_mailbox_clears_its_sending_counters(backend, directory, monkeypatch):
    cleared = []

    class Store:
        def set_limits(self, limits):
            pass

        def clear(self, address):
            cleared.append(address)

    monkeypatch.setattr(DovecotBackend, "policy_store", lambda self: Store())
    backend.apply_account(NEWER)
    backend.remove_account(ADDRESS)
    assert cleared == [ADDRESS]


@pytest.mark.parametrize(
    ("operation", "key"),
    [
        (lambda b: b.apply_account(NEWER), ADDRESS),
        (lambda b: b.remove_account(ADDRESS), ADDRESS),
        (lambda b: b.apply_domain(DomainState("a.example", True, 1)), "a.example"),
        (lambda b: b.remove_domain("a.example"), "a.example"),
        (lambda b: b.apply_group(GroupState("team@a.example", (ADDRESS,), 1)), "team@a.example"),
        (lambda b: b.remove_group("team@a.example"), "team@a.example"),
    ],
)
def test_each_push_locks_its_own_name(backend, directory, monkeypatch, operation, key):
    """On a PostgreSQL directory the transaction's key is the advisory lock that serializes
    pushes of one name across workers (tests/mailbackend/test_dovecot_postgres_lock.py)."""
    keys = []
    transaction = Directory.transaction

    def recording(self, lock_key=""):
        keys.append(lock_key)
        return transaction(self, lock_key)

    monkeypatch.setattr(Directory, "transaction", recording)
    operation(backend)
    # A removal takes it twice: to stop new logins, then (once the hosts purged) to delete.
    assert keys and set(keys) == {key}


def test_a_deactivation_stands_when_its_kick_fails(backend, directory):
    backend.apply_account(state(version=1))
    directory.doveadm_fail.touch()
    backend.apply_account(state(version=2, active=False))
    assert directory.mailbox(ADDRESS)["active"] == 0
    assert directory.doveadm_calls() == [f"kick {ADDRESS}"]


def test_remove_domain_takes_its_default_aliases(backend, directory):
    for name in ("a.example", "b.example"):
        backend.apply_domain(
            DomainState(
                name=name,
                active=True,
                version=1,
                default_aliases=((f"postmaster@{name}", f"boss@{name}"),),
            )
        )
    backend.remove_domain("a.example")
    assert directory.query("SELECT address FROM domain_alias") == [("postmaster@b.example",)]


def test_a_batch_with_a_stale_state_still_writes_the_others(backend, directory, monkeypatch):
    """One transaction for three mailboxes: the one whose directory row is newer keeps all of
    it, the two others are written whole; only those two get their sending limits, and the
    new domain of one of them is served over XMPP although the other's domain was known."""
    limits = []

    class Store:
        def set_limits(self, values):
            limits.append(values)

    monkeypatch.setattr(DovecotBackend, "policy_store", lambda self: Store())
    backend.apply_account(NEWER)
    before = held(directory)
    limits.clear()
    out = {"forward_to": ("boss@elsewhere.test",), "forward_keep_copy": True}
    bob = state(address="bob@b.example", version=1, aliases=("bobby@b.example",), **out)
    cleo = state(address="cleo@a.example", version=2, daily_send_limit=40, **out)

    applied = backend.apply_accounts([OLDER, bob, cleo])

    assert applied == [bob, cleo]
    assert held(directory) == before
    assert held(directory, bob.address) == expected(bob)
    assert held(directory, cleo.address) == expected(cleo)
    assert limits == [{bob.address: 100, cleo.address: 40}]
    assert (directory.root / "xmpp-hosts.cfg.lua").read_text().splitlines()[1:] == [
        'VirtualHost "a.example"',
        'VirtualHost "b.example"',
    ]


def test_an_empty_batch_writes_and_tells_nothing(backend, directory):
    assert backend.apply_accounts([]) == []
    assert directory.query("SELECT address FROM mailbox") == []
    assert directory.doveadm_calls() == []


def test_a_removal_for_another_row_leaves_the_mailbox_and_is_logged(backend, directory, caplog):
    """The address was deleted and created again: the old row's removal (identity 7) finds the
    new row's mailbox (8) and touches nothing of it, not its mail, not its sessions."""
    backend.apply_account(state(version=1, identity=8, aliases=("sales@a.example",)))
    home = backend.home(ADDRESS)
    home.mkdir(parents=True)
    before = held(directory)
    directory.forget_calls()

    with caplog.at_level("INFO", logger="tempusmail.mailbackend.dovecot.backend"):
        backend.remove_account(ADDRESS, identity=7)

    assert held(directory) == before and directory.mailbox(ADDRESS)["active"] == 1
    assert home.exists() and directory.doveadm_calls() == []
    assert caplog.messages == [f"ignored removal of {ADDRESS} #7: held by #8"]


def test_a_mailbox_created_again_during_a_removal_stays(backend, directory, monkeypatch):
    """While the hosts purge the old row's mail, the address is created again and pushed: the
    removal's second transaction finds the new row and leaves it."""
    backend.apply_account(state(version=3, identity=7))
    newer = replace(NEWER, version=1, identity=8)
    tell_hosts = DovecotBackend.tell_hosts

    def pushed_meanwhile(self, addresses, **kwargs):
        tell_hosts(self, addresses, **kwargs)
        if kwargs.get("purge"):
            monkeypatch.undo()
            backend.apply_account(newer)

    monkeypatch.setattr(DovecotBackend, "tell_hosts", pushed_meanwhile)
    backend.remove_account(ADDRESS, identity=7)

    assert held(directory) == expected(newer)
    assert directory.mailbox(ADDRESS)["account_id"] == 8
