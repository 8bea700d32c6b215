"""The production adapter: Dovecot (IMAP, POP3, LMTP, Sieve, SASL) and Postfix (SMTP).

Each push writes the account's full state into the *mail directory*, a SQL database owned by
the mail system that Dovecot's sql passdb/userdb and Postfix's sqlite/pgsql maps read
(deploy/ holds their configuration), the per-mailbox Sieve script for the autoresponder and
spam filing included (every host's Pigeonhole reads it through a SQL dict). Aliases and
forwards are Postfix virtual alias rows: Postfix expands them before delivery, so a forward
works even when the mailbox is full and "keep a copy" is just the mailbox itself among the
targets; no message is re-injected by Sieve.

Pushes are idempotent upserts guarded by the version: a state older than the stored one is
ignored. Dovecot runs without an auth cache (deploy/dovecot), so a change is in effect for
the next login or delivery as soon as its transaction commits, whatever fails afterwards.
Then every mail host is told over its doveadm HTTP API (doveadm.py; the local binary when no
host is configured): it flushes the user's auth cache entry, kicks the sessions of a
deactivated mailbox, reads quotas, and deletes a removed account's mail. A host that does not
answer leaves the account Updating with that host named in its error; the retry, or the
reconciler's, catches it up.
"""

import contextlib
import imaplib
import logging
import shlex
import shutil
import socket
from datetime import UTC, date, datetime
from pathlib import Path

from django.conf import settings

from tempusmail.policy import store as policy_store

