"""Two mail hosts (Dovecot + Postfix + rspamd each, on 127.0.0.2 and 127.0.0.3, sharing
nothing but one PostgreSQL mail directory) behind one worker that reaches them only over their
doveadm HTTP API (issue 16). Every change a user makes is in effect on both hosts when the
account says Online; with one host stopped the change waits, the account names that host,
and once it is back it catches up without anybody doing anything."""

import contextlib
import imaplib
import re
import smtplib
import subprocess
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts import bulk, services
from accounts.models import BulkJob, EmailAccount
from domains.access import get_domain_for
from tests.conftest import PASSWORD, ROOT, need, wait_until
from tests.mailstack.conftest import (
    IMAP,
    free_ports,
    imap_ok,
    mailbox_subjects,
    message,
    run_stack,
    send,
    wait_online,
    wait_port,
)

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
NEW_PASSWORD = "another-Secret-42"
HOSTS = ("127.0.0.2", "127.0.0.3")


def loopback_usable(address: str) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def hosts():
    need(all(loopback_usable(a) for a in HOSTS), "127.0.0.2 and 127.0.0.3 usable")
    name = f"tm_hosts_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        need(False, "PostgreSQL on 127.0.0.1:5432")
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    # Behind the proxy (last test) the hosts trust it to pass the client's address on, and
    # listen on the same ports, as hosts of one fleet do.
    trust = {"LOGIN_TRUSTED_NETWORKS": "127.0.0.1/32"}
    try:
        with run_stack(url, host=HOSTS[0], **trust) as mx1:
            same = {f"{n}_PORT": mx1.values[f"{n}_PORT"] for n in ("IMAP", "POP3", "LMTP")}
            with run_stack(url, host=HOSTS[1], **trust, **same) as mx2:
                yield {"mx1": mx1, "mx2": mx2}
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def worker(hosts, settings, start_worker, transactional_db, tmp_path):
    """One worker for both hosts: their API URLs and key, the shared directory; its own mail
    root is an empty directory of its machine (nothing of the hosts' disks)."""
    mx1, mx2 = hosts["mx1"], hosts["mx2"]
    assert mx1.values["DOVEADM_API_KEY"] != mx2.values["DOVEADM_API_KEY"]
    # One key for the fleet, as docs/operations.md asks: give mx2 mx1's key.
    conf = mx2.dir / "dovecot.conf"
    conf.write_text(
        conf.read_text().replace(mx2.values["DOVEADM_API_KEY"], mx1.values["DOVEADM_API_KEY"])
    )
    dovecot(mx2, "reload")
    env = {
        **mx1.env,
        "MAIL_ROOT": str(tmp_path / "worker-root"),
        "DOVEADM_HOSTS": " ".join(
            f"{name}=http://{s.host}:{s.values['DOVEADM_HTTP_PORT']}" for name, s in hosts.items()
        ),
        "DOVEADM_API_KEY": mx1.values["DOVEADM_API_KEY"],
        "DOVEADM_TIMEOUT": "3",
        "POLICY_REDIS_URL": mx1.env["POLICY_REDIS_URL"],
        "MAIL_STORAGE_HOSTS": " ".join(HOSTS),
    }
    for key, value in env.items():
        setattr(settings, key, value)
    with psycopg.connect(env["MAIL_DIRECTORY_URL"], autocommit=True) as conn:
        for table in ("forward", "alias", "domain_alias", "mailbox", "domain", "mailgroup"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
    return start_worker(env=env)


def dovecot(stack, command: str) -> None:
    if command == "start":
        subprocess.run(["dovecot", "-c", str(stack.dir / "dovecot.conf")], check=True)
    else:
        subprocess.run(["doveadm", "-c", str(stack.dir / "dovecot.conf"), command], check=True)


def quota_limit_kib(stack, address: str) -> int:
    client = IMAP(stack.port("IMAP"), host=stack.host)
    try:
        client.login(address, PASSWORD)
        _typ, data = client.getquotaroot("INBOX")
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return int(re.search(rb"STORAGE \d+ (\d+)", b" ".join(d for d in data[1] if d))[1])


def test_each_change_is_in_effect_on_both_hosts_when_online(
    hosts, worker, small_quotas, make_account
):
    mx1, mx2 = hosts["mx1"], hosts["mx2"]
    ann = make_account(small_quotas, "ann", quota_mb=5)
    reader1, reader2 = make_account(small_quotas, "reader1"), make_account(small_quotas, "reader2")
    for account in (ann, reader1, reader2):
        wait_online(account)
    assert imap_ok(mx1, "ann@a.example") and imap_ok(mx2, "ann@a.example")

    # Password: the new one works and the old one is refused on both, once Online.
    services.account_set_password(account=ann, password_hash=make_password(NEW_PASSWORD))
    wait_online(ann)
    for stack in (mx1, mx2):
        assert imap_ok(stack, "ann@a.example", NEW_PASSWORD)
        assert not imap_ok(stack, "ann@a.example")
    services.account_set_password(account=ann, password_hash=make_password(PASSWORD))
    wait_online(ann)

    # Quota: both hosts' IMAP report the new limit, and both refuse what no longer fits.
    assert quota_limit_kib(mx1, "ann@a.example") == quota_limit_kib(mx2, "ann@a.example") == 5120
    services.account_update(account=ann, values={"quota_mb": 1})
    wait_online(ann)
    for stack in (mx1, mx2):
        assert quota_limit_kib(stack, "ann@a.example") == 1024
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(stack, "someone@outside.test", "ann@a.example", "too big", body="x" * 1_200_000)
        assert next(iter(refused.value.recipients.values()))[0] == 552

    # Autoresponder: Sieve on each host reads it from the directory and answers from there.
    now = timezone.now()
    services.account_update(
        account=ann,
        values={
            "autoreply_enabled": True,
            "autoreply_subject": "Away on both",
            "autoreply_body": "Back soon.",
            "autoreply_start": now - timedelta(hours=1),
            "autoreply_end": now + timedelta(hours=1),
        },
    )
    wait_online(ann)
    for stack, reader in ((mx1, "reader1@a.example"), (mx2, "reader2@a.example")):
        send(stack, reader, "ann@a.example", f"hello via {stack.host}")
        wait_until(
            lambda stack=stack, reader=reader: "Away on both" in mailbox_subjects(stack, reader),
            what=f"the auto-reply to {reader} on {stack.host}",
        )

    # Deactivation: refused on both, and an open session on the second host is cut.
    session = IMAP(mx2.port("IMAP"), host=mx2.host)
    session.login("ann@a.example", PASSWORD)
    session.select("INBOX")
    services.account_deactivate(account=ann)
    wait_online(ann)
    assert not imap_ok(mx1, "ann@a.example") and not imap_ok(mx2, "ann@a.example")

    def cut() -> bool:
        try:
            session.noop()
        except (imaplib.IMAP4.abort, OSError):
            return True
        return False

    wait_until(cut, timeout=10, what="mx2 to cut ann's session")


def test_a_bulk_change_reaches_both_hosts_in_one_batch(
    hosts, worker, small_quotas, make_account, owner
):
    """A bulk storage change is one push_accounts task for its accounts: both real hosts
    flush the users' auth cache entries in one doveadm request and serve the new quota."""
    accounts = [make_account(small_quotas, f"bulk{n}", quota_mb=5) for n in range(3)]
    for account in accounts:
        wait_online(account)
    job = bulk.bulk_start(
        user=owner,
        domain=get_domain_for(owner, small_quotas.pk),
        kind="storage",
        params={"quota_mb": 1},
        q="bulk",
    )
    wait_until(lambda: BulkJob.objects.get(pk=job.pk).state == "done", what="the job done")
    assert BulkJob.objects.get(pk=job.pk).done == 3
    for account in accounts:
        wait_online(account)
        for stack in (hosts["mx1"], hosts["mx2"]):
            assert quota_limit_kib(stack, account.address) == 1024


def test_a_stopped_host_holds_the_change_names_itself_and_catches_up(
    hosts, worker, small_quotas, make_account, staff_client
):
    mx1, mx2 = hosts["mx1"], hosts["mx2"]
    bob = make_account(small_quotas, "bob")
    wait_online(bob)
    dovecot(mx2, "stop")
    try:
        services.account_set_password(account=bob, password_hash=make_password(NEW_PASSWORD))

        def lagging() -> bool:
            bob.refresh_from_db()
            return "mx2" in bob.last_error

        wait_until(lagging, timeout=20, what="the push to fail on mx2")
        assert bob.applied_version < bob.desired_version  # Updating
        assert "mail host mx2 not updated yet" in bob.last_error
        assert "mx1" not in bob.last_error
        # Staff see which host lags in the account list.
        page = staff_client.get("/admin/accounts/emailaccount/?q=bob%40a.example")
        assert "mail host mx2 not updated yet" in page.content.decode()
        # The host that answers already follows the directory.
        assert imap_ok(mx1, "bob@a.example", NEW_PASSWORD)
    finally:
        dovecot(mx2, "start")
    wait_online(bob, timeout=60)  # the retry reaches mx2 on its own
    assert not EmailAccount.objects.get(pk=bob.pk).last_error
    assert imap_ok(mx2, "bob@a.example", NEW_PASSWORD)
    assert not imap_ok(mx2, "bob@a.example")


@pytest.fixture
def proxy(hosts, tmp_path):
    """A third Dovecot rendered from the same templates as a proxy (DOVECOT_ROLE=proxy): it
    stores nothing, logs each user in on the host the directory names and hands each
    recipient's mail to that host's LMTP."""
    import render  # deploy/render.py, on sys.path through tests/mailstack/conftest.py

    mx1 = hosts["mx1"]
    ports = dict(zip(["IMAP", "POP3", "LMTP", "DOVEADM_HTTP"], free_ports(4), strict=True))
    base = tmp_path / "proxy"
    base.mkdir()
    base.chmod(0o755)
    values = render.render(
        base,
        {
            **{f"{k}_PORT": str(v) for k, v in ports.items()},
            "DOVECOT_ROLE": "proxy",
            "BACKEND_IMAP_PORT": mx1.values["IMAP_PORT"],
            "BACKEND_POP3_PORT": mx1.values["POP3_PORT"],
            "BACKEND_LMTP_PORT": mx1.values["LMTP_PORT"],
            "MAIL_DIRECTORY_URL": mx1.values["MAIL_DIRECTORY_URL"],
            "MAIL_ROOT": str(base / "root"),
            "INSTANCE": f"proxy-{base.parent.name}",
            "PLAINTEXT_AUTH": "yes",
            "AUTH_FAILURE_DELAY": "0",
            "AUTH_PENALTY_MODE": "0",
            **{f"{k}_PORT": str(p) for k, p in zip(PROXY_UNUSED, free_ports(8), strict=True)},
        },
        only=("dovecot",),
    )
    subprocess.run(
        [ROOT / "deploy" / "tls-selfsigned.sh", values["TLS_CERT"], values["TLS_KEY"], "proxy"],
        check=True,
        capture_output=True,
    )
    conf = str(base / "dovecot.conf")
    subprocess.run(["dovecot", "-c", conf], check=True)
    try:
        for port in ports.values():
            wait_port(port)
        yield Proxy(ports)
    finally:
        subprocess.run(["doveadm", "-c", conf, "stop"], check=False, capture_output=True)


# The proxy's listeners nobody uses in this test still need ports of their own.
PROXY_UNUSED = [
    "IMAPS",
    "POP3S",
    "WEBMAIL_IMAP",
    "QUOTA_STATUS",
    "SMTP",
    "SUBMISSION",
    "SUBMISSIONS",
    "WEBMAIL_SUBMISSION",
]


class Proxy:
    host = "127.0.0.1"

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports

    def port(self, name: str) -> int:
        return self.ports[name]


def held_host(address: str) -> str:
    from django.conf import settings

    with psycopg.connect(settings.MAIL_DIRECTORY_URL) as conn:
        return conn.execute("SELECT host FROM mailbox WHERE address = %s", (address,)).fetchone()[0]


def test_a_proxy_logs_each_user_in_on_the_host_the_directory_names(
    hosts, worker, proxy, small_quotas, make_account
):
    stacks = {HOSTS[0]: hosts["mx1"], HOSTS[1]: hosts["mx2"]}
    accounts = [make_account(small_quotas, f"roam{n}") for n in range(4)]
    for account in accounts:
        wait_online(account)
    placed = {a.address: held_host(a.address) for a in accounts}
    assert set(placed.values()) == set(HOSTS)  # both hosts got some (the hash spreads them)

    for address, home in placed.items():
        # Mail handed to the proxy's LMTP (where the hosts' Postfix delivers: LMTP_HOST) is
        # stored on the user's own host, not on the other one...
        with smtplib.LMTP(proxy.host, proxy.port("LMTP"), timeout=10) as lmtp:
            sender = "someone@outside.test"
            lmtp.sendmail(sender, [address], message(sender, address, f"stored on {home}"))
        other = next(h for h in HOSTS if h != home)
        assert mailbox_subjects(stacks[home], address) == [f"stored on {home}"]
        assert mailbox_subjects(stacks[other], address) == []
        # ...and a login at the proxy lands there: it sees that mail.
        assert mailbox_subjects(proxy, address) == [f"stored on {home}"]
        assert not imap_ok(proxy, address, "wrong-password")

    # A push keeps the host it was given: the row's host is not the panel's to change.
    first = accounts[0]
    services.account_update(account=first, values={"quota_mb": 1})
    wait_online(first)
    assert held_host(first.address) == placed[first.address]
    # What no longer fits is refused by the user's host, through the proxy's LMTP.
    sender, big = "someone@outside.test", "x" * 1_200_000
    with smtplib.LMTP(proxy.host, proxy.port("LMTP"), timeout=10) as lmtp:
        try:
            lmtp.sendmail(sender, [first.address], message(sender, first.address, "big", body=big))
        except smtplib.SMTPRecipientsRefused as exc:  # at RCPT (the size was announced)
            code = next(iter(exc.recipients.values()))[0]
        except smtplib.SMTPDataError as exc:  # or after the data
            code = exc.smtp_code
        else:
            code = 250
    assert code == 552
    assert "big" not in mailbox_subjects(stacks[placed[first.address]], first.address)
