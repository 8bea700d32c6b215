"""The same templates with the mail directory in PostgreSQL (several mail hosts): Dovecot's
pgsql driver and Postfix's pgsql maps read what the adapter writes."""

import smtplib
import socket
import uuid

import psycopg
import pytest
from django.contrib.auth.hashers import make_password

from tempusmail.mailbackend import AccountState
from tempusmail.mailbackend.dovecot import DovecotBackend
from tests.conftest import PASSWORD, need
from tests.states import account_state

from .conftest import imap_ok, pop_ok, run_stack, send, wait_subject

pytestmark = pytest.mark.mailstack
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def pg_stack():
    need(reachable(), "PostgreSQL on 127.0.0.1:5432")
    name = f"tm_maildir_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with run_stack(f"postgres://postgres@127.0.0.1:5432/{name}") as stack:
            yield stack
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def state(address: str, version: int = 1, **changes) -> AccountState:
    return account_state(address, version, password_hash=make_password(PASSWORD), **changes)


def test_postgres_directory_logins_delivery_and_stale_push(pg_stack, settings):
    for key, value in pg_stack.env.items():
        setattr(settings, key, value)
    assert pg_stack.env["MAIL_DIRECTORY_URL"].startswith("postgres://")
    backend = DovecotBackend()
    backend.apply_account(state("pg1@pg.example", aliases=("info@pg.example",)))
    backend.apply_account(state("pg2@pg.example", services=frozenset({"imap"})))
    assert imap_ok(pg_stack, "pg1@pg.example")
    assert not imap_ok(pg_stack, "pg1@pg.example", "Wrong-Password-1")
    assert not pop_ok(pg_stack, "pg2@pg.example")
    send(pg_stack, "someone@outside.test", "info@pg.example", "via alias")
    wait_subject(pg_stack, "pg1@pg.example", "via alias")

    backend.apply_account(
        state("pg1@pg.example", version=3, reject_all=True, reject_message="Gone fishing.")
    )
    backend.apply_account(state("pg1@pg.example", version=2))  # stale: ignored
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(pg_stack, "someone@outside.test", "pg1@pg.example", "hello")
    assert b"Gone fishing." in refused.value.recipients["pg1@pg.example"][1]
    with backend.connect() as db:
        assert backend.held(db)["pg1@pg.example"]["version"] == 3