from ..base import (
    AccountState,
    BackendError,
    DkimKey,
    DomainState,
    GroupState,
    Usage,
    is_stale,
    removes,
)
from .directory import Directory
from .dkim import KeyStore, checked_keys
from .doveadm import HostError, LocalHost, configured_hosts, on_every_host, storage_host
from .rows import forward_targets, mailbox_row
from .schema import (
    ADDED_COLUMNS,
    MAILBOX_COLUMNS,
    SCHEMA,
    SELECT_HELD,
    SELECT_MAILBOXES,
    SIEVE_VIEW,
    UPSERT_MAILBOX,
)
from .xmpp import HOSTS_FILE, close_sessions, write_hosts

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
            self._add_columns(db)
            if db.sqlite:
                db.execute(f"CREATE VIEW IF NOT EXISTS {SIEVE_VIEW}")
            else:
                db.execute(f"CREATE OR REPLACE VIEW {SIEVE_VIEW}")
            if not db.sqlite:
                db.conn.commit()
            else:
                db.path.chmod(0o644)
            self._write_xmpp_hosts(db)

    def _add_columns(self, db: Directory) -> None:
        """Bring a mailbox table created by an older release up to MAILBOX_COLUMNS."""
        if db.sqlite:
            held = {row[1] for row in db.execute("PRAGMA table_info(mailbox)").fetchall()}
        else:
            held = {
                row[0]
                for row in db.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'mailbox' AND table_schema = current_schema()"
                ).fetchall()
            }
        for name, definition in ADDED_COLUMNS.items():
            if name not in held:  # constant names and types, never input
                db.execute(f"ALTER TABLE mailbox ADD COLUMN {name} {definition}")

    def _write_xmpp_hosts(self, db: Directory) -> None:
        """The XMPP server serves the active domains (deploy/prosody reads this file)."""
        names = [r[0] for r in db.execute("SELECT name FROM domain WHERE active = 1").fetchall()]
        write_hosts(self.root / HOSTS_FILE, names)

    def apply_domain(self, state: DomainState) -> None:
        keys = checked_keys(state.name, state.dkim_keys)
        with self.connect() as db, db.transaction(state.name):
            held = db.execute("SELECT version FROM domain WHERE name = ?", (state.name,))
            held = held.fetchone()
            if held is not None and held[0] > state.version:
                log.info("ignored stale push of domain %s v%s", state.name, state.version)
                return
            db.execute(
                "INSERT INTO domain (name, active, version) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET active = excluded.active, "
                "version = excluded.version WHERE domain.version <= excluded.version",
                (state.name, int(state.active), state.version),
            )
            # Inside the transaction: a concurrent older push cannot overwrite the files.
            self._apply_dkim(db, state.name, keys)
            self._write_xmpp_hosts(db)
            self._write_default_aliases(db, state)
        self._write_selector_map()

    def _write_default_aliases(self, db: Directory, state: DomainState) -> None:
        db.execute("DELETE FROM domain_alias WHERE domain = ?", (state.name,))
        for address, target in state.default_aliases:
            db.execute(
                "INSERT INTO domain_alias (address, domain, target) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET domain = excluded.domain, "
                "target = excluded.target",
                (address, state.name, target),
            )

    def remove_domain(self, name: str) -> None:
        with self.connect() as db, db.transaction(name):
            db.execute("DELETE FROM domain WHERE name = ?", (name,))
            self._apply_dkim(db, name, ())
            self._write_xmpp_hosts(db)
            db.execute("DELETE FROM domain_alias WHERE domain = ?", (name,))
        self._write_selector_map()

    # --- DKIM keys for rspamd (dkim.py) ----------------------------------------------------

    @property
    def dkim(self) -> KeyStore:
        return KeyStore(settings.DKIM_KEY_DIR, settings.DKIM_KEY_GROUP)

    def _apply_dkim(self, db: Directory, domain: str, keys: tuple[DkimKey, ...]) -> None:
        """The domain's key files and rows become exactly `keys`; retired ones are deleted."""
        rows = db.execute("SELECT selector FROM dkim_key WHERE domain = ?", (domain,))
        held = {row[0] for row in rows.fetchall()}
        db.execute("DELETE FROM dkim_key WHERE domain = ?", (domain,))
        store = self.dkim
        for key in keys:
            store.write(domain, key)
            db.execute(
                "INSERT INTO dkim_key (domain, selector, active) VALUES (?, ?, ?)",
                (domain, key.selector, int(key.active)),
            )
        for selector in held - {key.selector for key in keys}:
            store.remove(domain, selector)

    def _write_selector_map(self) -> None:
        """Rewritten from the committed rows under a lock, so concurrent pushes of different
        domains cannot lose each other's line."""
        store = self.dkim
        if not store.has_map() and not self._active_selectors():
            return  # no DKIM in use: nothing to tell the filter (no group needed either)
        with store.map_lock():
            store.write_map(self._active_selectors())

    def _active_selectors(self) -> list[tuple[str, str]]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT k.domain, k.selector FROM dkim_key k JOIN domain d ON d.name = k.domain "
                "WHERE k.active = 1 AND d.active = 1"
            ).fetchall()
        return [(domain, selector) for domain, selector in rows]

    def apply_account(self, state: AccountState) -> None:
        self.apply_accounts([state])

    def apply_accounts(self, states: list[AccountState]) -> list[AccountState]:
        """One directory transaction for the batch (each address locked, in one order), each
        state written unless older than the row held; then every host is told once."""
        if not states:
            return []
        rows = [(state, mailbox_row(state), forward_targets(state)) for state in states]
        applied: list[AccountState] = []
        with self.connect() as db, db.transaction(*(state.address for state in states)):
            domains: set[str] = set()
            for state, row, targets in rows:
                if self._write_account(db, state, row, targets):
                    applied.append(state)
                    domains.add(row["domain"])
            # A batch is mostly one domain: each distinct one is asked for once.
            if [name for name in sorted(domains) if self._add_domain(db, name)]:
                self._write_xmpp_hosts(db)
        # The directory is committed: logins and deliveries follow it from now on. What comes
        # after may fail (a mail host or Redis down) and is retried; the accounts stay
        # Updating until then, their error naming the host that lags.
        self.tell_hosts(  # kick: end the IMAP/POP3 sessions of deactivated mailboxes
            [s.address for s in applied], kick=[s.address for s in applied if not s.active]
        )
        close_sessions([s.address for s in applied if not s.active or "xmpp" not in s.services])
        self._set_limits(applied)
        return applied

    @staticmethod
    def _write_account(db: Directory, state: AccountState, row: dict, targets: list[str]) -> bool:
        """Write one mailbox's rows; False (nothing written) for a stale state."""
        held = db.execute(SELECT_HELD, (state.address,)).fetchone()
        if held is not None and is_stale(
            held=(held[1], held[0]), pushed=(state.identity, state.version)
        ):
            log.info(
                "ignored stale push of %s #%s v%s", state.address, state.identity, state.version
            )
            return False
        db.execute(UPSERT_MAILBOX, [row[c] for c in MAILBOX_COLUMNS])
        home = storage_host(state.address)
        if home:  # a new mailbox gets its host; one that has a host keeps it
            db.execute(
                "UPDATE mailbox SET host = ? WHERE address = ? AND host = ''",
                (home, state.address),
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
                "INSERT INTO forward (address, target) VALUES (?, ?)", (state.address, target)
            )
        return True

    @staticmethod
    def _add_domain(db: Directory, name: str) -> bool:
        """A mailbox's domain exists in the directory (active until its own push says not)."""
        return bool(
            db.execute(
                "INSERT INTO domain (name, active, version) VALUES (?, 1, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            ).rowcount
        )

    def remove_account(self, address: str, *, identity: int = 0) -> None:
        """Every host kicks the user and deletes its mail (asked while the directory still
        names the user's home), then the rows go; until every host did, the account stays
        in deletion and the push is retried. A removal made for an older row of an address
        deleted and created again (a stale push) touches nothing: the mailbox, its mail and
        its limits are the new row's."""
        with self.connect() as db, db.transaction(address):  # no new logins meanwhile
            if not self._removes(db, address, identity):
                return
            db.execute("UPDATE mailbox SET active = 0 WHERE address = ?", (address,))
        self.tell_hosts([address], kick=[address], purge=[address])
        close_sessions([address])
        with self.connect() as db, db.transaction(address):
            if not self._removes(db, address, identity):
                return
            db.execute("DELETE FROM mailbox WHERE address = ?", (address,))
            db.execute("DELETE FROM alias WHERE mailbox = ?", (address,))
            db.execute("DELETE FROM forward WHERE address = ?", (address,))
        if any(isinstance(host, LocalHost) for host in self.hosts()):
            home = self.home(address)  # the mail is on this machine: deleted here
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(home)
            if home.exists():
                raise BackendError(f"could not purge {home}")
        store = self.policy_store()
        if store is not None:
            store.clear(address)

    @staticmethod
    def _removes(db: Directory, address: str, identity: int) -> bool:
        held = db.execute("SELECT account_id FROM mailbox WHERE address = ?", (address,)).fetchone()
        if held is not None and not removes(held_identity=held[0], identity=identity):
            log.info("ignored removal of %s #%s: held by #%s", address, identity, held[0])
            return False
        return True

    # --- groups: Postfix virtual alias rows, one per active member -----------------------

    def apply_group(self, state: GroupState) -> None:
        with self.connect() as db, db.transaction(state.address):
            held = db.execute(
                "SELECT version FROM mailgroup WHERE address = ?", (state.address,)
            ).fetchone()
            if held is not None and held[0] > state.version:
                log.info("ignored stale push of group %s v%s", state.address, state.version)
                return
            if db.execute("SELECT 1 FROM mailbox WHERE address = ?", (state.address,)).fetchone():
                raise BackendError(f"{state.address} is a mailbox, not a group")
            db.execute(
                "INSERT INTO mailgroup (address, version) VALUES (?, ?) "
                "ON CONFLICT (address) DO UPDATE SET version = excluded.version",
                (state.address, state.version),
            )
            db.execute("DELETE FROM forward WHERE address = ?", (state.address,))
            for member in sorted(set(state.members)):
                db.execute(
                    "INSERT INTO forward (address, target) VALUES (?, ?)", (state.address, member)
                )

    def remove_group(self, address: str) -> None:
        with self.connect() as db, db.transaction(address):
            if db.execute("SELECT 1 FROM mailgroup WHERE address = ?", (address,)).fetchone():
                # A mailbox created since on the same address keeps its own forwards.
                db.execute(
                    "DELETE FROM forward WHERE address = ? AND NOT EXISTS "
                    "(SELECT 1 FROM mailbox WHERE address = ?)",
                    (address, address),
                )
                db.execute("DELETE FROM mailgroup WHERE address = ?", (address,))

    # --- files ---------------------------------------------------------------------------

    def home(self, address: str) -> Path:
        local, _at, domain = address.partition("@")
        return self.root / "mail" / domain / local

    # --- the mail hosts (doveadm.py), Redis ---------------------------------------------

    def hosts(self) -> list:
        return configured_hosts()

    def tell_hosts(
        self, addresses: list[str], *, kick: list[str] = (), purge: list[str] = ()
    ) -> None:
        """Every mail host flushes the users' auth cache entries in one request (and kicks the
        sessions of `kick`, and deletes the mail of `purge`), all hosts at once; each host is
        asked even when another failed. A host that failed is named in the error and in its
        details ({"hosts": {name: reason}})."""
        if not addresses:
            return

        def tell(host) -> None:
            host.flush(addresses)
            for address in kick:
                host.kick(address)
            for address in purge:
                host.purge(address)

        failed = {name: str(exc) for name, exc in on_every_host(self.hosts(), tell).items()}
        if failed:
            names = ", ".join(sorted(failed))
            reasons = "; ".join(f"{name} {reason}" for name, reason in sorted(failed.items()))
            raise BackendError(
                f"mail host {names} not updated yet: {reasons}", details={"hosts": failed}
            )

    def doveadm(self, *args: str, check: bool = True) -> str:
        """Run the local doveadm binary (the checks and imports that run on a mail host);
        a Dovecot that is not running is not an error."""
        try:
            return LocalHost().run(*args, check=check)
        except HostError as exc:
            raise BackendError(exc.message) from exc

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

    def _set_limits(self, states: list[AccountState]) -> None:
        store = self.policy_store()
        if store is None or not states:
            return
        try:
            store.set_limits({state.address: state.daily_send_limit for state in states})
        except Exception as exc:
            raise BackendError(f"could not store the sending limit: {exc}") from exc

    # --- reading back --------------------------------------------------------------------

    def usage(self, addresses: list[str]) -> dict[str, Usage]:
        if not addresses:
            return {}
        storage = self._storage(addresses)
        logins = self._last_logins(set(addresses))
        sent: dict[str, int] | None = {}
        store = self.policy_store()
        if store is not None:
            try:
                sent = store.sent_24h(addresses)
            except Exception:  # noqa: BLE001 - the counters come back at the next run
                log.warning("could not read the sending counters", exc_info=True)
                sent = None
        # A value that could not be read is None (unknown), never 0: the panel keeps the last
        # one it knew instead of showing every mailbox empty after one failed read.
        return {
            a: Usage(
                storage_bytes=storage.get(a),
                last_login=logins.get(a),
                sent_24h=sent.get(a, 0) if sent is not None else None,
            )
            for a in addresses
        }

    def sent_per_day(
        self, domains: list[str], days: list[date]
    ) -> dict[tuple[str, date], int] | None:
        store = self.policy_store()
        if store is None:
            return {}
        try:
            return store.sent_per_day(domains, days)
        except Exception:  # noqa: BLE001 - read again at the next run
            log.warning("could not read the daily sending counters", exc_info=True)
            return None

    def _storage(self, addresses: list[str]) -> dict[str, int]:
        """Bytes used per mailbox, summed over the mail hosts (a mailbox's mail lives on one
        of them). A mailbox no host answered for is left out; if any host could not be read,
        none is known this time (a partial sum would look like lost mail)."""
        parts: dict[str, dict[str, int]] = {}

        def read(host) -> None:
            parts[host.name] = host.storage(addresses)

        failed = on_every_host(self.hosts(), read)
        if failed:
            log.warning(
                "could not read quotas: %s", "; ".join(f"{n} {e}" for n, e in failed.items())
            )
            return {}
        result: dict[str, int] = {}
        for part in parts.values():
            for address, used in part.items():
                result[address] = result.get(address, 0) + used
        return result

    def _last_logins(self, wanted: set[str]) -> dict[str, datetime]:
        """The last_login plugin's records: in the Redis the hosts share (deploy/render.py
        LAST_LOGIN_REDIS_URL: the policy Redis, keys last-login/ADDRESS) and in this host's
        file dict (one host: alternating key and value lines); the later one wins."""
        stamps: dict[str, int] = {}
        path = self.root / "state" / "last-login.dict"
        try:
            lines = path.read_text().splitlines()
        except OSError:
            lines = []
        for key, value in zip(lines[::2], lines[1::2], strict=False):
            address = key.rsplit("/", 1)[-1]
            if address in wanted:
                with contextlib.suppress(ValueError):
                    stamps[address] = int(value)
        store = self.policy_store()
        if store is not None and wanted:
            ordered = sorted(wanted)
            try:
                values = store.client().mget([f"last-login/{a}" for a in ordered])
            except Exception:  # noqa: BLE001 - read again at the next run
                log.warning("could not read last logins from Redis", exc_info=True)
                values = [None] * len(ordered)
            for address, value in zip(ordered, values, strict=True):
                with contextlib.suppress(TypeError, ValueError):
                    stamps[address] = max(stamps.get(address, 0), int(value))
        return {a: datetime.fromtimestamp(s, tz=UTC) for a, s in stamps.items()}

    def served(self, addresses: list[str]) -> dict[str, dict]:
        """What the *running* Dovecot answers for each mailbox, asked over its auth-master
        socket exactly as IMAP, POP3, SMTP AUTH and LMTP ask: the userdb quota rule (None: no
        such user) and the protocols whose passdb lookup finds the account. Unlike reading
        the rows, this notices a directory the servers cannot read (for verify_backend)."""
        base_dir = self.doveadm("config", "-h", "base_dir").strip()
        if not base_dir:
            raise BackendError("Dovecot is not running or its configuration is missing")
        requests = []
        for address in addresses:
            requests.append(("USER", address, "doveadm"))
            requests += [("PASS", address, service) for service in ("imap", "pop3", "smtp")]
        try:
            answers = auth_master_lookups(Path(base_dir) / "auth-master", requests)
        except OSError as exc:
            raise BackendError(f"Dovecot's auth service did not answer: {exc}") from exc
        result = {a: {"quota_rule": None, "services": set()} for a in addresses}
        for (kind, address, service), (status, fields) in zip(requests, answers, strict=True):
            if status == "FAIL":
                raise BackendError(f"Dovecot could not look up {address}: {fields.get('reason')}")
            if status == "NOTFOUND":
                continue
            if kind == "USER":
                result[address]["quota_rule"] = fields.get("quota_rule", "")
            else:
                result[address]["services"].add(service)
        return result

    def held(self, db: Directory) -> dict[str, dict]:
        """What the mail directory holds for every mailbox (for verify_backend)."""
        rows = db.execute(SELECT_MAILBOXES).fetchall()
        held = {r[0]: dict(zip(MAILBOX_COLUMNS, r, strict=True)) for r in rows}
        for row in held.values():
            row["aliases"], row["forwards"], row["served_sieve"] = [], [], None
        try:  # what Pigeonhole reads (deploy/dovecot's SQL dict): the view over the rows
            served = db.execute(
                "SELECT username, script_data FROM sieve_script WHERE name = 'active'"
            ).fetchall()
        except Exception as exc:  # noqa: BLE001 - sqlite3 or psycopg: the view is missing
            raise BackendError(
                f"the mail directory has no Sieve view ({exc}): "
                "run python -m tempusmail.mailbackend.dovecot init"
            ) from exc
        for address, script in served:
            if address in held:
                held[address]["served_sieve"] = script
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


def auth_master_lookups(
    socket_path: Path, requests: list[tuple[str, str, str]], *, timeout: float = 30
) -> list[tuple[str, dict]]:
    """Lookups on Dovecot's auth-master socket, pipelined in chunks (so neither side blocks
    on a full socket buffer): (USER|PASS, user, service) in, (USER|PASS|NOTFOUND|FAIL,
    fields) out, in the order asked."""
    answers: dict[int, tuple[str, dict]] = {}
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        stream = sock.makefile("rwb")
        stream.write(b"VERSION\t1\t0\n")
        for first in range(0, len(requests), 200):
            chunk = requests[first : first + 200]
            for number, (kind, user, service) in enumerate(chunk, first + 1):
                clean = user.replace("\t", " ").replace("\n", " ")
                stream.write(f"{kind}\t{number}\t{clean}\tservice={service}\n".encode())
            stream.flush()
            while len(answers) < first + len(chunk):
                line = stream.readline()
                if not line:
                    raise OSError("connection closed")
                text = line.decode(errors="replace").rstrip("\n")
                status, _tab, rest = text.partition("\t")
                if status not in ("USER", "PASS", "NOTFOUND", "FAIL"):
                    continue  # VERSION, SPID
                number, _tab, rest = rest.partition("\t")
                fields = dict(item.partition("=")[::2] for item in rest.split("\t"))
                answers[int(number)] = (status, fields)
    return [answers[number] for number in range(1, len(requests) + 1)]
