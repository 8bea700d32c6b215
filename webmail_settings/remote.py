"""Reaching another provider's IMAP and SMTP servers, safely, and saying exactly what failed.

No SSRF: a server name a user or a tenant admin typed is resolved once, every address it
resolves to is checked (loopback, private, link-local and any other non-public address, and
the provider's own networks, are refused unless EXTERNAL_MAIL_ALLOWED_NETWORKS lists them),
and the connection is made to a checked address: the name is never resolved again, so a DNS
answer that changes between the check and the connection (rebinding) gains nothing. TLS still
verifies the certificate against the name that was typed.

Every failure is a RemoteError with a code (dns, blocked, refused, timeout, not_tls,
no_starttls, certificate, tls, encryption_required, auth, smtp_auth, smtp_no_auth, protocol)
and parameters; the message is rendered in the reader's language when shown, because the
import job stores it and the user reads it later.
"""

import base64
import contextlib
import errno
import imaplib
import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from functools import cache

import idna
from django.conf import settings
from django.utils.translation import gettext_lazy as _

SECURITY_NONE, SECURITY_STARTTLS, SECURITY_TLS = "none", "starttls", "tls"

ERRORS = {
    "dns": _("The server name %(host)s could not be found (DNS)."),
    "blocked": _(
        "%(host)s resolves to %(address)s, a loopback, private or internal address: "
        "connections there are not allowed."
    ),
    "refused": _(
        "%(host)s:%(port)s refused the connection: no server accepts connections on that port."
    ),
    "unreachable": _("%(host)s:%(port)s cannot be reached: %(detail)s."),
    "timeout": _(
        "%(host)s:%(port)s did not answer within %(seconds)s seconds. If the port expects "
        "TLS from the start, choose TLS as connection protection."
    ),
    "not_tls": _(
        "%(host)s:%(port)s does not use TLS from the start: choose STARTTLS or No as "
        "connection protection."
    ),
    "no_starttls": _(
        "%(host)s:%(port)s does not offer STARTTLS: choose another connection protection or port."
    ),
    "certificate": _("The certificate of %(host)s is not trusted: %(detail)s."),
    "tls": _("The TLS connection to %(host)s:%(port)s failed: %(detail)s."),
    "encryption_required": _(
        "%(host)s does not accept a login without encryption: choose STARTTLS or TLS."
    ),
    "smtp_encryption_required": _(
        "The SMTP server %(host)s does not accept a login without encryption: check Use TLS."
    ),
    "auth": _("The IMAP server refused the login or password of %(login)s (%(detail)s)."),
    "smtp_auth": _("The SMTP server refused the login or password of %(login)s (%(detail)s)."),
    "smtp_no_auth": _(
        "The SMTP server %(host)s:%(port)s does not offer authentication (AUTH) on this connection."
    ),
    "protocol": _("%(host)s:%(port)s did not answer as expected: %(detail)s."),
    # Raised by the import job, not by a connection attempt.
    "quota": _("Your mailbox is full: the import stopped. Free some space, then resume."),
    "mailbox": _("Your own mailbox could not be written: %(detail)s."),
    "service_removed": _(
        "Your administrator removed the email service %(name)s: this mailbox no longer "
        "syncs. The mail already imported stays in your mailbox."
    ),
    "password": _("The stored password can no longer be read: enter it again."),
    "error": _("The sync stopped: %(detail)s."),
}


class RemoteError(Exception):
    """One failure the user can act on: a code and the values its message names."""

    def __init__(self, code: str, **params) -> None:
        self.code = code
        self.params = {k: str(v)[:300] for k, v in params.items()}
        super().__init__(f"{code}: {self.params}")

    def message(self) -> str:
        return render_error(self.code, self.params)


def render_error(code: str, params: dict | None) -> str:
    """The message of a stored error, in the active language; unknown codes show as is."""
    template = ERRORS.get(code)
    if template is None:
        return code
    try:
        return str(template) % (params or {})
    except (KeyError, TypeError, ValueError):
        return str(template)


