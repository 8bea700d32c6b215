"""The "external provider" for the import tests: a second, real Dovecot on its own loopback
address (127.x.y.z, so it can use the standard ports 143, 993, 587 and 465), with a test CA
made at start. IMAP with STARTTLS on 143 and TLS from the start on 993; submission (SMTP AUTH)
with STARTTLS on 587 and TLS on 465; plaintext logins refused. Users live in a passwd-file.

Our own mail stack (tests/mailstack's run_stack: deploy/ rendered, Dovecot and Postfix) is
the destination, with a real Celery worker that trusts the test CA (EXTERNAL_MAIL_CA_FILE) and
allows the provider's address (EXTERNAL_MAIL_ALLOWED_NETWORKS)."""

import contextlib
import datetime
import imaplib
import ipaddress
import os
import random
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.browser.conftest import browser_page  # noqa: F401 - for the browser test
from tests.conftest import _worker_env, need, wait_until
from tests.mailstack.conftest import IMAP, Worker, run_stack

MAIL_UID = 5000
EXTERNAL_NAME = "imap.external.test"
PORTS = {"imap": 143, "imaps": 993, "submission": 587, "submissions": 465}

DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/run/state
log_path = {dir}/dovecot.log
instance_name = tm-external-{name}
protocols = imap submission
listen = {ip}
ssl = yes
ssl_cert = <{dir}/server.pem
ssl_key = <{dir}/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
mail_uid = {uid}
mail_gid = {uid}
first_valid_uid = 1
mail_location = maildir:~/Maildir:LAYOUT=fs
# The provider's durability is not under test: no fsync per message keeps filling it fast.
mail_fsync = never
hostname = {host}
submission_relay_host = 127.0.0.1
submission_relay_port = 9
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "Sent Items" {{
    special_use = \\Sent
  }}
  mailbox "Deleted Items" {{
    special_use = \\Trash
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/users
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
  default_fields = uid={uid} gid={uid} home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 143
  }}
  inet_listener imaps {{
    port = 993
    ssl = yes
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 587
  }}
  inet_listener submissions {{
    port = 465
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(directory: Path, ip: str) -> Path:
    """A test CA and a server certificate for the provider's address and name."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("TempusMail test CA"))
        .issuer_name(_name("TempusMail test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(EXTERNAL_NAME))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(EXTERNAL_NAME), x509.IPAddress(ipaddress.ip_address(ip))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / "server.key").chmod(0o600)
    return directory / "ca.pem"


def _free_loopback() -> str:
    """A loopback address of our own (not 127.0.0.x) whose standard mail ports are free."""
    for _ in range(50):
        ip = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
        try:
            for port in PORTS.values():
                with socket.socket() as s:
                    s.bind((ip, port))
        except OSError:
            continue
        return ip
    raise RuntimeError("no free loopback address")


@dataclass
class Provider:
    dir: Path
    ip: str
    ca: Path

    @property
    def config(self) -> Path:
        return self.dir / "dovecot.conf"

    def add_user(self, name: str, password: str) -> str:
        """A mailbox at the provider, returned once Dovecot's auth accepts it: Dovecot stats
        the passwd-file at most once a second and may serve its old copy until then."""
        with open(self.dir / "users", "a") as users:
            users.write(f"{name}:{{PLAIN}}{password}::::::\n")
        test = ["doveadm", "-c", str(self.config), "auth", "test", name, password]
        deadline = time.monotonic() + 10
        while subprocess.run(test, capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, f"the provider's Dovecot never saw {name}"
            time.sleep(0.2)
        return name

    def session(self, user: str) -> imaplib.IMAP4:
        """A pre-authenticated IMAP session on a provider mailbox, to fill or read it."""
        cmd = ["doveadm", "-c", str(self.config), "exec", "imap", "-u", user]
        return imaplib.IMAP4_stream(shlex.join(cmd))

    def fill(self, user: str, folder: str, messages: list[tuple[str, bytes]]) -> None:
        """Append (flags, message) pairs to a folder, creating it; pipelined with LITERAL+."""
        client = self.session(user)
        try:
            if folder != "INBOX":
                client.create(f'"{folder}"')
            for start in range(0, len(messages), 200):
                tag = client._new_tag()
                parts = [tag + f' APPEND "{folder}"'.encode()]
                for flags, body in messages[start : start + 200]:
                    parts += [f" ({flags}) {{{len(body)}+}}\r\n".encode(), body]
                client.send(b"".join(parts) + b"\r\n")
                typ, data = client._command_complete("APPEND", tag)
                assert typ == "OK", data
        finally:
            client.logout()

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text() if path.exists() else ""


@contextlib.contextmanager
def run_provider():
    need(bool(shutil.which("dovecot")), "Dovecot missing")
    need(
        Path("/usr/lib/dovecot/submission").exists(),
        "Dovecot's submission server missing (apt-get install dovecot-submissiond)",
    )
    need(os.geteuid() == 0, "the provider's Dovecot runs from a private config as root")
    base = Path(tempfile.mkdtemp(prefix="tm-external-"))
    base.chmod(0o755)
    ip = _free_loopback()
    ca = make_ca(base, ip)
    (base / "home").mkdir()
    os.chown(base / "home", MAIL_UID, MAIL_UID)
    (base / "users").write_text("")
    (base / "dovecot.conf").write_text(
        DOVECOT_CONF.format(dir=base, ip=ip, uid=MAIL_UID, host=EXTERNAL_NAME, name=base.name)
    )
    provider = Provider(dir=base, ip=ip, ca=ca)
    try:
        subprocess.run(["dovecot", "-c", str(provider.config)], check=True)
        for port in PORTS.values():
            wait_port_on(ip, port)
        yield provider
    finally:
        subprocess.run(
            ["doveadm", "-c", str(provider.config), "stop"], check=False, capture_output=True
        )
        if os.environ.get("KEEP_MAILSTACK") != "1":
            shutil.rmtree(base, ignore_errors=True)


def wait_port_on(ip: str, port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((ip, port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {ip}:{port}")


@pytest.fixture(scope="package")
def provider():
    with run_provider() as running:
        yield running


@pytest.fixture(scope="package")
def import_stack():
    """Our own mail stack, the destination of the imports (started once for tests/imports)."""
    with run_stack() as stack:
        yield stack


def external_settings(provider: Provider) -> dict:
    return {
        "EXTERNAL_MAIL_ALLOWED_NETWORKS": f"{provider.ip}/32",
        "EXTERNAL_MAIL_CA_FILE": str(provider.ca),
        "EXTERNAL_MAIL_TIMEOUT": "3",
    }


@pytest.fixture
def external(provider, settings):
    """This process trusts the provider (test CA, its address allowed), as the worker does."""
    values = external_settings(provider)
    settings.EXTERNAL_MAIL_ALLOWED_NETWORKS = [values["EXTERNAL_MAIL_ALLOWED_NETWORKS"]]
    settings.EXTERNAL_MAIL_CA_FILE = values["EXTERNAL_MAIL_CA_FILE"]
    settings.EXTERNAL_MAIL_TIMEOUT = float(values["EXTERNAL_MAIL_TIMEOUT"])
    return provider


@pytest.fixture
def stack(import_stack, settings):
    """The destination stack, with this process's settings pointed at it; its mail directory
    starts empty like the test database (mail on disk stays: each test uses new addresses)."""
    from tempusmail.mailbackend.dovecot import DovecotBackend

    for key, value in import_stack.env.items():
        setattr(settings, key, value)
    with DovecotBackend().connect() as db, db.transaction():
        for table in ("forward", "alias", "domain_alias", "mailbox", "domain", "dkim_key"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
    return import_stack


@pytest.fixture
def alice(stack, transactional_db, domain_a, make_account):
    """A mailbox owner of organization A, pushed to the stack here (the worker may push it
    again: pushes are idempotent), with a fresh address: mail of earlier tests stays on disk."""
    from accounts import sync

    account = make_account(domain_a, f"alice{uuid.uuid4().hex[:8]}")
    sync.account_push(account_id=account.pk)
    account.refresh_from_db()
    assert account.applied_version >= account.desired_version
    return account


@pytest.fixture(scope="package")
def _import_worker(import_stack, provider, django_db_setup, tmp_path_factory):
    # At most 500 messages a second (the EXTERNAL_MAIL_RATE_LIMIT setting): a test can act
    # while an import of a few thousand runs, and the 1,000 message import still takes seconds.
    env = _worker_env(
        {**import_stack.env, **external_settings(provider), "EXTERNAL_MAIL_RATE_LIMIT": "500"}
    )
    worker = Worker(env, tmp_path_factory.mktemp("importworker") / "w.log")
    yield worker
    worker.stop()


@pytest.fixture
def import_worker(stack, external, _import_worker, transactional_db):
    """A real Celery worker importing into the stack from the provider."""
    _import_worker.ensure()
    return _import_worker


def own_folder(stack, address: str, folder: str, password: str) -> dict[str, set[str]]:
    """Subject → flags of every message in one folder of the user's own mailbox (real IMAP
    login to our Dovecot, as a mail client would)."""
    client = IMAP(stack.port("IMAP"))
    try:
        client.login(address, password)
        typ, data = client.select(f'"{folder}"', readonly=True)
        if typ != "OK":
            return {}
        typ, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        found = {}
        for item in data if typ == "OK" else ():
            if isinstance(item, tuple):
                subject = item[1].decode().strip().partition(":")[2].strip()
                flags = set(item[0].decode().split("FLAGS (", 1)[1].split(")", 1)[0].split()) - {
                    "\\Recent"
                }
                assert subject not in found, f"duplicate {subject!r} in {folder}"
                found[subject] = flags
        return found
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def wait_state(connection, states, timeout: float = 60):
    def reached():
        connection.refresh_from_db()
        return connection.state in states and connection.lease_until is None

    wait_until(reached, timeout=timeout, interval=0.1, what=f"connection in {states}")
    return connection


def fill_many(provider, user: str, folder: str, count: int, size: int = 2000) -> None:
    body = "x" * size
    provider.fill(
        user,
        folder,
        [
            (
                "\\Seen" if i % 2 else "",
                (
                    f"From: a@external.test\r\nSubject: m{i:05d}\r\n"
                    f"Message-ID: <m{i}.{folder}@external.test>\r\n\r\n{body}\r\n"
                ).encode(),
            )
            for i in range(count)
        ],
    )


def count_messages(stack, address: str, folder: str, password: str) -> int:
    client = IMAP(stack.port("IMAP"))
    try:
        client.login(address, password)
        typ, data = client.select(f'"{folder}"', readonly=True)
        return int(data[0]) if typ == "OK" else 0
    finally:
        with contextlib.suppress(Exception):
            client.logout()
