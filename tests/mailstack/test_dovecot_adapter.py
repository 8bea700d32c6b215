"""The adapter's translations, without servers: password scheme, Sieve script, targets."""

from datetime import UTC, datetime

from tempusmail.mailbackend import AccountState, Autoresponder
from tempusmail.mailbackend.dovecot import (
    dovecot_password,
    forward_targets,
    mailbox_row,
    sieve_script,
)
from tests.states import HASH, account_state


def state(**changes) -> AccountState:
    values = {
        "quota_bytes": 1024,
        "services": frozenset({"imap", "smtp"}),
        "allowed_networks": ("10.0.0.0/8", "2001:db8::/32"),
        "aliases": ("sales@a.example",),
        "daily_send_limit": 10,
        "version": 4,
    }
    return account_state(**{**values, **changes})


def test_the_panel_hash_is_pushed_as_the_same_phc_string_under_argon2id():
    assert (
        dovecot_password(HASH)
        == "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
    )
    assert dovecot_password("pbkdf2_sha256$100$salt$hash") == "!"  # never a usable password


def test_row_carries_services_networks_and_a_one_line_reject_text():
    row = mailbox_row(state(reject_all=True, reject_message="Left.\r\nWrite  to info@a.example"))
    assert (row["imap"], row["pop3"], row["smtp"]) == (1, 0, 1)
    assert row["allow_nets"] == "10.0.0.0/8,2001:db8::/32"
    assert row["reject_text"] == "Left. Write to info@a.example"


def test_keep_a_copy_adds_the_mailbox_itself_to_the_forward_targets():
    assert forward_targets(state()) == []
    assert forward_targets(state(forward_to=("b@x.test",))) == ["ann@a.example", "b@x.test"]
    assert forward_targets(state(forward_to=("b@x.test",), forward_keep_copy=False)) == ["b@x.test"]


def test_sieve_files_spam_and_quotes_the_autoresponder_with_its_dates():
    reply = Autoresponder(
        subject='Out "today"',
        body="Back \\ soon",
        start=datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        end=None,
    )
    script = sieve_script(state(autoresponder=reply))
    assert 'if header :is "X-Spam" "Yes" {\n  fileinto :create "Junk";' in script
    assert 'currentdate :zone "+0000" :value "ge" "iso8601" "2026-01-01T08:00:00"' in script
    assert '"le"' not in script
    assert ':subject "Out \\"today\\""' in script
    assert '"Back \\\\ soon"' in script
    assert ':addresses ["ann@a.example", "sales@a.example"]' in script
    assert "Junk" not in sieve_script(state(spam_to_inbox=True))
    assert "vacation :days" not in sieve_script(state(autoresponder=reply, active=False))


def test_the_reject_reply_is_the_closest_ascii_on_one_line():
    row = mailbox_row(
        state(reject_message="Non è più attiva.\n«Scrivete» a info — grazie… Straße 5 €\t日本")
    )
    assert row["reject_text"] == 'Non e piu attiva. "Scrivete" a info - grazie... Strasse 5 EUR ??'
    assert len(mailbox_row(state(reject_message="x" * 2000))["reject_text"]) == 400
