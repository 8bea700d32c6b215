"""Faults: the mail directory away for a while under 200+ changes, the worker killed in the
middle of pushing, the broker down at save time. Every account must end Online with
verify_backend reporting no drift: nothing lost, nothing stale."""

import contextlib
import io
import os
import re
import socket
import sqlite3
import subprocess
import time

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.urls import reverse

from accounts import services, sync, tasks
from accounts.models import EmailAccount
from domains.models import Organization, Plan
from tempusmail.celery import app
from tests.conftest import PASSWORD, make_domain, wait_until

from .conftest import (
    GTUBE_TAG,
    IMAP,
    free_ports,
    imap_ok,
    login_answer,
    pop_ok,
    send,
    smtp_auth_ok,
    wait_applied,
    wait_online,
    wait_subject,
)

pytestmark = [pytest.mark.mailstack, pytest.mark.worker]


def verify(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_backend", *args, stdout=out, stderr=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def models_F():
    from django.db.models import F

    return F("desired_version")


@contextlib.contextmanager
def broker_down():
    """Point this process's Celery producer at a port where no broker listens."""
    saved = os.environ.get("CELERY_BROKER_URL"), app._pool, app.amqp._producer_pool
    os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:9/0"  # Celery reads it before conf
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        dead = app._pool
        url, app._pool, app.amqp._producer_pool = saved
        if url is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = url
        if dead is not None:
            dead.force_close_all()


@pytest.fixture
def big_domain(db):
    plan = Plan.objects.create(
        name="Faults",
        max_domains=2,
        max_accounts=50,
        storage_options_mb=[1024, 2048, 5120],
        services=["pop", "imap", "smtp", "webmail"],
        default_daily_send_limit=100,
        max_daily_send_limit=1000,
    )
    org = Organization.objects.create(name="Faults Inc", plan=plan)
    return make_domain(org, "faults.example")


def test_verify_backend_reports_drift_and_repairs_it(stack, mail_worker, domain_a, make_account):
    account = make_account(domain_a, "verify1")
    wait_online(account)
    assert verify() == (0, "no drift\n")
    from tempusmail.mailbackend.dovecot import DovecotBackend

    with DovecotBackend().connect() as db, db.transaction():
        db.execute("UPDATE mailbox SET quota_bytes = 1 WHERE address = ?", (account.address,))
    code, out = verify()
    assert code == 1
    assert "verify1@a.example: quota_bytes differs" in out
    code, out = verify("--repair")
    assert code == 1 and "re-enqueued 1 account(s)" in out
    wait_online(account)
    assert verify() == (0, "no drift\n")


def test_verify_backend_reports_and_repairs_domain_rows(
    stack, mail_worker, domain_a, make_account, settings
):
    """A directory rebuilt from the accounts alone lacks a domain holding only aliases:
    outside mail to the alias would bounce ("Relay access denied")."""
    extra = make_domain(domain_a.organization, "only.example")
    account = make_account(domain_a, "dom1")
    services.alias_add(account=account, address="info@only.example")
    wait_online(account)
    wait_applied(extra)
    send(stack, "someone@outside.test", "info@only.example", "before")
    wait_subject(stack, "dom1@a.example", "before")

    from tempusmail.mailbackend.dovecot import DovecotBackend

    with DovecotBackend().connect() as db, db.transaction():  # a fresh, empty directory
        for table in ("forward", "alias", "mailbox", "domain"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
    code, out = verify()
    assert code == 1
    assert "domain only.example: missing from the mail directory" in out
    assert "domain a.example: missing from the mail directory" in out
    code, out = verify("--repair")
    assert "re-enqueued 2 domain(s)" in out
    wait_online(account)
    wait_applied(extra)
    wait_applied(domain_a)
    assert verify() == (0, "no drift\n")
    send(stack, "someone@outside.test", "info@only.example", "after")
    wait_subject(stack, "dom1@a.example", "after")


TEMPFAIL = "[UNAVAILABLE] Temporary authentication failure."


def test_the_directory_file_away_and_back_heals_within_seconds(
    stack, mail_worker, domain_a, make_account
):
    account = make_account(domain_a, "away1")
    wait_online(account)
    assert imap_ok(stack, "away1@a.example")
    path = stack.mail_root / "directory.db"
    os.rename(path, path.with_suffix(".away"))
    try:
        doveadm(stack, "reload")  # Dovecot restarts its auth processes (any reload does)
        # Meanwhile a login is told "try again later", not "wrong password": the mail client
        # keeps the saved password and retries instead of asking the user for it.
        wait_until(lambda: login_answer(stack, "away1@a.example") == TEMPFAIL, what="tempfail")
        assert not path.exists()  # nobody created an empty directory in its place
        code, out = verify()
        assert code == 1 and "mail directory unavailable" in out
    finally:
        os.rename(path.with_suffix(".away"), path)
    started = time.monotonic()
    wait_until(lambda: imap_ok(stack, "away1@a.example"), timeout=10, what="logins back")
    assert time.monotonic() - started < 5
    send(stack, "someone@outside.test", "away1@a.example", "back again")
    wait_subject(stack, "away1@a.example", "back again")
    assert verify() == (0, "no drift\n")


def test_verify_backend_notices_a_directory_the_servers_cannot_read_or_do_not_read(
    stack, mail_worker, domain_a, make_account, settings
):
    account = make_account(domain_a, "perm1")
    wait_online(account)
    assert verify() == (0, "no drift\n")
    path = stack.mail_root / "directory.db"
    path.chmod(0o600)  # say a restore by hand as root, with root's umask: Postfix is locked out
    try:
        code, out = verify()
        assert code == 1
        assert f"mail directory: {path} is not readable by the mail servers" in out
    finally:
        path.chmod(0o644)
    assert verify() == (0, "no drift\n")

    # The panel and the servers pointed at different files: the rows look right, but what
    # Dovecot answers is not what the panel wrote.
    other = stack.dir / "other.db"
    with sqlite3.connect(path) as source, sqlite3.connect(other) as copy:
        source.backup(copy)
    with sqlite3.connect(path) as served:
        served.execute("UPDATE mailbox SET quota_bytes = 1 WHERE address = 'perm1@a.example'")
    settings.MAIL_DIRECTORY_URL = f"sqlite:///{other}"
    code, out = verify()
    assert code == 1
    assert (
        f"perm1@a.example: Dovecot answers quota '*:bytes=1', desired "
        f"'*:bytes={account.quota_bytes}'" in out
    )


def test_a_failed_quota_read_keeps_the_last_usage_and_marks_it_stale(
    stack, mail_worker, domain_a, make_account, settings, owner, client_for
):
    account = make_account(domain_a, "usage1")
    wait_online(account)
    send(stack, "someone@outside.test", "usage1@a.example", "some mail", body="z" * 200_000)
    wait_subject(stack, "usage1@a.example", "some mail")
    sync.collect_usage()
    account.refresh_from_db()
    known = account.storage_used_bytes
    assert known > 150_000 and not account.usage_stale

    # The mail host's doveadm API does not answer (stopped, restarting): nothing is read.
    served = settings.DOVEADM_HOSTS
    settings.DOVEADM_HOSTS = f"mx1=http://127.0.0.1:{free_ports(1)[0]}"
    sync.collect_usage()
    account.refresh_from_db()
    assert account.storage_used_bytes == known and account.usage_stale
    row = client_for(owner).get(
        reverse("accounts:row", kwargs={"domain_pk": domain_a.pk, "pk": account.pk})
    )
    assert "(not current)" in row.content.decode()

    settings.DOVEADM_HOSTS = served
    sync.collect_usage()
    account.refresh_from_db()
    assert account.storage_used_bytes == known and not account.usage_stale


def doveadm(stack, *args: str) -> None:
    subprocess.run(["doveadm", "-c", str(stack.dir / "dovecot.conf"), *args], check=True)


N_ACCOUNTS = 20
SERVICE_SETS = [["pop", "imap", "smtp"], ["imap", "smtp"], ["pop", "imap", "smtp", "webmail"]]


class Changes:
    """A stream of real changes (each one bumps the account's version) through the services,
    remembering the last value of each setting so the end can be checked from outside."""

    def __init__(self, accounts, hashes):
        self.accounts, self.hashes, self.count = accounts, hashes, 0
        self.password = {a.address: PASSWORD for a in accounts}

    def make(self, n: int) -> None:
        for _ in range(n):
            i, step = self.count % N_ACCOUNTS, self.count // N_ACCOUNTS
            account = self.accounts[i]
            account.refresh_from_db()
            if step % 5 == 4:  # every fifth round: a new password
                new = list(self.hashes)[(step // 5 + i) % len(self.hashes)]
                services.account_set_password(account=account, password_hash=self.hashes[new])
                self.password[account.address] = new
            else:
                changed = services.account_update(
                    account=account,
                    values={
                        "daily_send_limit": 101 + self.count % 800,
                        "quota_mb": [1024, 2048, 5120][(i + step) % 3],
                        "spam_to_inbox": bool((i + step) % 2),
                        "services": SERVICE_SETS[(i + step) % 3],
                        "forward_to": [f"fault{(i + 1) % N_ACCOUNTS}@faults.example"]
                        if (i + step) % 4 == 0
                        else [],
                        "forward_keep_copy": True,
                    },
                )
                assert "daily_send_limit" in changed  # a real change every time
            self.count += 1


def test_a_thousand_changes_through_four_faults_end_online_and_in_effect(
    stack, mail_worker, big_domain, make_account, settings, caplog
):
    """Directory away, Redis down, the worker killed while pushes are in flight, the broker
    down: 1,000+ changes meanwhile. Everything ends Online, verify_backend finds no drift
    (rows, domains, what Dovecot answers), and every final value works for real clients."""
    settings.RECONCILE_AFTER_SECONDS = 1
    accounts = [make_account(big_domain, f"fault{i}") for i in range(N_ACCOUNTS)]
    for account in accounts:
        wait_online(account)
    hashes = {p: make_password(p) for p in ("Fault-Pass-One-11", "Fault-Pass-Two-22")}
    changes = Changes(accounts, hashes)
    org = big_domain.organization

    # 1. The mail directory goes away: the pushes fail and wait.
    path = stack.mail_root / "directory.db"
    os.rename(path, path.with_suffix(".away"))
    try:
        changes.make(250)
        wait_until(
            lambda: EmailAccount.objects.filter(last_error__contains="unavailable").exists(),
            what="pushes failing on the missing directory",
        )
    finally:
        os.rename(path.with_suffix(".away"), path)

    # 2. Redis (sending limits) goes down: the pushes write the directory, then fail.
    stack.stop_redis()
    try:
        changes.make(250)
        wait_until(
            lambda: EmailAccount.objects.filter(last_error__contains="sending limit").exists(),
            what="pushes failing on Redis",
        )
    finally:
        stack.start_redis()

    # 3. The worker is killed while pushes are in flight: the directory's write lock is held,
    # so they block inside their transaction, and Celery lists them as running.
    holder = sqlite3.connect(path, timeout=30, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        changes.make(250)
        name = f"mailstack-{os.getpid()}@{socket.gethostname()}"

        def running():
            active = app.control.inspect(destination=[name], timeout=2).active() or {}
            return [t for t in active.get(name, []) if t["name"] == "accounts.tasks.push_account"]

        in_flight = wait_until(running, timeout=60, interval=0.2, what="a push in flight")
        mail_worker.kill()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert in_flight
    mail_worker.start()

    # 4. The broker is down while changes are saved: every save works, every push is lost.
    with broker_down(), caplog.at_level("WARNING", logger="tempusmail.provisioning"):
        changes.make(250)
    assert caplog.text.count("could not enqueue accounts.tasks.push_account") == 250
    assert changes.count >= 1000

    # The reconciler re-sends whatever is not applied; everything ends Online.
    last = [0.0]

    def healed():
        if time.monotonic() - last[0] > 3:
            tasks.reconcile()
            last[0] = time.monotonic()
        return not EmailAccount.objects.filter(
            applied_version__lt=models_F(), organization=org
        ).exists()

    wait_until(healed, timeout=300, interval=0.5, what="every account Online again")
    assert verify() == (0, "no drift\n")
    check_from_outside(stack, changes)


def check_from_outside(stack, changes: Changes) -> None:
    """Every account's final settings, as its users and senders meet them."""
    accounts = {a.address: a for a in EmailAccount.objects.filter(domain__name="faults.example")}
    for address, account in accounts.items():
        password = changes.password[address]
        others = [p for p in (PASSWORD, *changes.hashes) if p != password]
        assert imap_ok(stack, address, password), address
        assert not any(imap_ok(stack, address, p) for p in others), address
        assert pop_ok(stack, address, password) == ("pop" in account.services), address
        assert smtp_auth_ok(stack, address, password) == ("smtp" in account.services), address
        assert imap_limit(stack, address, password) == account.quota_mb * 1024, address
        send(
            stack,
            "someone@outside.test",
            address,
            f"final {account.local_part}",
            body=f"Filed by the spam verdict.\r\n{GTUBE_TAG}",
        )
    for address, account in accounts.items():
        folder = "INBOX" if account.spam_to_inbox else "Junk"
        wait_subject_as(
            stack, address, changes.password[address], f"final {account.local_part}", folder
        )
        for target in account.forward_to:
            wait_subject_as(
                stack,
                target,
                changes.password[target],
                f"final {account.local_part}",
                "INBOX" if accounts[target].spam_to_inbox else "Junk",
            )
    from tempusmail.policy import store

    for address, account in accounts.items():  # what the policy service enforces
        assert store.get_limit(address) == account.daily_send_limit


def imap_limit(stack, address: str, password: str) -> int:
    client = IMAP(stack.port("IMAP"))
    try:
        client.login(address, password)
        _typ, data = client.getquotaroot("INBOX")
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return int(re.search(rb"STORAGE \d+ (\d+)", b" ".join(d for d in data[1] if d))[1])


def wait_subject_as(stack, address, password, subject, folder) -> None:
    def arrived():
        client = IMAP(stack.port("IMAP"))
        try:
            client.login(address, password)
            if client.select(folder, readonly=True)[0] != "OK":
                return False
            return client.search(None, "SUBJECT", f'"{subject}"')[1][0].split()
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    wait_until(arrived, timeout=30, interval=0.3, what=f"{subject!r} in {address} {folder}")