# --- names and ports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A host (ASCII: IDNA for Unicode names; an IP address as written) and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_server(value: str) -> Server:
    """`host:port` as the seed writes it (`smtp.myserver.com:465`, `[2001:db8::1]:993`).
    Raises ValueError with a sentence for the form."""
    value = (value or "").strip()
    if not value or any(c.isspace() for c in value) or "/" in value or "@" in value:
        raise ValueError(_("Write the server as host:port, for example imap.example.com:993."))
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            raise ValueError(_("Write the server as host:port, for example [2001:db8::1]:993."))
        try:
            host = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ValueError(_("%(host)s is not an IPv6 address.") % {"host": host}) from None
    else:
        host, sep, port = value.rpartition(":")
        if not sep or not host:
            raise ValueError(_("Add the port after a colon, for example imap.example.com:993."))
        host = _hostname(host)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(_("The port must be a number from 1 to 65535."))
    return Server(host=host, port=int(port))


def _hostname(host: str) -> str:
    host = host.rstrip(".").lower()
    with contextlib.suppress(ValueError):
        return str(ipaddress.IPv4Address(host))
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise ValueError(_("%(host)s is not a valid server name.") % {"host": host}) from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or any(
        not label or len(label) > 63 or label.startswith("-") or label.endswith("-")
        for label in labels
    ):
        raise ValueError(_("%(host)s is not a valid server name.") % {"host": host})
    if not all(c.isalnum() or c in "-_" for label in labels for c in label):
        raise ValueError(_("%(host)s is not a valid server name.") % {"host": host})
    return ascii_host


# --- resolving, checking and pinning --------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A server whose addresses were checked: connections go to these, never to the name."""

    server: Server
    addresses: tuple[str, ...] = field(default=())

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port


