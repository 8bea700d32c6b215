"""The Test button against a real provider (a second Dovecot): a working login, then each
failure with its own message — wrong password, wrong protection, untrusted certificate,
closed port, unknown name — and the SSRF rule, checked after DNS and before connecting."""

import socket
import threading

import pytest

from webmail_settings import remote
from webmail_settings.models import ExternalMailbox

pytestmark = pytest.mark.mailstack

EXT_PASSWORD = "Ext-Secret-pw-1"


@pytest.fixture
def portal(client, account_a):
    client.force_login(account_a.user)
    return client


@pytest.fixture
def user(external):
    return external.add_user(f"test{id(external) % 1000}@external.test", EXT_PASSWORD)


def other(provider, *, imap=None, security="tls", smtp=None, tls=True, login, password):
    return {
        "service": "other",
        "imap_server": imap or f"{provider.ip}:993",
        "imap_security": security,
        "smtp_server": smtp or f"{provider.ip}:465",
        "smtp_tls": "on" if tls else "",
        "login": login,
        "password": password,
        "action": "test",
    }


def results(response) -> list[str]:
    assert response.status_code == 200
    checks = response.context["checks"]
    assert checks is not None, response.context["form"].errors
    return [(c.what, c.ok, c.message) for c in checks]


def test_a_good_login_passes_imap_and_smtp(portal, external, user):
    for imap, security, smtp in (
        ("993", "tls", "465"),
        ("143", "starttls", "587"),
    ):
        found = results(
            portal.post(
                "/portal/mailboxes/connect/",
                other(
                    external,
                    imap=f"{external.ip}:{imap}",
                    security=security,
                    smtp=f"{external.ip}:{smtp}",
                    login=user,
                    password=EXT_PASSWORD,
                ),
            )
        )
        assert [ok for _w, ok, _m in found] == [True, True], found
    assert not ExternalMailbox.objects.exists()  # a test saves nothing


def test_wrong_password(portal, external, user):
    found = results(
        portal.post("/portal/mailboxes/connect/", other(external, login=user, password="nope"))
    )
    assert found[0][:2] == ("imap", False) and "refused the login or password" in found[0][2]
    assert found[1][:2] == ("smtp", False) and "SMTP server refused the login" in found[1][2]


def test_wrong_protection(portal, external, user):
    # TLS from the start on the STARTTLS port
    found = results(
        portal.post(
            "/portal/mailboxes/connect/",
            other(
                external,
                imap=f"{external.ip}:143",
                smtp=f"{external.ip}:587",
                login=user,
                password=EXT_PASSWORD,
            ),
        )
    )
    assert "does not use TLS from the start" in found[0][2]
    # no protection where the server wants encryption
    found = results(
        portal.post(
            "/portal/mailboxes/connect/",
            other(
                external,
                imap=f"{external.ip}:143",
                security="none",
                smtp=f"{external.ip}:587",
                tls=False,
                login=user,
                password=EXT_PASSWORD,
            ),
        )
    )
    assert "does not accept a login without encryption" in found[0][2], found
    assert found[1][2] == (
        f"The SMTP server {external.ip} does not accept a login without encryption: check Use TLS."
    )
    # STARTTLS on the port that expects TLS at once: no greeting comes
    found = results(
        portal.post(
            "/portal/mailboxes/connect/",
            other(
                external,
                imap=f"{external.ip}:993",
                security="starttls",
                login=user,
                password=EXT_PASSWORD,
            ),
        )
    )
    assert "did not answer within 3 seconds" in found[0][2], found


def test_untrusted_certificate(portal, external, user, settings):
    settings.EXTERNAL_MAIL_CA_FILE = ""  # the system's CAs only: the test CA is unknown
    found = results(
        portal.post(
            "/portal/mailboxes/connect/", other(external, login=user, password=EXT_PASSWORD)
        )
    )
    assert "is not trusted" in found[0][2] and "certificate" in found[0][2], found
    assert "is not trusted" in found[1][2], found


def test_closed_port_and_unknown_name(portal, external, user):
    found = results(
        portal.post(
            "/portal/mailboxes/connect/",
            other(
                external,
                imap=f"{external.ip}:1993",
                smtp=f"{external.ip}:25",
                login=user,
                password=EXT_PASSWORD,
            ),
        )
    )
    assert (
        found[0][2]
        == f"{external.ip}:1993 refused the connection: no server accepts connections on that port."
    )
    assert "refused the connection" in found[1][2]
    found = results(
        portal.post(
            "/portal/mailboxes/connect/",
            other(
                external,
                imap="imap.nowhere.invalid:993",
                smtp="smtp.nowhere.invalid:465",
                login=user,
                password=EXT_PASSWORD,
            ),
        )
    )
    assert found[0][2] == "The server name imap.nowhere.invalid could not be found (DNS)."


