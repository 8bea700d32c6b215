"""The Dovecot adapter closes a user's open XMPP sessions when XMPP access goes (here Prosody's
admin endpoint is a stand-in that records what it was asked; tests/services/test_xmpp.py has
the real Prosody): the service turned off, a deactivation, a deletion. A Prosody that does not
confirm is an error, so the account stays Updating and the push is retried."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tempusmail.mailbackend import BackendError
from tempusmail.mailbackend.dovecot import DovecotBackend

from .test_dovecot_backend import ADDRESS, state

KEY = "an-xmpp-admin-key-of-some-length"


class FakeProsody:
    """Records each kick's addresses; answers 401 to another key, `status` otherwise."""

    def __init__(self) -> None:
        self.kicked: list[list[str]] = []
        self.status = 200
        prosody = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                ok = self.headers.get("Authorization") == f"Bearer {KEY}"
                if ok and self.path == "/tempusmail/kick":
                    prosody.kicked.append(body.split("\n"))
                self.send_response(prosody.status if ok else 401)
                self.send_header("Content-Length", "1")
                self.end_headers()
                self.wfile.write(b"0")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def prosody(directory, settings):
    fake = FakeProsody()
    settings.XMPP_ADMIN_URL, settings.XMPP_ADMIN_KEY, settings.DOVEADM_TIMEOUT = fake.url, KEY, 2
    yield fake
    fake.stop()


def test_only_pushes_that_take_xmpp_away_close_sessions(prosody):
    backend = DovecotBackend()
    with_xmpp = frozenset({"imap", "xmpp"})
    backend.apply_account(state(version=1, services=with_xmpp))
    backend.apply_account(state(version=2, services=with_xmpp, quota_bytes=5))
    assert prosody.kicked == []
    backend.apply_account(state(version=3, services=frozenset({"imap"})))
    backend.apply_account(state(version=4, services=with_xmpp, active=False))
    backend.remove_account(ADDRESS)
    assert prosody.kicked == [[ADDRESS], [ADDRESS], [ADDRESS]]


@pytest.mark.parametrize("failure", ["refused", "wrong key", "down"])
def test_a_prosody_that_does_not_confirm_fails_the_push(prosody, settings, directory, failure):
    backend = DovecotBackend()
    if failure == "refused":
        prosody.status = 500
    elif failure == "wrong key":
        settings.XMPP_ADMIN_KEY = "another-key-of-some-length-too"
    else:
        prosody.stop()
    with pytest.raises(BackendError, match="XMPP server"):
        backend.apply_account(state(version=1, services=frozenset({"imap"})))
    # The directory already refuses the login; the retry closes the sessions.
    assert directory.mailbox(ADDRESS)["xmpp"] == 0


def test_without_an_xmpp_server_nothing_is_asked(directory, settings):
    settings.XMPP_ADMIN_URL = ""
    DovecotBackend().apply_account(state(version=1, services=frozenset({"imap"}), active=False))
    assert directory.mailbox(ADDRESS)["active"] == 0
