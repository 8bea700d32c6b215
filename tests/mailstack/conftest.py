"""Dovecot, Postfix and rspamd from deploy/, started once per session on free loopback ports in
a temporary directory, plus helpers that speak IMAP, POP3 and SMTP with Python's own clients."""

import contextlib
import email
import imaplib
import os
import poplib
import re
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password

from tempusmail.celery import worker_command
from tempusmail.mailbackend import AccountState
from tests.conftest import PASSWORD, ROOT, need
from tests.states import account_state

from .dnsstub import NxdomainServer

sys.path.insert(0, str(ROOT / "deploy"))
import render  # noqa: E402  (deploy/render.py: the same renderer make mailstack uses)

MAIL_UID = 5000
# rspamd's compiled Hyperscan regexps, kept across runs and worktrees: a cold start takes
# 15-40 s, a warm one about a second. Outside any home directory: rspamd's own user writes it.
RSPAMD_HS_CACHE = os.environ.get("RSPAMD_HS_CACHE") or "/var/cache/tempusmail-tests/rspamd-hs"


def free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def wait_port(port: int, timeout: float = 15, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def start_redis(base: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(base)],
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


@dataclass
class Stack:
    dir: Path
    values: dict
    env: dict
    procs: list = field(default_factory=list)
    redis: subprocess.Popen | None = None
    host: str = "127.0.0.1"

    def port(self, name: str) -> int:
        return int(self.values[f"{name}_PORT"])

    @property
    def mail_root(self) -> Path:
        return Path(self.values["MAIL_ROOT"])

    def log(self) -> str:
        path = self.dir / "log" / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop_redis(self) -> None:
        """The stack's own Redis (sending limits) goes down, as an outage would take it."""
        self.redis.terminate()
        self.redis.wait(timeout=10)

    def start_redis(self) -> None:
        self.redis = start_redis(self.dir, int(self.values["REDIS_PORT"]))


@pytest.fixture(scope="package")
def mailstack():
    """Started once for tests/mailstack and stopped after it, with its worker: nothing of it
    must consume tasks that later tests enqueue."""
    with run_stack() as stack:
        yield stack


def wait_rspamd(port: int, timeout: float = 300) -> None:
    """rspamd's scanner answers /ping once its rules are loaded (slow only on a cold cache)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = f"http://127.0.0.1:{port}/ping"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.read().strip() == b"pong":
                return
        time.sleep(0.1)
    raise RuntimeError(f"rspamd did not answer on 127.0.0.1:{port}")


@contextlib.contextmanager
def run_stack(directory_url: str = "", host: str = "127.0.0.1", **overrides: str):
    """Render deploy/ into a temporary directory and run Dovecot, Postfix, rspamd and the
    policy service from it; the mail directory is SQLite in there unless a URL is given.
    This stack accepts passwords without TLS (PLAINTEXT_AUTH=yes) unless overridden.
    `host`: the loopback address Dovecot, Postfix and the milter listen on (one mail host
    of several: tests/mailhosts); rspamd's scanner and the policy service stay on 127.0.0.1."""
    need(bool(shutil.which("dovecot") and shutil.which("postfix")), "Dovecot/Postfix missing")
    need(bool(shutil.which("rspamd")), "rspamd missing")
    need(os.geteuid() == 0, "Dovecot and Postfix run from a private config as root")
    need(bool(shutil.which("redis-server")), "redis-server missing")
    base = Path(tempfile.mkdtemp(prefix="tm-mailstack-"))
    base.chmod(0o755)  # Dovecot's and Postfix's own users must reach their files
    saved: dict = {}
    dns = NxdomainServer().__enter__()
    try:  # a failed preparation leaves nothing behind either
        names = ["IMAP", "POP3", "SMTP", "SUBMISSION", "LMTP", "QUOTA_STATUS", "POLICY"]
        names += ["IMAPS", "POP3S", "SUBMISSIONS", "RSPAMD", "RSPAMD_NORMAL", "RSPAMD_CONTROLLER"]
        names += ["WEBMAIL_IMAP", "WEBMAIL_SUBMISSION"]  # the webmail's own ports
        names += ["DOVEADM_HTTP"]  # the worker reaches Dovecot over its doveadm HTTP API
        ports = dict(zip([*names, "REDIS"], free_ports(len(names) + 1), strict=True))
        policy = (ROOT / "tempusmail" / "policy" / "__main__.py").exists()
        values = render.render(
            base,
            {
                **{f"{k}_PORT": str(v) for k, v in ports.items()},
                "POLICY_PORT": str(ports["POLICY"]) if policy else "",
                "MAIL_ROOT": str(base / "root"),
                "MAIL_UID": str(MAIL_UID),
                "MAIL_GID": str(MAIL_UID),
                "INSTANCE": base.name,
                "DNS_SUPPORT_LEVEL": "disabled",
                "AUTH_FAILURE_DELAY": "0",  # no brute-force delays: the tests fail on purpose
                "AUTH_PENALTY_MODE": "0",
                "MAIL_DIRECTORY_URL": directory_url,
                "PLAINTEXT_AUTH": "yes",  # the tests log in on the plain ports
                "DOVEADM_API_KEY": secrets.token_hex(16),
                # Last logins in the stack's Redis, as several hosts record them.
                "LAST_LOGIN_REDIS_URL": f"redis://127.0.0.1:{ports['REDIS']}/0",
                "RSPAMD_DNS": f"127.0.0.1:{dns.port}",
                "RSPAMD_HS_CACHE": RSPAMD_HS_CACHE,
                "RSPAMD_MAP_WATCH_INTERVAL": "5s",  # file maps reread every 0.5 s
                **{k: host for k in ("LISTEN", "DOVECOT_HOST", "POSTFIX_HOST", "RSPAMD_HOST")},
                "INET_INTERFACES": "" if host == "127.0.0.1" else "all",  # render.py says why
                **overrides,
            },
        )
        subprocess.run(
            [ROOT / "deploy" / "tls-selfsigned.sh", values["TLS_CERT"], values["TLS_KEY"]]
            + [values["HOSTNAME"]],
            check=True,
        )
        for sub in ("mail", "state"):
            (base / "root" / sub).mkdir(parents=True)
            os.chown(base / "root" / sub, MAIL_UID, MAIL_UID)
        env = {
            "MAIL_BACKEND": "dovecot",
            "MAIL_ROOT": values["MAIL_ROOT"],
            "MAIL_DIRECTORY_URL": values["MAIL_DIRECTORY_URL"],
            "DOVECOT_CONFIG": str(base / "dovecot.conf"),
            # One mail host in the list: the same path as several (tests/mailstack/test_hosts.py).
            "DOVEADM_HOSTS": f"mx1=http://{host}:{ports['DOVEADM_HTTP']}",
            "DOVEADM_API_KEY": values["DOVEADM_API_KEY"],
            "DKIM_KEY_DIR": values["DKIM_KEY_DIR"],
            # Its own Redis server (sending limits), which a test may stop and start again.
            "POLICY_REDIS_URL": f"redis://127.0.0.1:{ports['REDIS']}/0",
            # abuse@ of every domain: a mailbox of the stack (tests/mailstack/test_domains.py).
            "PLATFORM_ABUSE_ADDRESS": "desk@desk.example",
        }
        saved.update({k: getattr(django_settings, k) for k in env if hasattr(django_settings, k)})
        for key, value in env.items():
            setattr(django_settings, key, value)
        from tempusmail.mailbackend.dovecot import DovecotBackend

        DovecotBackend().init_directory()
    except BaseException:
        for key, value in saved.items():
            setattr(django_settings, key, value)
        shutil.rmtree(base, ignore_errors=True)
        dns.__exit__()
        raise
    stack = Stack(
        dir=base, values={**values, "REDIS_PORT": str(ports["REDIS"])}, env=env, host=host
    )
    try:
        rspamd_log = open(base / "log" / "rspamd.out", "w")  # noqa: SIM115
        stack.procs.append(
            subprocess.Popen(
                ["sh", str(base / "rspamd" / "run.sh")],
                stdout=rspamd_log,
                stderr=subprocess.STDOUT,
            )
        )
        stack.start_redis()
        subprocess.run(["dovecot", "-c", str(base / "dovecot.conf")], check=True)
        subprocess.run(["postfix", "-c", str(base / "postfix"), "start"], check=True)
        if policy:
            log = open(base / "log" / "policy.log", "w")  # noqa: SIM115
            stack.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tempusmail.policy",
                        "--listen",
                        f"127.0.0.1:{ports['POLICY']}",
                        "--redis",
                        env["POLICY_REDIS_URL"],
                    ],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_rspamd(ports["RSPAMD_NORMAL"])
        on_loopback = ("POLICY", "RSPAMD_NORMAL", "RSPAMD_CONTROLLER")
        for name in names:
            if name != "POLICY" or policy:
                port = int(values[f"{name}_PORT"])  # an override may have chosen it
                wait_port(port, host="127.0.0.1" if name in on_loopback else host)
        yield stack
    finally:
        subprocess.run(["postfix", "-c", str(base / "postfix"), "stop"], check=False)
        subprocess.run(
            ["doveadm", "-c", str(base / "dovecot.conf"), "stop"], check=False, capture_output=True
        )
        for proc in [*stack.procs, stack.redis]:
            if proc is None:
                continue
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for key, value in saved.items():
            setattr(django_settings, key, value)
        dns.__exit__()
        if os.environ.get("KEEP_MAILSTACK") != "1":
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def stack(mailstack, settings):
    """The running stack, with this process's settings pointed at it too. The mail directory,
    the mail queue and the mailboxes on disk start empty, like the test database: an address
    an earlier test used (and filled) is a new, empty mailbox again."""
    from tempusmail.mailbackend.dovecot import DovecotBackend

    for key, value in mailstack.env.items():
        setattr(settings, key, value)
    with DovecotBackend().connect() as db, db.transaction():
        for table in (
            "forward",
            "alias",
            "domain_alias",
            "mailbox",
            "domain",
            "dkim_key",
            "mailgroup",
        ):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
    # Mail an earlier test left queued (deferred for a full mailbox, say) is not delivered
    # into this test's mailboxes.
    subprocess.run(
        ["postsuper", "-c", str(mailstack.dir / "postfix"), "-d", "ALL"],
        check=True,
        capture_output=True,
    )
    homes = mailstack.mail_root / "mail"
    for domain_dir in homes.iterdir() if homes.is_dir() else ():
        shutil.rmtree(domain_dir, ignore_errors=True)
    return mailstack


