"""The service flags in the mail directory and the XMPP hosts file, without servers."""

import sqlite3

from tempusmail.mailbackend.dovecot import MAILBOX_COLUMNS, DovecotBackend, mailbox_row
from tempusmail.mailbackend.dovecot.xmpp import HOSTS_FILE, hosts_text
from tests.mailstack.test_dovecot_adapter import state

OLD_MAILBOX = """CREATE TABLE mailbox (
    address VARCHAR(320) PRIMARY KEY, domain VARCHAR(253) NOT NULL,
    local_part VARCHAR(64) NOT NULL, password TEXT NOT NULL, active INTEGER NOT NULL,
    quota_bytes BIGINT NOT NULL, imap INTEGER NOT NULL, pop3 INTEGER NOT NULL,
    smtp INTEGER NOT NULL, allow_nets TEXT NOT NULL, reject_all INTEGER NOT NULL,
    reject_text TEXT NOT NULL, send_limit INTEGER NOT NULL, sieve TEXT NOT NULL,
    version BIGINT NOT NULL)"""


def test_row_carries_one_column_per_service():
    row = mailbox_row(state(services=frozenset({"webmail", "xmpp", "activesync"})))
    flags = ("imap", "pop3", "smtp", "webmail", "dav", "xmpp", "activesync")
    assert tuple(row[f] for f in flags) == (0, 0, 0, 1, 0, 1, 1)


def test_init_adds_the_service_columns_to_an_older_directory(settings, tmp_path):
    path = tmp_path / "directory.db"
    with sqlite3.connect(path) as db:
        db.execute(OLD_MAILBOX)
        db.execute(
            "INSERT INTO mailbox VALUES ('old@a.example', 'a.example', 'old', '!', 1, 0, 1, 1, 1,"
            " '', 0, '', 10, '', 1)"
        )
    settings.MAIL_DIRECTORY_URL = f"sqlite:///{path}"
    settings.MAIL_ROOT = str(tmp_path)
    backend = DovecotBackend()
    backend.init_directory()
    backend.init_directory()  # twice: nothing to add the second time
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(mailbox)")]
        held = db.execute("SELECT webmail, dav, xmpp, activesync FROM mailbox").fetchone()
    assert set(MAILBOX_COLUMNS) | {"host"} <= set(columns)
    assert held == (0, 0, 0, 0)  # nothing is switched on by an upgrade: the next push says
    assert (tmp_path / HOSTS_FILE).read_text() == hosts_text([])


def test_xmpp_hosts_are_the_active_domains_and_nothing_else_reaches_lua():
    text = hosts_text(["b.example", "a.example", "a.example", 'x"; os.exit() --'])
    assert text.splitlines()[1:] == ['VirtualHost "a.example"', 'VirtualHost "b.example"']
