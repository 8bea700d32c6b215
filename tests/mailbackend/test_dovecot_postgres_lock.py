"""The Dovecot adapter on a PostgreSQL mail directory (several hosts and workers share it):
pushes of one address are serialized by an advisory lock taken first in the transaction, so
an older push that starts while a newer one is being written waits for it and then finds its
version. A scratch database on the test PostgreSQL, no mail servers."""

import os
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tempusmail.mailbackend.dovecot import DovecotBackend
from tests.conftest import need, wait_until
from tests.mailbackend.test_dovecot_backend import ADDRESS, NEWER, OLDER, mailbox_row


@pytest.fixture
def pg_directory(settings, tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    need(url.startswith("postgres"), "PostgreSQL is not configured (DATABASE_URL)")
    name = f"tm_directory_{os.getpid()}"
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    directory_url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    settings.MAIL_BACKEND = "dovecot"
    settings.MAIL_ROOT = tmp_path / "mail"
    settings.MAIL_DIRECTORY_URL = directory_url
    settings.DOVECOT_CONFIG = str(tmp_path / "missing.conf")  # doveadm skipped
    settings.DKIM_KEY_DIR = tmp_path / "dkim"
    settings.DKIM_KEY_GROUP = ""
    settings.POLICY_REDIS_URL = ""
    DovecotBackend().init_directory()
    yield directory_url
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def waiting_on_an_advisory_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        ).fetchone()
    return row[0] > 0


BOB = replace(OLDER, address="bob@a.example", aliases=("bobby@a.example",))


@pytest.mark.parametrize(
    "older_push",
    [[OLDER], [BOB, OLDER]],  # alone, or in a batch that locks another address first
    ids=["alone", "in a batch"],
)
def test_an_older_push_waits_for_the_newer_one_and_changes_nothing(pg_directory, race, older_push):
    newer = race.thread("newer", [NEWER])
    older = race.thread("older", older_push)
    newer.start()
    try:
        assert race.inside.wait(30), "the newer push never reached its transaction"
        older.start()
        wait_until(
            lambda: waiting_on_an_advisory_lock(pg_directory),
            timeout=20,
            what="the older push to wait on the address's lock",
        )
        assert older.is_alive()
    finally:
        race.release.set()
        newer.join(30)
        if older.ident is not None:
            older.join(30)

    assert race.errors == []
    with psycopg.connect(pg_directory) as conn:
        conn.row_factory = psycopg.rows.dict_row
        row = conn.execute("SELECT * FROM mailbox WHERE address = %s", (ADDRESS,)).fetchone()
        aliases = conn.execute(
            "SELECT address FROM alias WHERE mailbox = %s ORDER BY 1", (ADDRESS,)
        ).fetchall()
        others = conn.execute(
            "SELECT address FROM mailbox WHERE address <> %s ORDER BY 1", (ADDRESS,)
        ).fetchall()
    want = mailbox_row(NEWER)
    assert (row["version"], row["quota_bytes"], row["sieve"]) == (
        want["version"],
        want["quota_bytes"],
        want["sieve"],
    )
    assert [a["address"] for a in aliases] == sorted(NEWER.aliases)
    # The batch's other mailbox is written once the lock is free.
    assert [o["address"] for o in others] == [s.address for s in older_push if s != OLDER]