class Worker:
    """One real Celery worker for all mailstack tests (starting one per test costs seconds),
    on the test database, pushing through the Dovecot adapter. Tests may kill it."""

    def __init__(self, env: dict, log_path: Path) -> None:
        self.env, self.log_path, self.proc = env, log_path, None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                worker_command(name=f"mailstack-{os.getpid()}"),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the children too
            )

    def ensure(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="package")
def _session_worker(mailstack, django_db_setup, tmp_path_factory):
    from tests.conftest import _worker_env

    worker = Worker(_worker_env(mailstack.env), tmp_path_factory.mktemp("mailworker") / "w.log")
    yield worker
    worker.stop()


@pytest.fixture
def mail_worker(stack, _session_worker, transactional_db):
    """A real Celery worker pushing through the Dovecot adapter (restarted if a test killed
    it)."""
    _session_worker.ensure()
    return _session_worker


def wait_applied(obj, timeout: float = 30) -> None:
    """Wait until the worker pushed obj's desired version without an error: an account is
    Online, a domain or group is in the mail system. obj is refreshed in place."""
    from tests.conftest import wait_until

    def applied():
        obj.refresh_from_db()
        return obj.applied_version >= obj.desired_version and not obj.last_error

    wait_until(applied, timeout=timeout, what=f"{obj} applied")


