"""The production adapter: Dovecot (IMAP, POP3, LMTP, Sieve, SASL) and Postfix (SMTP).

Each push writes the account's full state into the *mail directory*, a SQL database owned by
the mail system that Dovecot's sql passdb/userdb and Postfix's sqlite/pgsql maps read
(deploy/ holds their configuration), plus a per-mailbox Sieve script for the autoresponder
and spam filing. Aliases and forwards are Postfix virtual alias rows: Postfix expands them
before delivery, so a forward works even when the mailbox is full and "keep a copy" is just
the mailbox itself among the targets; no message is re-injected by Sieve.

Pushes are idempotent upserts guarded by the version: a state older than the stored one is
ignored. ``doveadm`` flushes the auth cache after a change of password or access, kicks the
sessions of a deactivated mailbox, and reads quotas; removing an account deletes its mail
from disk.
"""

import contextlib
import imaplib
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from tempusmail.policy import store as policy_store

from ..base import AccountState, BackendError, DomainState, Usage
from .directory import Directory
from .rows import forward_targets, mailbox_row
from .schema import MAILBOX_COLUMNS, SCHEMA, SELECT_HELD, SELECT_MAILBOXES, UPSERT_MAILBOX

log = logging.getLogger(__name__)


class DovecotBackend:
    """Settings are read at each use: tests and tools may switch them in one process."""

    @property
    def url(self) -> str:
        return settings.MAIL_DIRECTORY_URL

    @property
    def root(self) -> Path:
        return Path(settings.MAIL_ROOT)

    # --- the mail directory ------------------------------------------------------------

    def connect(self, *, create: bool = False) -> Directory:
        return Directory(self.url, create=create)

    def init_directory(self) -> None:
        """Create the tables (and the SQLite file, readable by Dovecot and Postfix)."""
        with self.connect(create=True) as db:
            for statement in SCHEMA:
                db.execute(statement)
            if not db.sqlite:
                db.conn.commit()
            else:
                db.path.chmod(0o644)
        (self.root / "sieve").mkdir(parents=True, exist_ok=True)

    def apply_domain(self, state: DomainState) -> None:
        with self.connect() as db, db.transaction(state.name):
            db.execute(
                "INSERT INTO domain (name, active, version) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET active = excluded.active, "
                "version = excluded.version WHERE domain.version <= excluded.version",
                (state.name, int(state.active), state.version),
            )

    def remove_domain(self, name: str) -> None:
        with self.connect() as db, db.transaction(name):
            db.execute("DELETE FROM domain WHERE name = ?", (name,))

    def apply_account(self, state: AccountState) -> None:
        row = mailbox_row(state)
        targets = forward_targets(state)
        with self.connect() as db, db.transaction(state.address):
            held = db.execute(SELECT_HELD, (state.address,)).fetchone()
            if held is not None and held[0] > state.version:
                log.info("ignored stale push of %s v%s", state.address, state.version)
                return
            db.execute(UPSERT_MAILBOX, [row[c] for c in MAILBOX_COLUMNS])
            db.execute(
                "INSERT INTO domain (name, active, version) VALUES (?, 1, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (row["domain"],),
            )
            db.execute("DELETE FROM alias WHERE mailbox = ?", (state.address,))
            for alias in state.aliases:
                db.execute(
                    "INSERT INTO alias (address, mailbox) VALUES (?, ?) "
                    "ON CONFLICT (address) DO UPDATE SET mailbox = excluded.mailbox",
                    (alias, state.address),
                )
            db.execute("DELETE FROM forward WHERE address = ?", (state.address,))
            for target in targets:
                db.execute(
                    "INSERT INTO forward (address, target) VALUES (?, ?)",
                    (state.address, target),
                )
            # Inside the transaction: a concurrent older push cannot overwrite the file.
            self._write_sieve(state.address, row["sieve"])
        self._set_limit(state)
        if held is not None:
            # Every update flushes (not only a changed password or access): if a flush
            # failed, the retried push finds the row already written and must flush anyway.
            self.doveadm("auth", "cache", "flush", state.address)
        if held is not None and held[2] and not state.active:
            self.doveadm("kick", state.address, check=False)  # end open IMAP/POP3 sessions

    def remove_account(self, address: str) -> None:
        with self.connect() as db, db.transaction(address):
            db.execute("DELETE FROM mailbox WHERE address = ?", (address,))
            db.execute("DELETE FROM alias WHERE mailbox = ?", (address,))
            db.execute("DELETE FROM forward WHERE address = ?", (address,))
        self.doveadm("kick", address, check=False)  # no session: nothing to kick
        self.doveadm("auth", "cache", "flush", address)
        home = self.home(address)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(home)
        if home.exists():
            raise BackendError(f"could not purge {home}")
        with contextlib.suppress(FileNotFoundError):
            self.sieve_path(address).unlink()
        store = self.policy_store()
        if store is not None:
            store.clear(address)

    # --- files ---------------------------------------------------------------------------

    def home(self, address: str) -> Path:
        local, _at, domain = address.partition("@")
        return self.root / "mail" / domain / local

    def sieve_path(self, address: str) -> Path:
        local, _at, domain = address.partition("@")
        return self.root / "sieve" / domain / f"{local}.sieve"

    def _write_sieve(self, address: str, script: str) -> None:
        path = self.sieve_path(address)
        try:
            if path.exists() and path.read_text() == script:
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as handle:
                handle.write(script)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            raise BackendError(f"could not write the Sieve script: {exc}") from exc

    # --- doveadm, Redis ------------------------------------------------------------------

    def doveadm(self, *args: str, check: bool = True) -> str:
        """Run doveadm against our Dovecot; a Dovecot that is not running has no cache or
        session to act on, so that case is not an error."""
        config = settings.DOVECOT_CONFIG
        if config and not Path(config).exists():
            log.warning("DOVECOT_CONFIG %s does not exist: doveadm %s skipped", config, args[0])
            return ""
        cmd = [settings.DOVEADM, *(["-c", config] if config else []), *args]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"doveadm failed: {exc}") from exc
        if done.returncode != 0:
            err = done.stderr.strip()
            if "No such file or directory" in err or "Connection refused" in err:
                return ""
            if check:
                raise BackendError(f"doveadm {' '.join(args)} failed: {err}")
        return done.stdout

    def open_mailbox(self, address: str) -> imaplib.IMAP4:
        """An IMAP session on the user's own mailbox, pre-authenticated by running Dovecot's
        imap binary for that user (`doveadm exec imap -u`): imports write through Dovecot
        itself (quota, indexes, flags) without knowing the user's password."""
        config = settings.DOVECOT_CONFIG
        if config and not Path(config).exists():
            raise BackendError(f"DOVECOT_CONFIG {config} does not exist")
        cmd = [settings.DOVEADM, *(["-c", config] if config else []), "exec", "imap"]
        cmd += ["-u", address]
        try:
            session = imaplib.IMAP4_stream(shlex.join(cmd))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise BackendError(f"could not open the mailbox of {address}: {exc}") from exc
        if session.state != "AUTH":
            session.shutdown()
            raise BackendError(f"the mailbox of {address} did not open: {session.welcome!r}")
        return session

    def policy_store(self):
        """tempusmail.policy.store (sending limits and counters in Redis), if configured."""
        if not getattr(settings, "POLICY_REDIS_URL", ""):
            return None
        return policy_store

    def _set_limit(self, state: AccountState) -> None:
        store = self.policy_store()
        if store is None:
            return
        try:
            store.set_limit(state.address, state.daily_send_limit)
        except Exception as exc:
            raise BackendError(f"could not store the sending limit: {exc}") from exc

    # --- reading back --------------------------------------------------------------------

    def usage(self, addresses: list[str]) -> dict[str, Usage]:
        if not addresses:
            return {}
        storage = self._storage(addresses)
        logins = self._last_logins(set(addresses))
        sent: dict[str, int] = {}
        store = self.policy_store()
        if store is not None:
            try:
                sent = store.sent_24h(addresses)
            except Exception:  # noqa: BLE001 - the counters come back at the next run
                log.warning("could not read the sending counters", exc_info=True)
        return {
            a: Usage(
                storage_bytes=storage.get(a, 0), last_login=logins.get(a), sent_24h=sent.get(a, 0)
            )
            for a in addresses
        }

    def _storage(self, addresses: list[str]) -> dict[str, int]:
        """Bytes used per mailbox, from Dovecot's quota (one doveadm run per batch; the
        STORAGE value is in kilobytes)."""
        with tempfile.NamedTemporaryFile("w", suffix=".users") as users:
            users.write("\n".join(addresses) + "\n")
            users.flush()
            out = self.doveadm("-f", "tab", "quota", "get", "-F", users.name, check=False)
        result: dict[str, int] = {}
        lines = out.splitlines()
        if not lines:
            return result
        header = [name.lower() for name in lines[0].split("\t")]
        for line in lines[1:]:
            values = dict(zip(header, line.split("\t"), strict=False))
            if values.get("type") == "STORAGE" and values.get("username"):
                with contextlib.suppress(ValueError):
                    result[values["username"]] = int(values["value"]) * 1024
        return result

    def _last_logins(self, wanted: set[str]) -> dict[str, datetime]:
        """The last_login plugin's file dict: alternating key and value lines."""
        path = self.root / "state" / "last-login.dict"
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return {}
        result = {}
        for key, value in zip(lines[::2], lines[1::2], strict=False):
            address = key.rsplit("/", 1)[-1]
            if address in wanted:
                with contextlib.suppress(ValueError):
                    result[address] = datetime.fromtimestamp(int(value), tz=UTC)
        return result

    def held(self, db: Directory) -> dict[str, dict]:
        """What the mail directory holds for every mailbox (for verify_backend)."""
        rows = db.execute(SELECT_MAILBOXES).fetchall()
        held = {r[0]: dict(zip(MAILBOX_COLUMNS, r, strict=True)) for r in rows}
        for row in held.values():
            row["aliases"], row["forwards"] = [], []
        for address, mailbox in db.execute("SELECT address, mailbox FROM alias").fetchall():
            if mailbox in held:
                held[mailbox]["aliases"].append(address)
        for address, target in db.execute("SELECT address, target FROM forward").fetchall():
            if address in held:
                held[address]["forwards"].append(target)
        for row in held.values():
            row["aliases"].sort()
            row["forwards"].sort()
        return held
