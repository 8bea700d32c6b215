"""The mail directory's tables, as Dovecot's and Postfix's queries in deploy/ read them."""

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS domain (
        name VARCHAR(253) PRIMARY KEY,
        active INTEGER NOT NULL DEFAULT 1,
        version BIGINT NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS mailbox (
        address VARCHAR(320) PRIMARY KEY,
        domain VARCHAR(253) NOT NULL,
        local_part VARCHAR(64) NOT NULL,
        password TEXT NOT NULL,
        active INTEGER NOT NULL,
        quota_bytes BIGINT NOT NULL,
        imap INTEGER NOT NULL,
        pop3 INTEGER NOT NULL,
        smtp INTEGER NOT NULL,
        webmail INTEGER NOT NULL DEFAULT 0,
        dav INTEGER NOT NULL DEFAULT 0,
        xmpp INTEGER NOT NULL DEFAULT 0,
        activesync INTEGER NOT NULL DEFAULT 0,
        allow_nets TEXT NOT NULL,
        reject_all INTEGER NOT NULL,
        reject_text TEXT NOT NULL,
        send_limit INTEGER NOT NULL,
        sieve TEXT NOT NULL,
        version BIGINT NOT NULL,
        account_id BIGINT NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS alias (
        address VARCHAR(320) PRIMARY KEY,
        mailbox VARCHAR(320) NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS alias_mailbox ON alias (mailbox)",
    # A domain's default addresses (abuse@, postmaster@, support@), written by the domain's
    # push. Postfix reads them only when no mailbox and no alias row holds the address.
    """CREATE TABLE IF NOT EXISTS domain_alias (
        address VARCHAR(320) PRIMARY KEY,
        domain VARCHAR(253) NOT NULL,
        target VARCHAR(320) NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS domain_alias_domain ON domain_alias (domain)",
    """CREATE TABLE IF NOT EXISTS forward (
        address VARCHAR(320) NOT NULL,
        target VARCHAR(320) NOT NULL,
        PRIMARY KEY (address, target))""",
    # Which DKIM keys the filter holds (files in DKIM_KEY_DIR) and which one signs.
    """CREATE TABLE IF NOT EXISTS dkim_key (
        domain VARCHAR(253) NOT NULL,
        selector VARCHAR(63) NOT NULL,
        active INTEGER NOT NULL,
        PRIMARY KEY (domain, selector))""",
    # Groups expand through `forward` rows (Postfix virtual aliases); this holds the version
    # that keeps a stale group push from overwriting a newer expansion.
    """CREATE TABLE IF NOT EXISTS mailgroup (
        address VARCHAR(320) PRIMARY KEY,
        version BIGINT NOT NULL)""",
]
# The Sieve scripts as Pigeonhole reads them through a SQL dict (deploy/dovecot:
# dovecot-dict-sieve.conf.ext): each mailbox's one script, named "active", straight from its
# row, so there is nothing else to write, to keep in step or to delete. The id changes with
# every pushed version (a compiled copy keyed by it is never reused for a newer script).
SIEVE_VIEW = """sieve_script AS SELECT address AS username, 'active' AS name,
    CAST(version AS TEXT) AS id, sieve AS script_data FROM mailbox"""
# Columns added after the first release: init_directory adds them to an older table.
ADDED_COLUMNS = {
    **{name: "INTEGER NOT NULL DEFAULT 0" for name in ("webmail", "dav", "xmpp", "activesync")},
    # The mail host that stores the mailbox (its address as a Dovecot proxy reaches it; ''
    # for a single host). Not part of the panel's state: set once when the row is created
    # (settings.MAIL_STORAGE_HOSTS), kept by every push, changed only by whoever moves the
    # mailbox (docs/operations.md, "Several mail hosts").
    "host": "VARCHAR(253) NOT NULL DEFAULT ''",
    # The panel row the mailbox belongs to (AccountState.identity): with the version it
    # orders pushes across a delete and re-create of the same address.
    "account_id": "BIGINT NOT NULL DEFAULT 0",
}
MAILBOX_COLUMNS = (
    "address",
    "domain",
    "local_part",
    "password",
    "active",
    "quota_bytes",
    "imap",
    "pop3",
    "smtp",
    "webmail",
    "dav",
    "xmpp",
    "activesync",
    "allow_nets",
    "reject_all",
    "reject_text",
    "send_limit",
    "sieve",
    "version",
    "account_id",
)
# What Dovecot's passdb answers from.
# (Dovecot answers webmail, DAV and XMPP logins too; an ActiveSync gateway reads activesync.)
AUTH_COLUMNS = (
    "password",
    "active",
    "imap",
    "pop3",
    "smtp",
    "allow_nets",
    "webmail",
    "dav",
    "xmpp",
    "activesync",
)
# Built from the constant column names above, never from input.
SELECT_HELD = (
    f"SELECT version, account_id, {', '.join(AUTH_COLUMNS)} FROM mailbox WHERE address = ?"  # noqa: S608
)
UPSERT_MAILBOX = (
    f"INSERT INTO mailbox ({', '.join(MAILBOX_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in MAILBOX_COLUMNS)}) ON CONFLICT (address) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in MAILBOX_COLUMNS[1:])
)
SELECT_MAILBOXES = f"SELECT {', '.join(MAILBOX_COLUMNS)} FROM mailbox"  # noqa: S608