wait_online = wait_applied  # an account's status in the list


# --- clients ------------------------------------------------------------------------------


class IMAP(imaplib.IMAP4):
    def __init__(self, port: int, source: str | None = None, host: str = "127.0.0.1") -> None:
        self.source = source
        super().__init__(host, port, timeout=10)

    def _create_socket(self, timeout):
        source = (self.source, 0) if self.source else None
        return socket.create_connection((self.host, self.port), timeout, source_address=source)


class POP(poplib.POP3):
    def __init__(self, port: int, source: str | None = None, host: str = "127.0.0.1") -> None:
        self.source = source
        super().__init__(host, port, timeout=10)

    def _create_socket(self, timeout):
        source = (self.source, 0) if self.source else None
        return socket.create_connection((self.host, self.port), timeout, source_address=source)


# The exact refusals of a login Dovecot turns down (wrong password, service off, deactivated,
# outside the allowed networks): the negative checks below accept these and nothing else, so
# a broken server fails the test instead of passing it.
IMAP_REFUSAL = "[AUTHENTICATIONFAILED] Authentication failed."
POP_REFUSAL = b"-ERR [AUTH] Authentication failed."
SMTP_AUTH_REFUSAL = 535


def base_state(address: str, version: int, **changes) -> AccountState:
    """An active mailbox's full state that logs in with PASSWORD, pushed straight through the
    adapter (no panel row)."""
    return account_state(address, version, password_hash=make_password(PASSWORD), **changes)


def login_answer(stack, address: str, password: str = PASSWORD, source: str | None = None) -> str:
    """Dovecot's answer to an IMAP login ("OK", or its refusal without the timestamp it
    appends to failures)."""
    client = IMAP(stack.port("IMAP"), source, stack.host)
    try:
        typ, _data = client.login(address, password)
    except imaplib.IMAP4.error as exc:
        return re.sub(r" \[\S+:[^\]]*\]$", "", str(exc.args[0], "utf-8", "replace"))
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return typ


