"""Faults: the mail directory away for a while under 200+ changes, the worker killed in the
middle of pushing, the broker down at save time. Every account must end Online with
verify_backend reporting no drift: nothing lost, nothing stale."""

import contextlib
import io
import os
import sqlite3
import subprocess
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import services, sync, tasks
from accounts.models import EmailAccount
from domains import services as domain_services
from domains.models import Organization, Plan
from tempusmail.celery import app
from tests.conftest import wait_until

from .conftest import imap_ok, send, wait_online, wait_subject

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
    return domain_services.domain_create(organization=org, name="faults.example")


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
    extra = domain_services.domain_create(organization=domain_a.organization, name="only.example")
    account = make_account(domain_a, "dom1")
    services.alias_add(account=account, address="info@only.example")
    wait_online(account)
    wait_until(lambda: applied(extra), what="the domain pushed")
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
    wait_until(lambda: applied(extra) and applied(domain_a), what="the domains pushed again")
    assert verify() == (0, "no drift\n")
    send(stack, "someone@outside.test", "info@only.example", "after")
    wait_subject(stack, "dom1@a.example", "after")


def applied(domain) -> bool:
    domain.refresh_from_db()
    return domain.applied_version >= domain.desired_version


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
        wait_until(lambda: not imap_ok(stack, "away1@a.example"), what="logins failing meanwhile")
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

    # doveadm cannot reach Dovecot (stopped, restarting, socket gone): nothing is read.
    elsewhere = stack.dir / "elsewhere.conf"
    text = (stack.dir / "dovecot.conf").read_text()
    elsewhere.write_text(text.replace(f"base_dir = {stack.dir}/run", f"base_dir = {stack.dir}/x"))
    settings.DOVECOT_CONFIG = str(elsewhere)
    sync.collect_usage()
    account.refresh_from_db()
    assert account.storage_used_bytes == known and account.usage_stale
    row = client_for(owner).get(
        reverse("accounts:row", kwargs={"domain_pk": domain_a.pk, "pk": account.pk})
    )
    assert "(not current)" in row.content.decode()

    settings.DOVECOT_CONFIG = str(stack.dir / "dovecot.conf")
    sync.collect_usage()
    account.refresh_from_db()
    assert account.storage_used_bytes == known and not account.usage_stale


def doveadm(stack, *args: str) -> None:
    subprocess.run(["doveadm", "-c", str(stack.dir / "dovecot.conf"), *args], check=True)


def test_outage_killed_worker_and_broker_down_end_online_without_drift(
    stack, mail_worker, big_domain, make_account, settings, caplog
):
    settings.RECONCILE_AFTER_SECONDS = 1
    accounts = [make_account(big_domain, f"fault{i}") for i in range(10)]
    for account in accounts:
        wait_online(account)

    # 1. The mail directory goes away for a while; 200 changes are made meanwhile.
    path = stack.mail_root / "directory.db"
    os.rename(path, path.with_suffix(".away"))
    try:
        changes = 0
        for round_ in range(20):
            for account in accounts:
                account.refresh_from_db()
                services.account_update(
                    account=account,
                    values={
                        "daily_send_limit": 100 + round_,
                        "quota_mb": [1024, 2048, 5120][round_ % 3],
                        "spam_to_inbox": bool(round_ % 2),
                    },
                )
                changes += 1
        assert changes >= 200
        time.sleep(3)  # the pushes fail and retry meanwhile
        assert EmailAccount.objects.filter(last_error__contains="unavailable").exists()
    finally:
        os.rename(path.with_suffix(".away"), path)

    # 2. The worker is killed in the middle of pushing more changes.
    for account in accounts:
        account.refresh_from_db()
        services.account_update(account=account, values={"forward_to": ["x@outside.test"]})
    time.sleep(0.2)
    mail_worker.kill()
    for account in accounts[:5]:
        account.refresh_from_db()
        services.account_update(account=account, values={"forward_to": []})
    mail_worker.start()

    # 3. The broker is down while a change is saved: the save succeeds, the push is lost.
    last = accounts[-1]
    last.refresh_from_db()
    with broker_down(), caplog.at_level("WARNING", logger="tempusmail.provisioning"):
        services.account_update(account=last, values={"daily_send_limit": 999})
    assert f"could not enqueue accounts.tasks.push_account({last.pk})" in caplog.text

    def healed():
        tasks.reconcile()
        time.sleep(1)
        return not EmailAccount.objects.filter(
            applied_version__lt=models_F(), organization=big_domain.organization
        ).exists()

    wait_until(healed, timeout=120, interval=0.5, what="every account Online again")
    assert verify() == (0, "no drift\n")
    last.refresh_from_db()
    assert last.daily_send_limit == 999
    assert imap_ok(stack, "fault0@faults.example")
