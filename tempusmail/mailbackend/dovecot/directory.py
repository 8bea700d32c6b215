"""A connection to the mail directory with the one transaction shape every push uses."""

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from ..base import BackendError


class Directory:
    """A connection to the mail directory: SQLite (one host) or PostgreSQL (several)."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        parts = urlsplit(url)
        self.sqlite = parts.scheme == "sqlite"
        try:
            if self.sqlite:
                path = unquote(parts.path)
                path = path[1:] if path.startswith("//") else path
                mode = "rwc" if create else "rw"  # a missing file is an outage, not a reset
                self.conn = sqlite3.connect(
                    f"file:{path}?mode={mode}", uri=True, timeout=30, isolation_level=None
                )
                self.path = Path(path)
            else:
                self.conn = psycopg.connect(
                    url.replace("pgsql://", "postgres://"), connect_timeout=5
                )
        except Exception as exc:
            raise BackendError(f"mail directory unavailable: {exc}") from exc

    def sql(self, query: str) -> str:
        return query if self.sqlite else query.replace("?", "%s")

    def execute(self, query: str, params: tuple | list = ()):
        return self.conn.execute(self.sql(query), params)

    @contextlib.contextmanager
    def transaction(self, lock_key: str = ""):
        try:
            if self.sqlite:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
            else:
                with self.conn.transaction():
                    if lock_key:  # serialize pushes of one address across hosts and workers
                        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (lock_key,))
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
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