def imap_ok(stack, address: str, password: str = PASSWORD, source: str | None = None) -> bool:
    """True if the login is let in; False for Dovecot's refusal; anything else fails."""
    answer = login_answer(stack, address, password, source)
    if answer == "OK":
        return True
    assert IMAP_REFUSAL in answer, f"IMAP login {address}: {answer}"
    return False


def pop_ok(stack, address: str, password: str = PASSWORD, source: str | None = None) -> bool:
    client = POP(stack.port("POP3"), source, stack.host)
    try:
        client.user(address)
        client.pass_(password)
    except poplib.error_proto as exc:
        assert exc.args[0] == POP_REFUSAL, f"POP3 login {address}: {exc}"
        return False
    finally:
        with contextlib.suppress(Exception):
            client.quit()
    return True


def smtp_auth_ok(stack, address: str, password: str = PASSWORD) -> bool:
    with smtplib.SMTP(stack.host, stack.port("SUBMISSION"), timeout=10) as client:
        try:
            client.login(address, password)
        except smtplib.SMTPAuthenticationError as exc:
            assert exc.smtp_code == SMTP_AUTH_REFUSAL, f"SMTP AUTH {address}: {exc}"
            return False
    return True


def message(sender: str, to: str, subject: str, body: str = "Hello.", headers: str = "") -> str:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{headers}"
        f"Message-ID: <{time.monotonic_ns()}@test>\r\n\r\n{body}\r\n"
    )


# rspamd's test patterns: the standard GTUBE string is rejected at SMTP, the "YJS" variant
# is tagged as spam ("add header") like any message over the threshold.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_TAG = "Y" + GTUBE[1:]


def send(stack, sender: str, rcpt: str, subject: str, **kw) -> None:
    """Deliver through Postfix's incoming SMTP port; raises what the sender would see."""
    with smtplib.SMTP(stack.host, stack.port("SMTP"), timeout=10) as client:
        client.sendmail(sender, [rcpt], message(sender, rcpt, subject, **kw))


def mailbox_subjects(stack, address: str, mailbox: str = "INBOX") -> list[str]:
    client = IMAP(stack.port("IMAP"), host=stack.host)
    try:
        client.login(address, PASSWORD)
        typ, _ = client.select(mailbox, readonly=True)
        if typ != "OK":
            return []
        _typ, data = client.search(None, "ALL")
        subjects = []
        for num in data[0].split():
            _typ, parts = client.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            raw = parts[0][1].decode().strip()
            subjects.append(raw.partition(":")[2].strip())
        return subjects
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def wait_subject(stack, address: str, subject: str, mailbox: str = "INBOX", timeout=20) -> None:
    from tests.conftest import wait_until

    wait_until(
        lambda: subject in mailbox_subjects(stack, address, mailbox),
        timeout=timeout,
        interval=0.3,
        what=f"{subject!r} in {address} {mailbox}",
    )


def fetch_message(stack, address: str, subject: str, mailbox: str = "INBOX") -> bytes:
    """The whole stored message with this subject, as IMAP returns it."""
    client = IMAP(stack.port("IMAP"), host=stack.host)
    try:
        client.login(address, PASSWORD)
        client.select(mailbox, readonly=True)
        _typ, data = client.search(None, "SUBJECT", f'"{subject}"')
        nums = data[0].split()
        assert nums, f"no {subject!r} in {address} {mailbox}"
        _typ, parts = client.fetch(nums[-1], "(BODY.PEEK[])")
        return parts[0][1]
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def header_values(stack, address: str, subject: str, name: str, mailbox="INBOX") -> list[str]:
    message = email.message_from_bytes(fetch_message(stack, address, subject, mailbox))
    return [str(value) for value in message.get_all(name, [])]


def tls_context(stack) -> ssl.SSLContext:
    """A client context that trusts only the stack's self-signed certificate (and checks the
    name: 127.0.0.1 is in its subjectAltName)."""
    return ssl.create_default_context(cafile=stack.values["TLS_CERT"])


def submit(stack, login: str, rcpt: str, subject: str, sender: str = "", **kw) -> None:
    """Send as a mail client does: submission port, STARTTLS, SMTP AUTH as `login`."""
    sender = sender or login
    with smtplib.SMTP(stack.host, stack.port("SUBMISSION"), timeout=10) as client:
        client.starttls(context=tls_context(stack))
        client.login(login, PASSWORD)
        client.sendmail(sender, [rcpt], message(sender, rcpt, subject, **kw))