@cache
def _networks(values: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def address_allowed(address: str) -> bool:
    """Public addresses only, minus the provider's own networks, plus the allowed exceptions.
    An IPv4 address wrapped in IPv6 (::ffff:10.0.0.1, 6to4, NAT64 ranges) is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            ip = inner
        elif ip in ipaddress.ip_network("64:ff9b::/96"):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    allowed = _networks(tuple(settings.EXTERNAL_MAIL_ALLOWED_NETWORKS))
    if any(ip.version == net.version and ip in net for net in allowed):
        return True
    blocked = _networks(tuple(settings.EXTERNAL_MAIL_BLOCKED_NETWORKS))
    if any(ip.version == net.version and ip in net for net in blocked):
        return False
    return ip.is_global and not ip.is_multicast


def resolve(server: Server) -> Target:
    """Every address of the name, each checked; one refused address refuses the server (a
    name must not mix a public address with an internal one)."""
    try:
        infos = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RemoteError("dns", host=server.host) from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise RemoteError("dns", host=server.host)
    for address in addresses:
        if not address_allowed(address):
            raise RemoteError("blocked", host=server.host, address=address)
    return Target(server=server, addresses=addresses)


def connect(target: Target, timeout: float) -> socket.socket:
    """A TCP connection to one of the checked addresses (the next one if one refuses)."""
    last: OSError | None = None
    for address in target.addresses:
        try:
            return socket.create_connection((address, target.port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise _classify(last or OSError("no address"), target)


def _timeout() -> float:
    return float(settings.EXTERNAL_MAIL_TIMEOUT)


def tls_context() -> ssl.SSLContext:
    """The system's trusted CAs plus EXTERNAL_MAIL_CA_FILE; names and certificates checked."""
    context = ssl.create_default_context()
    if settings.EXTERNAL_MAIL_CA_FILE:
        context.load_verify_locations(cafile=settings.EXTERNAL_MAIL_CA_FILE)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE")


def _classify(exc: BaseException, target: Target) -> RemoteError:
    """The exact failure, from what the socket, TLS or protocol layer raised."""
    where = {"host": target.host, "port": target.port}
    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return RemoteError("certificate", host=target.host, detail=exc.verify_message or exc)
    if isinstance(exc, ssl.SSLError):
        reason = str(getattr(exc, "reason", "") or exc).upper()
        if any(r in reason for r in NOT_TLS_REASONS):
            return RemoteError("not_tls", **where)
        return RemoteError("tls", detail=getattr(exc, "reason", None) or exc, **where)
    if isinstance(exc, TimeoutError | socket.timeout):
        return RemoteError("timeout", seconds=f"{_timeout():g}", **where)
    if isinstance(exc, ConnectionRefusedError):
        return RemoteError("refused", **where)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return RemoteError("protocol", detail=_("the server closed the connection"), **where)
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return RemoteError("unreachable", detail=exc.strerror or exc, **where)
    return RemoteError("protocol", detail=_server_text(exc), **where)


def _server_text(exc: BaseException) -> str:
    """What a server said, readable (imaplib and smtplib hand over bytes)."""
    args = getattr(exc, "args", ()) or (exc,)
    parts = []
    for arg in args:
        if isinstance(arg, bytes):
            arg = arg.decode("utf-8", "replace")
        parts.append(str(arg))
    return " ".join(parts).strip()[:200] or type(exc).__name__


# --- IMAP -----------------------------------------------------------------------------------


class PinnedIMAP(imaplib.IMAP4):
    """IMAP to a checked address; STARTTLS verifies the certificate against the typed name."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._target = target
        super().__init__(target.host, target.port, timeout=timeout)

    def _create_socket(self, timeout):
        return connect(self._target, timeout)


class PinnedIMAPS(imaplib.IMAP4_SSL):
    """IMAP over TLS from the start, to a checked address."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._target = target
        super().__init__(target.host, target.port, ssl_context=tls_context(), timeout=timeout)

    def _create_socket(self, timeout):
        sock = connect(self._target, timeout)
        try:
            return self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def open_imap(server: Server, security: str, login: str, password: str) -> imaplib.IMAP4:
    """A logged-in IMAP session with the chosen protection, or the exact RemoteError."""
    target = resolve(server)
    client = None
    try:
        if security == SECURITY_TLS:
            client = PinnedIMAPS(target, _timeout())
        else:
            client = PinnedIMAP(target, _timeout())
            if security == SECURITY_STARTTLS:
                if "STARTTLS" not in client.capabilities:
                    raise RemoteError("no_starttls", host=target.host, port=target.port)
                client.starttls(ssl_context=tls_context())
            elif "LOGINDISABLED" in client.capabilities:
                raise RemoteError("encryption_required", host=target.host)
        _imap_login(client, target, login, password)
        return client
    except BaseException as exc:
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()
        if isinstance(exc, RemoteError | KeyboardInterrupt | SystemExit):
            raise
        raise _classify(exc, target) from exc


def _imap_login(client: imaplib.IMAP4, target: Target, login: str, password: str) -> None:
    try:
        if login.isascii() and password.isascii():
            client.login(login, password)
        else:  # LOGIN is ASCII-only in imaplib; SASL PLAIN carries UTF-8
            secret = f"\0{login}\0{password}".encode()
            client.authenticate("PLAIN", lambda _challenge: secret)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        text = _server_text(exc)
        if "PRIVACYREQUIRED" in text.upper():
            raise RemoteError("encryption_required", host=target.host) from None
        raise RemoteError("auth", login=login, detail=text) from None


# --- SMTP -----------------------------------------------------------------------------------


class PinnedSMTP(smtplib.SMTP):
    """SMTP to a checked address; STARTTLS verifies the certificate against the typed name."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._target = target
        super().__init__(timeout=timeout)
        self._host = target.host  # the name TLS checks (smtplib sets it only from a host)

    def _get_socket(self, host, port, timeout):
        return connect(self._target, timeout)


class PinnedSMTPS(smtplib.SMTP_SSL):
    def __init__(self, target: Target, timeout: float) -> None:
        self._target = target
        super().__init__(timeout=timeout, context=tls_context())
        self._host = target.host

    def _get_socket(self, host, port, timeout):
        sock = connect(self._target, timeout)
        try:
            return self.context.wrap_socket(sock, server_hostname=self._host)
        except BaseException:
            sock.close()
            raise


IMPLICIT_TLS_PORT = 465


def check_smtp(server: Server, use_tls: bool, login: str, password: str) -> None:
    """Connect, protect as configured (port 465: TLS from the start; otherwise STARTTLS),
    and log in with AUTH; nothing is sent."""
    target = resolve(server)
    implicit = use_tls and server.port == IMPLICIT_TLS_PORT
    client = PinnedSMTPS(target, _timeout()) if implicit else PinnedSMTP(target, _timeout())
    try:
        code, reply = client.connect(target.host, target.port)
        if code != 220:
            raise RemoteError("protocol", host=target.host, port=target.port, detail=reply)
        client.ehlo_or_helo_if_needed()
        if use_tls and not implicit:
            if not client.has_extn("starttls"):
                raise RemoteError("no_starttls", host=target.host, port=target.port)
            client.starttls(context=tls_context())
            client.ehlo()
        if not client.has_extn("auth"):
            raise RemoteError("smtp_no_auth", host=target.host, port=target.port)
        _smtp_login(client, target, login, password)
    except BaseException as exc:
        if isinstance(exc, RemoteError | KeyboardInterrupt | SystemExit):
            raise
        raise _classify(exc, target) from exc
    finally:
        with contextlib.suppress(Exception):
            client.close()


ENCRYPTION_REQUIRED = (523, 538)  # RFC 4954: 538 5.7.11; Dovecot and others: 523 5.7.10


def _smtp_login(client: smtplib.SMTP, target: Target, login: str, password: str) -> None:
    """AUTH PLAIN (or LOGIN) with UTF-8 credentials; smtplib's own login is ASCII-only."""
    mechanisms = client.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" in mechanisms or "LOGIN" not in mechanisms:
        secret = base64.b64encode(f"\0{login}\0{password}".encode()).decode()
        code, reply = client.docmd("AUTH", f"PLAIN {secret}")
    else:
        code, reply = client.docmd("AUTH", "LOGIN " + base64.b64encode(login.encode()).decode())
        if code == 334:
            code, reply = client.docmd(base64.b64encode(password.encode()).decode())
    if code in ENCRYPTION_REQUIRED:
        raise RemoteError("smtp_encryption_required", host=target.host)
    if code != 235:
        raise RemoteError("smtp_auth", login=login, detail=f"{code} {_server_text(reply)}")


# --- the Test button ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One line of a test's report."""

    what: str  # "imap" or "smtp"
    ok: bool
    message: str


def test_servers(
    *,
    imap: Server,
    imap_security: str,
    smtp: Server,
    smtp_tls: bool,
    login: str,
    password: str,
) -> list[Check]:
    """Really log in over IMAP, then check SMTP AUTH: one report line each."""
    checks = []
    try:
        client = open_imap(imap, imap_security, login, password)
    except RemoteError as exc:
        checks.append(Check("imap", False, exc.message()))
    else:
        with contextlib.suppress(Exception):
            client.logout()
        checks.append(
            Check("imap", True, str(_("IMAP: signed in to %(server)s.") % {"server": imap}))
        )
    try:
        check_smtp(smtp, smtp_tls, login, password)
    except RemoteError as exc:
        checks.append(Check("smtp", False, exc.message()))
    else:
        checks.append(
            Check(
                "smtp",
                True,
                str(_("SMTP: %(server)s accepted the login.") % {"server": smtp}),
            )
        )
    return checks
