"""TLS on a stack with the production default (PLAINTEXT_AUTH=no): logins over STARTTLS and
implicit TLS on IMAP, POP3 and submission; a password without TLS is refused."""

import imaplib
import poplib
import smtplib
import socket
import ssl

import pytest

from tempusmail.mailbackend.dovecot import DovecotBackend
from tests.conftest import PASSWORD, wait_until

from .conftest import IMAP, POP, base_state, message, run_stack, tls_context

pytestmark = pytest.mark.mailstack
ADDRESS = "tls1@tls.example"
# Dovecot counts a client on its own address as secure; from another loopback address the
# client is as remote as any.
REMOTE = "127.0.0.2"


@pytest.fixture(scope="module")
def tls_stack():
    with run_stack(PLAINTEXT_AUTH="no") as stack:
        DovecotBackend().apply_account(
            base_state(ADDRESS, 1, forward_keep_copy=False, daily_send_limit=100)
        )
        yield stack


def remote_socket(port: int, timeout) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout, source_address=(REMOTE, 0))


class IMAPS(imaplib.IMAP4_SSL):
    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        super().__init__("127.0.0.1", port, ssl_context=context, timeout=10)

    def _create_socket(self, timeout):
        return self.ssl_context.wrap_socket(
            remote_socket(self.port, timeout), server_hostname=self.host
        )


def test_imap_login_over_starttls_and_implicit_tls(tls_stack):
    context = tls_context(tls_stack)
    client = IMAP(tls_stack.port("IMAP"), REMOTE)
    assert "LOGINDISABLED" in client.capabilities
    client.starttls(context)
    assert client.login(ADDRESS, PASSWORD)[0] == "OK"
    client.logout()

    client = IMAPS(tls_stack.port("IMAPS"), context)
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert client.login(ADDRESS, PASSWORD)[0] == "OK"
    client.logout()


def test_pop3_login_over_starttls_and_implicit_tls(tls_stack):
    context = tls_context(tls_stack)
    client = POP(tls_stack.port("POP3"), REMOTE)
    client.stls(context)
    client.user(ADDRESS)
    assert client.pass_(PASSWORD).startswith(b"+OK")
    client.quit()

    client = poplib.POP3_SSL("127.0.0.1", tls_stack.port("POP3S"), context=context, timeout=10)
    client.user(ADDRESS)
    assert client.pass_(PASSWORD).startswith(b"+OK")
    client.quit()


def test_submission_login_over_starttls_and_implicit_tls(tls_stack):
    context = tls_context(tls_stack)
    with smtplib.SMTP("127.0.0.1", tls_stack.port("SUBMISSION"), timeout=10) as client:
        client.starttls(context=context)
        assert client.login(ADDRESS, PASSWORD)[0] == 235
    port = tls_stack.port("SUBMISSIONS")
    with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=10) as client:
        assert client.login(ADDRESS, PASSWORD)[0] == 235
        client.sendmail(ADDRESS, [ADDRESS], message(ADDRESS, ADDRESS, "Over TLS"))

    # The production-default stack delivers too (rspamd scanned it), read back over IMAPS.
    def delivered():
        client = IMAPS(tls_stack.port("IMAPS"), context)
        try:
            client.login(ADDRESS, PASSWORD)
            client.select("INBOX", readonly=True)
            return client.search(None, "SUBJECT", '"Over TLS"')[1][0].split()
        finally:
            client.logout()

    wait_until(delivered, timeout=20, interval=0.3, what="'Over TLS' delivered")


def test_password_without_tls_is_refused(tls_stack):
    client = IMAP(tls_stack.port("IMAP"), REMOTE)
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        client.login(ADDRESS, PASSWORD)
    client.shutdown()

    client = POP(tls_stack.port("POP3"), REMOTE)
    with pytest.raises(poplib.error_proto, match="Plaintext authentication disallowed"):
        client.user(ADDRESS)
        client.pass_(PASSWORD)
    client.close()

    # Postfix does not even offer AUTH before STARTTLS.
    with smtplib.SMTP("127.0.0.1", tls_stack.port("SUBMISSION"), timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(ADDRESS, PASSWORD)
        client.starttls(context=tls_context(tls_stack))
        client.ehlo()
        assert client.has_extn("auth")


def test_clients_refuse_a_certificate_they_do_not_trust(tls_stack):
    """The certificate is really checked: a client with only the system's CAs refuses the
    self-signed one (so the logins above did verify it)."""
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPS(tls_stack.port("IMAPS"), ssl.create_default_context())
