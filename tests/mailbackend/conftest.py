"""The Dovecot adapter against a real SQLite mail directory in a temporary folder, without
servers or root: doveadm is a stand-in script that records its arguments (and fails when told
to), so the version guards, flushes and kicks are observable."""

import sqlite3
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tempusmail.mailbackend.dovecot import DovecotBackend
from tempusmail.mailbackend.dovecot import backend as backend_module

FAKE_DOVEADM = """#!/bin/sh
echo "$@" >> {log}
if [ -e {fail} ]; then echo "doveadm: Fatal: told to fail" >&2; exit 75; fi
exit 0
"""


@dataclass
class Directory:
    path: Path
    root: Path
    doveadm_log: Path
    doveadm_fail: Path

    def query(self, sql: str, params=()) -> list[tuple]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql, params).fetchall()

    def mailbox(self, address: str) -> dict | None:
        with sqlite3.connect(self.path) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM mailbox WHERE address = ?", (address,)).fetchone()
        return dict(row) if row else None

    def domain(self, name: str) -> tuple | None:
        rows = self.query("SELECT active, version FROM domain WHERE name = ?", (name,))
        return rows[0] if rows else None

    def aliases(self, address: str) -> list[str]:
        rows = self.query("SELECT address FROM alias WHERE mailbox = ? ORDER BY 1", (address,))
        return [r[0] for r in rows]

    def forwards(self, address: str) -> list[str]:
        rows = self.query("SELECT target FROM forward WHERE address = ? ORDER BY 1", (address,))
        return [r[0] for r in rows]

    def sieve(self, address: str) -> str | None:
        """The script every host's Pigeonhole reads (deploy/dovecot's SQL dict: name, id)."""
        rows = self.query(
            "SELECT n.id, d.script_data FROM sieve_script n JOIN sieve_script d "
            "ON d.username = n.username AND d.id = n.id "
            "WHERE n.username = ? AND n.name = 'active'",
            (address,),
        )
        return rows[0][1] if rows else None

    def doveadm_calls(self) -> list[str]:
        if not self.doveadm_log.exists():
            return []
        # "-c CONFIG" comes first on every call: keep what follows it.
        return [line.split(" ", 2)[2] for line in self.doveadm_log.read_text().splitlines()]

    def forget_calls(self) -> None:
        self.doveadm_log.unlink(missing_ok=True)


@pytest.fixture
def directory(settings, tmp_path) -> Directory:
    """settings point the Dovecot adapter at a fresh SQLite directory and DKIM key folder; no
    sending limits (no policy Redis) unless a test sets POLICY_REDIS_URL itself."""
    root = tmp_path / "mail"
    config = tmp_path / "dovecot.conf"
    config.write_text("# doveadm is a stand-in: nothing reads this\n")
    doveadm = tmp_path / "doveadm"
    log, fail = tmp_path / "doveadm.log", tmp_path / "doveadm.fail"
    doveadm.write_text(FAKE_DOVEADM.format(log=log, fail=fail))
    doveadm.chmod(doveadm.stat().st_mode | stat.S_IXUSR)
    settings.MAIL_BACKEND = "dovecot"
    settings.MAIL_ROOT = root
    settings.MAIL_DIRECTORY_URL = f"sqlite:///{root}/directory.db"
    settings.DOVEADM = str(doveadm)
    settings.DOVECOT_CONFIG = str(config)
    settings.POLICY_REDIS_URL = ""
    # DKIM keys in this test's folder too (the default is MAIL_ROOT/dkim as the settings were
    # loaded: the working tree's var/), without a group to hand them to.
    settings.DKIM_KEY_DIR = root / "dkim"
    settings.DKIM_KEY_GROUP = ""
    root.mkdir()
    DovecotBackend().init_directory()
    return Directory(path=root / "directory.db", root=root, doveadm_log=log, doveadm_fail=fail)


@dataclass
class Race:
    """Two pushes at once, as two workers make them: the thread named "newer" stops inside its
    directory transaction (its rows written, not committed) until `release` is set."""

    inside: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)

    def thread(self, name: str, states: list) -> threading.Thread:
        def push() -> None:
            try:
                DovecotBackend().apply_accounts(states)
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)

        return threading.Thread(target=push, name=name)


@pytest.fixture
def race(monkeypatch) -> Race:
    race = Race()
    storage_host = backend_module.storage_host

    def held_inside(address):  # asked after the row is written, before the commit
        if threading.current_thread().name == "newer":
            race.inside.set()
            assert race.release.wait(30)
        return storage_host(address)

    monkeypatch.setattr(backend_module, "storage_host", held_inside)
    return race
