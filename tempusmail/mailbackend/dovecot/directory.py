"""A connection to the mail directory with the one transaction shape every push uses."""

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from ..base import BackendError


def sqlite_path(url: str) -> Path:
    """The file of a sqlite:///abs/path URL (four slashes: an absolute path)."""
    path = unquote(urlsplit(url).path)
    return Path(path[1:] if path.startswith("//") else path)


class Directory:
    """A connection to the mail directory: SQLite (one host) or PostgreSQL (several).

    SQLite runs in WAL mode, so Postfix and Dovecot (readers, which have no busy timeout in
    Postfix's case) never find the file locked by a push. Its -wal and -shm files must stay
    next to the database: the servers open it read-only and may not create them. SQLite
    deletes them when the last read-write connection closes, unless another connection of
    the process still holds the file: every read-write connection here is therefore paired
    with a read-only *anchor* opened before it and closed after it (a read-only connection
    never removes them)."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.sqlite = urlsplit(url).scheme == "sqlite"
        self.anchor: sqlite3.Connection | None = None
        try:
            if self.sqlite:
                self.path = sqlite_path(url)
                if create:
                    self.conn = self._open("rwc")
                    self.conn.execute("PRAGMA journal_mode=WAL")
                else:  # a missing file is an outage, not a reset: never create it here
                    self.anchor = self._open("ro")
                    self.anchor.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
                    self.conn = self._open("rw")
            else:
                self.conn = psycopg.connect(
                    url.replace("pgsql://", "postgres://"), connect_timeout=5
                )
        except Exception as exc:
            self.close()
            raise BackendError(f"mail directory unavailable: {exc}") from exc

    def _open(self, mode: str) -> sqlite3.Connection:
        return sqlite3.connect(
            f"file:{self.path}?mode={mode}", uri=True, timeout=30, isolation_level=None
        )

    def sql(self, query: str) -> str:
        return query if self.sqlite else query.replace("?", "%s")

    def execute(self, query: str, params: tuple | list = ()):
        return self.conn.execute(self.sql(query), params)

    @contextlib.contextmanager
    def transaction(self, *lock_keys: str):
        """BEGIN IMMEDIATE on SQLite (one writer at a time); on PostgreSQL an advisory lock
        per key (an address or a domain name), serializing pushes of one name across hosts
        and workers. A batch takes its locks in the order of their numbers, as every other
        batch does, so two batches sharing names cannot deadlock."""
        try:
            if self.sqlite:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
                # Keep the WAL short: the servers read it without shared memory (they may not
                # write the -shm file), which costs time in proportion to the WAL's length.
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            else:
                with self.conn.transaction():
                    if lock_keys := [key for key in lock_keys if key]:
                        self.execute(
                            "SELECT pg_advisory_xact_lock(h) FROM unnest(ARRAY("
                            "SELECT DISTINCT hashtext(k) FROM unnest(?::text[]) k ORDER BY 1"
                            ")) h",
                            (lock_keys,),
                        )
                    yield self
        except BackendError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise BackendError(f"mail directory unavailable: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg"):
                raise BackendError(f"mail directory unavailable: {exc}") from exc
            raise

    def close(self) -> None:
        for conn in (getattr(self, "conn", None), self.anchor):  # the anchor last
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