class Listener:
    """A TCP listener that counts connections: proof that a refused server was not reached."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.sendall(b"* BYE not a real server\r\n")
            conn.close()

    def close(self):
        self.sock.close()


def test_ssrf_refuses_loopback_and_private_before_connecting(portal, external, user, settings):
    listener = Listener()
    try:
        for host in ("127.0.0.1", "localhost", "10.0.0.1"):
            # An address is refused as typed; a name (localhost) once resolved.
            response = portal.post(
                "/portal/mailboxes/connect/",
                other(
                    external,
                    imap=f"{host}:{listener.port}",
                    smtp=f"{host}:587",
                    login=user,
                    password=EXT_PASSWORD,
                ),
            )
            page = response.content.decode()
            assert page.count("a loopback, private or internal address") == 2, page
        assert listener.accepted == 0
        # Connect is refused the same way, and nothing is saved.
        data = other(external, imap=f"localhost:{listener.port}", login=user, password=EXT_PASSWORD)
        data["action"] = "connect"
        response = portal.post("/portal/mailboxes/connect/", data)
        assert "a loopback, private or internal address" in response.content.decode()
        assert not ExternalMailbox.objects.exists() and listener.accepted == 0

        # Allowed by the setting: the check lets 127.0.0.1 through (and the listener is met).
        settings.EXTERNAL_MAIL_ALLOWED_NETWORKS = [f"{external.ip}/32", "127.0.0.1/32"]
        found = results(
            portal.post(
                "/portal/mailboxes/connect/",
                other(
                    external,
                    imap=f"127.0.0.1:{listener.port}",
                    security="none",
                    login=user,
                    password=EXT_PASSWORD,
                ),
            )
        )
        assert "did not answer as expected" in found[0][2], found
        assert listener.accepted == 1
    finally:
        listener.close()
    # 10.0.0.1 is allowed only when listed, and never connected to here: the check alone.
    with pytest.raises(remote.RemoteError) as refused:
        remote.resolve(remote.Server("10.0.0.1", 993))
    assert refused.value.code == "blocked"
    settings.EXTERNAL_MAIL_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert remote.resolve(remote.Server("10.0.0.1", 993)).addresses == ("10.0.0.1",)


def test_the_checked_address_is_the_one_connected_to(external, user, monkeypatch):
    """DNS rebinding: the name is resolved once; a second answer (127.0.0.1) is never used."""
    real = socket.getaddrinfo
    answers = []

    def rebinding(host, port, *args, **kwargs):
        if host == "imap.external.test":
            ip = external.ip if not answers else "127.0.0.1"
            answers.append(ip)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    client = remote.open_imap(remote.Server("imap.external.test", 993), "tls", user, EXT_PASSWORD)
    assert client.sock.getpeername()[0] == external.ip
    client.logout()
    assert answers == [external.ip]  # resolved once; TLS verified the name on the certificate


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "2002:a00:1::",
        "64:ff9b::a00:1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address, settings):
    settings.EXTERNAL_MAIL_ALLOWED_NETWORKS = []
    assert not remote.address_allowed(address)


def test_public_addresses_pass_unless_the_provider_blocks_them(settings):
    settings.EXTERNAL_MAIL_ALLOWED_NETWORKS = []
    settings.EXTERNAL_MAIL_BLOCKED_NETWORKS = []
    assert remote.address_allowed("142.250.27.108")
    assert remote.address_allowed("2a00:1450:400c:c0b::6c")
    settings.EXTERNAL_MAIL_BLOCKED_NETWORKS = ["142.250.0.0/15"]
    assert not remote.address_allowed("142.250.27.108")


def test_a_new_password_is_checked_by_signing_in(portal, external, user, account_a):
    from webmail_settings import crypto
    from webmail_settings.models import SyncState

    connection = ExternalMailbox.objects.create(
        organization_id=account_a.organization_id,
        account=account_a,
        manual=True,
        imap_host=external.ip,
        imap_port=993,
        imap_security="tls",
        smtp_host=external.ip,
        smtp_port=465,
        login=user,
        password_encrypted=crypto.encrypt("old-password"),
        state=SyncState.FAILED,
        last_error_code="auth",
        last_error_params={"login": user, "detail": "x"},
    )
    url = f"/portal/mailboxes/{connection.pk}/"
    response = portal.post(url, {"password": "still-wrong"})
    assert "refused the login or password" in response.content.decode()
    connection.refresh_from_db()
    assert crypto.decrypt(connection.password_encrypted) == "old-password"
    assert portal.post(url, {"password": EXT_PASSWORD}).status_code == 302
    connection.refresh_from_db()
    assert crypto.decrypt(connection.password_encrypted) == EXT_PASSWORD
    assert connection.state == SyncState.QUEUED
